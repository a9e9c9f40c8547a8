"""Rebuilding a lost `index.json` from the chat folders, so a missing index never shows an empty
workspace over existing chats.

Every chat file keeps a copy of its chat's record and of its profile's record (`_meta.chat.record`,
refreshed whenever the store writes the file). A rebuild takes each chat from its copy and each profile
from the newest copy among its chats. A chat file from before those copies (or with a damaged one) is
recovered whole under a stand-in profile, titled after its first message. A profile without chats has
no copy to recover.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from loguru import logger

from workspace.store.chatfile import CHAT_FILE, CHATS_DIR, chat_record, read_chat_document, rows_and_activity
from workspace.store.errors import StoreError
from workspace.store.ids import is_id, new_id
from workspace.store.records import ChatMeta, Profile, Record, preview_of

CHAT_FIELDS = {"id", "profile_id", "title", "kind", "pinned", "model_overrides", "created_at", "deleted_at"}
STAND_IN_NAME = "Recovered chats"
TITLE_CHARS = 60


def record_of(meta: ChatMeta, profile: Profile | None) -> dict[str, Any]:
    """The copy of a chat's and its profile's records that its chat file keeps."""
    return {"chat": meta.model_dump(mode="json", include=CHAT_FIELDS),
            "profile": profile.model_dump(mode="json") if profile is not None else None}


def chat_folders(data_dir: Path) -> list[Path]:
    root = data_dir / CHATS_DIR
    if not root.is_dir():
        return []
    return sorted(f for f in root.iterdir() if is_id(f.name) and (f / CHAT_FILE).is_file())


def rebuild(data_dir: Path) -> tuple[list[Profile], list[ChatMeta]]:
    """Profiles and chats as the chat folders' copies describe them (see the module docstring)."""
    profiles: dict[str, Profile] = {}
    found: list[tuple[str, dict, dict[str, Any]]] = []
    for folder in chat_folders(data_dir):
        try:
            doc = read_chat_document(folder / CHAT_FILE)
        except StoreError as exc:  # left in place, untouched: a later restore from backup can still use it
            logger.error("Chat folder {} cannot be read, so it is not listed: {}", folder.name, exc)
            continue
        record = chat_record(doc) or {}
        profile = _valid(Profile, record.get("profile"))
        if profile is not None and (profile.id not in profiles or profile.updated_at > profiles[profile.id].updated_at):
            profiles[profile.id] = profile
        found.append((folder.name, record.get("chat") or {}, doc))
    stand_in: Profile | None = None
    chats = []
    for chat_id, raw, doc in found:
        rows, activity = rows_and_activity(doc)
        first = min((row[3] for row in rows), default=activity.updated_at)
        meta = _valid(ChatMeta, {"created_at": first, **raw, "id": chat_id,
                                 "updated_at": max(activity.updated_at, first),
                                 "message_count": activity.message_count, "preview": activity.preview})
        if meta is None or meta.profile_id not in profiles:
            if stand_in is None:
                now = time.time()
                stand_in = Profile(id=new_id(), name=STAND_IN_NAME, created_at=now, updated_at=now,
                                   description="Chats found in the data folder without their profile.")
                profiles[stand_in.id] = stand_in
            meta = (meta or _untitled(chat_id, rows, activity, first)).model_copy(update={"profile_id": stand_in.id})
        chats.append(meta)
    return list(profiles.values()), chats


def _untitled(chat_id: str, rows: list, activity: Any, first: float) -> ChatMeta:
    opening = next((row[2] for row in rows if row[1] == "user" and row[2].strip()), "Recovered chat")
    return ChatMeta(id=chat_id, profile_id=chat_id, title=preview_of(opening)[:TITLE_CHARS], created_at=first,
                    updated_at=max(activity.updated_at, first), message_count=activity.message_count,
                    preview=activity.preview)


def _valid(model: type[Record], raw: Any) -> Any:
    if not isinstance(raw, dict):
        return None
    try:
        return model.model_validate(raw)
    except ValueError:
        return None
