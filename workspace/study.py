"""The study tutor: long-form explanations by the STUDY model, kept as study sessions in the profile.

A study session is a chat whose kind is "study": the chat service answers it with the STUDY role's
model and the tutor's prompt at the level of the latest question, so follow-ups, Stop, search,
export and backup work exactly as for chats.
"""

from __future__ import annotations

from typing import Any

from workspace.chat import ChatError
from workspace.pipeline.prompts import STUDY_LEVELS

LEVELS = tuple(STUDY_LEVELS)


class StudyError(ChatError):
    """A study request that cannot be served as asked."""


class StudyService:
    def __init__(self, store: Any, chat: Any):
        self.store, self.chat = store, chat

    def ask(self, topic: str, level: str = "intermediate", profile_id: str | None = None,
            chat_id: str | None = None) -> tuple[str, Any]:
        """Ask about `topic` (a new session, or a follow-up in `chat_id`); returns (chat id, the running turn)."""
        level = (level or "intermediate").strip().lower() if isinstance(level, str) else ""
        if level not in LEVELS:
            raise StudyError(f"Unknown level {level!r}: choose one of {', '.join(LEVELS)}.")
        if not isinstance(topic, str) or not topic.strip():
            raise StudyError("The topic is empty: what do you want to learn?")
        chat_id = self._session(topic, profile_id, chat_id)
        return chat_id, self.chat.send(chat_id, topic, meta={"level": level})

    def sessions(self, profile_id: str) -> list[Any]:
        return self.store.list_chats(profile_id, kind="study")

    def _session(self, topic: str, profile_id: str | None, chat_id: str | None) -> str:
        if chat_id:
            chat = self.store.get_chat(chat_id)
            if chat.kind != "study":
                raise StudyError("That chat is not a study session: start a new session instead.")
            if profile_id and chat.profile_id != profile_id:
                raise StudyError("That study session belongs to another profile.")
            return chat.id
        if not profile_id:
            profiles = self.store.list_profiles()
            if not profiles:
                raise StudyError("There is no profile yet: create one first.")
            profile_id = profiles[0].id
        return self.store.create_chat(profile_id, kind="study").id  # named after its first question on send
