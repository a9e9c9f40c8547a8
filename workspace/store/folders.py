"""Chat folders on disk: `chats/<id>/`, created and removed in two phases around the index write.

A chat exists when index.json lists it. Its folder is therefore staged in `pending/` before the index
write and moved into `chats/` after it (create), or parked in `pending/` before the index write and
deleted after it (delete). Whatever a crash leaves in `pending/` is settled at the next start by the
same rule: listed in the index → moved (back) into `chats/`; not listed → deleted. So a crash never
loses a chat the user was told exists, and never leaves a deleted chat's messages lying around.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Container, Sequence
from pathlib import Path

from loguru import logger

from workspace.durable import fsync_dir
from workspace.store.chatfile import CHATS_DIR, create_chat_file
from workspace.store.records import Message
from workspace.store.storage import disk_error

PENDING_DIR = "pending"
SNAPSHOT_PREFIX = ".backup-"


class ChatFolders:
    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.data_dir, self.durable = data_dir, durable
        self.root = data_dir / CHATS_DIR
        self.pending = data_dir / PENDING_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.pending.mkdir(exist_ok=True)

    def path(self, chat_id: str) -> Path:
        """The folder of a chat; `chat_id` must already be checked (ids.check_id or a validated record)."""
        return self.root / chat_id

    def settle(self, known: Container[str]) -> None:
        """Finish what a crash interrupted (see the module docstring); drop stale backup snapshots."""
        for entry in self.pending.iterdir():
            if entry.name in known and not self.path(entry.name).exists():
                logger.info("Recovering chat {} from an interrupted operation.", entry.name)
                os.replace(entry, self.path(entry.name))
            else:
                shutil.rmtree(entry, ignore_errors=True)
        for snapshot in self.data_dir.glob(SNAPSHOT_PREFIX + "*"):
            shutil.rmtree(snapshot, ignore_errors=True)

    def stage(self, chat_id: str, messages: list[Message], updated_at: float, record: dict | None = None,
              files: Sequence[Path] = ()) -> None:
        """Write a new chat's folder in pending/ (durable), before the index lists it; `files` (an import's
        images, already in pending/) are moved into it."""
        create_chat_file(self.pending / chat_id, messages, updated_at, durable=self.durable, record=record)
        try:
            for path in files:
                os.replace(path, self.pending / chat_id / path.name)
            if self.durable and files:
                fsync_dir(self.pending / chat_id)
        except OSError as exc:
            self.unstage(chat_id)
            raise disk_error(exc, self.pending / chat_id) from exc

    def unstage(self, chat_id: str) -> None:
        shutil.rmtree(self.pending / chat_id, ignore_errors=True)

    def publish(self, chat_id: str) -> None:
        """Move a staged chat into chats/ once the index lists it (a crash before this is settled at start)."""
        try:
            os.replace(self.pending / chat_id, self.path(chat_id))
        except OSError as exc:
            raise disk_error(exc, self.path(chat_id)) from exc

    def park(self, chat_ids: list[str]) -> list[str]:
        """Move chats' folders into pending/ before the index drops them; returns those moved."""
        parked = []
        try:
            for chat_id in chat_ids:
                if self.path(chat_id).exists():
                    os.replace(self.path(chat_id), self.pending / chat_id)
                    parked.append(chat_id)
            if self.durable and parked:
                fsync_dir(self.root)
                fsync_dir(self.pending)
        except OSError as exc:
            self.unpark(parked)
            raise disk_error(exc, self.pending) from exc
        return parked

    def unpark(self, chat_ids: list[str]) -> None:
        """Undo park() after a failed index write."""
        for chat_id in chat_ids:
            try:
                os.replace(self.pending / chat_id, self.path(chat_id))
            except OSError as exc:  # settle() puts it back at the next start
                logger.warning("Could not move chat {} back yet: {}", chat_id, exc)

    def discard(self, chat_ids: list[str]) -> None:
        for chat_id in chat_ids:
            shutil.rmtree(self.pending / chat_id, ignore_errors=True)
