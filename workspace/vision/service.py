"""VisionService: a chat message with attachments — images and text files — checked, stored, read, answered.

Every upload is checked before anything is stored, so a bad file stores nothing. Each upload is sorted by
its bytes: UTF-8 text is a text file (stored with the message), anything else must be an image. The images
are saved and the message stored before any model is called; reading them (OCR, a vision model) runs in
the turn's worker, and the chat model answers with that analysis and the text files in its context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from loguru import logger

from workspace.chat import ChatService
from workspace.llm import LLMGateway
from workspace.routing import ModelRouter
from workspace.settings import Role, VisionSettings
from workspace.store import NotFound
from workspace.turns import Turn
from workspace.vision import images
from workspace.vision.images import AttachmentRejected, PreparedImage
from workspace.vision.parse import Describer, TextReader, analyse
from workspace.vision.texts import TextAttachment, is_text, prepare_text

Upload = tuple[str | None, bytes]  # (the name it came with, its bytes)


class VisionService:
    def __init__(self, store: Any, chat: ChatService, gateway: LLMGateway, router: ModelRouter,
                 settings: VisionSettings, reader: TextReader | None = None):
        self.store, self.chat, self.gateway, self.router, self.settings = store, chat, gateway, router, settings
        self.reader = reader or TextReader()

    @property
    def read_limit(self) -> int:
        """Bytes worth reading of one upload: one over this is enough to know it is too big."""
        return max(self.settings.max_file_mb * 2**20, self.settings.max_text_kb * 1024) + 1

    def check(self, uploads: Sequence[Upload]) -> tuple[list[PreparedImage], list[TextAttachment]]:
        """Every upload sorted (text or image), checked and normalised; else AttachmentRejected naming the first
        bad one."""
        if not uploads:
            raise AttachmentRejected("Attach at least one image or text file.")
        texts = [(name, data) for name, data in uploads if is_text(data)]
        pictures = [(name, data) for name, data in uploads if not is_text(data)]
        if len(pictures) > self.settings.max_images:
            raise AttachmentRejected(f"{len(pictures)} images is more than the limit of "
                                     f"{self.settings.max_images} per message.")
        if len(texts) > self.settings.max_text_files:
            raise AttachmentRejected(f"{len(texts)} text files is more than the limit of "
                                     f"{self.settings.max_text_files} per message.")
        return ([images.prepare(data, name, self.settings) for name, data in pictures],
                [prepare_text(data, name, self.settings.max_text_kb) for name, data in texts])

    def send(self, chat_id: str, text: str, uploads: Sequence[Upload]) -> Turn:
        """Store the message with its attachments and start the answer; nothing is stored if any upload is bad."""
        prepared, texts = self.check(uploads)
        attachments = [file.stored() for file in texts]
        if not prepared:  # text files only: nothing to read before the model answers
            return self.chat.send(chat_id, text, attachments=attachments)
        folder = self.store.chat_dir(chat_id)
        names = images.save(folder, prepared, self.settings.keep_original)
        try:
            return self.chat.send(chat_id, text, images=names, attachments=attachments,
                                  analyse=lambda turn: self._analyse(chat_id, prepared, turn))
        except BaseException:
            images.remove(folder, names)  # the message was not stored: neither are its images
            raise

    def thumbnail(self, chat_id: str, message_id: str, name: str) -> Path:
        """The file of one of a message's thumbnails; NotFound unless that message lists that name."""
        message = self.store.get_message(chat_id, message_id)
        if name not in message.images:
            raise NotFound("The message has no such image.")
        path = self.store.chat_dir(chat_id) / name
        if not path.is_file():
            raise NotFound("The image's file is missing.")
        return path

    def describer(self, chat_id: str) -> Describer:
        chat = self.store.get_chat(chat_id)
        profile = self.store.get_profile(chat.profile_id)
        chosen = self.router.effective(Role.VISION, profile.model_overrides, chat.model_overrides)
        return Describer(self.gateway, chosen.model, chosen.host, self.settings.describe_max_side)

    def _analyse(self, chat_id: str, prepared: list[PreparedImage], turn: Turn) -> str:
        try:
            return analyse([(p.shown_name, p.image) for p in prepared], self.reader, self.describer(chat_id),
                           stopped=lambda: turn.stop_requested)
        except Exception as exc:  # OCR failing must not lose the turn: the model is told, and answers the text
            logger.exception("Reading the images in chat {} failed", chat_id)
            return f"The attached image(s) could not be read ({exc!r})."
