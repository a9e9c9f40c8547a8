"""One chat's messages: `chats/<chat_id>/chat.json`, loaded once and kept in memory while open.

Appending a message rewrites only this file (atomically), never a whole-workspace file. The file is
a TinyDB document: table `messages` keyed by message id in chronological order, and table `_meta`
holding the schema version, the chat's last-activity time (so activity survives without the index) and
`record`: a copy of the chat's and its profile's records, so a lost index can be rebuilt (recovery.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from workspace.store.errors import CorruptData, InvalidInput
from workspace.store.migrations import migrate, stamp
from workspace.store.records import Message, preview_of
from workspace.store.storage import (
    AtomicJSONStorage,
    atomic_write_bytes,
    encode,
    fsync_dir,
    read_document,
)

CHATS_DIR = "chats"
CHAT_FILE = "chat.json"
# What the search index stores per message: (message_id, role, content, created_at, parts), where `parts` are
# its other searchable texts as (source, name, text): each text file ("attachment", its name) and the text
# read from its images ("image", "").
Part = tuple[str, str, str]
Row = tuple[str, str, str, float, tuple[Part, ...]]
ATTACHMENT, IMAGE = "attachment", "image"


class Activity(NamedTuple):
    """What changes on every append: the chat list's sort key, count and preview."""

    updated_at: float
    message_count: int
    preview: str


def file_signature(path: Path | str) -> str:
    """Cheap change detector (like git's index): a rename-replaced file gets a new inode/size/times."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def chat_document(messages: dict[str, dict], updated_at: float, record: dict | None = None) -> dict[str, Any]:
    """A chat file's whole document: messages keyed by id (serialized records) and the `_meta` table."""
    return stamp({"messages": messages, "_meta": {"chat": {"updated_at": updated_at, "record": record}}}, "chat")


def chat_record(doc: dict[str, Any]) -> dict | None:
    """The copy of the chat's and profile's records a chat document holds, if any."""
    record = doc.get("_meta", {}).get("chat", {}).get("record")
    return record if isinstance(record, dict) else None


def _activity(raw_messages: dict[str, dict], updated_at: float) -> Activity:
    preview = ""
    for raw in reversed(raw_messages.values()):
        text = raw.get("content")
        if isinstance(text, str) and text.strip():
            preview = preview_of(text)
            break
    return Activity(updated_at, len(raw_messages), preview)


def _chat_updated_at(doc: dict[str, Any]) -> float:
    value = doc.get("_meta", {}).get("chat", {}).get("updated_at", 0.0)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def scan_chat_file(path: Path) -> tuple[list[Row], Activity]:
    """Read a chat file for the search index, without building records or writing anything."""
    return rows_and_activity(read_chat_document(path))


def read_chat_document(path: Path) -> dict[str, Any]:
    """A chat file's document, migrated in memory (the file is not written)."""
    doc = read_document(path)
    if doc is None:
        raise CorruptData(f"The messages file {path} is missing; restore it from a backup.")
    return migrate(doc, "chat", where=str(path))[0]


def rows_and_activity(doc: dict[str, Any]) -> tuple[list[Row], Activity]:
    raw_messages = doc.get("messages", {})
    return [raw_row(key, raw) for key, raw in raw_messages.items()], _activity(raw_messages, _chat_updated_at(doc))


def raw_row(key: str, raw: dict[str, Any]) -> Row:
    """A stored message's search row, from its serialized dict (no record built: cheap for a rebuild)."""
    created = raw.get("created_at", 0.0)
    files = raw.get("attachments")
    named = [(str(file.get("name", "")), str(file.get("text", "")))
             for file in (files if isinstance(files, list) else []) if isinstance(file, dict)]
    analysis = raw.get("analysis")
    return (key, str(raw.get("role", "")), str(raw.get("content", "")),
            float(created) if isinstance(created, (int, float)) else 0.0,
            _parts(named, analysis if isinstance(analysis, str) else ""))


def row_of(message: Message) -> Row:
    """A message's search row."""
    return (message.id, message.role, message.content, message.created_at,
            _parts([(file.name, file.text) for file in message.attachments], message.analysis or ""))


def _parts(files: list[tuple[str, str]], analysis: str) -> tuple[Part, ...]:
    """A message's searchable texts besides its own: each text file (named), then the text read from its images."""
    return tuple([(ATTACHMENT, name, text) for name, text in files] + ([(IMAGE, "", analysis)] if analysis else []))


def create_chat_file(folder: Path, messages: list[Message], updated_at: float, *, durable: bool,
                     record: dict | None = None) -> None:
    """Make a new chat folder holding its first chat file; durable (file and folder entry) on return."""
    folder.mkdir(parents=True, exist_ok=False)
    raw = {m.id: m.model_dump(mode="json") for m in messages}
    atomic_write_bytes(folder / CHAT_FILE, encode(chat_document(raw, updated_at, record)), durable=durable)
    if durable:
        fsync_dir(folder.parent)


class ChatFile:
    """The open chat: its messages in memory (records and their serialized dicts) and its storage."""

    def __init__(self, folder: Path, *, durable: bool = True, record: dict | None = None) -> None:
        self.folder = folder
        self.path = folder / CHAT_FILE
        self._storage = AtomicJSONStorage(self.path, durable=durable)
        doc = self._storage.read()
        if doc is None:
            raise CorruptData(f"The messages file of chat {folder.name} is missing; restore it from a backup.")
        doc, changed = migrate(doc, "chat", where=f"The messages file of chat {folder.name}")
        self._raw: dict[str, dict] = doc.get("messages", {})
        self._updated_at = _chat_updated_at(doc)
        self._messages = self._validate(self._raw)
        # What the next write stores as the records' copy; the store keeps it current.
        self.record = record if record is not None else chat_record(doc)
        if changed:  # upgrade on open, so the next version only ever sees current files
            self._storage.write(chat_document(self._raw, self._updated_at, self.record))
        self.upgraded = changed

    def _validate(self, raw_messages: dict[str, dict]) -> dict[str, Message]:
        messages = {}
        for key, raw in raw_messages.items():
            try:
                message = Message.model_validate(raw)
            except (ValueError, InvalidInput) as exc:
                raise CorruptData(f"Message {key[:20]!r} of chat {self.folder.name} is damaged ({exc}).") from None
            if message.id != key:
                raise CorruptData(f"Message {key[:20]!r} of chat {self.folder.name} has a mismatched id.")
            messages[key] = message
        return messages

    # -- reads (memory only) -------------------------------------------------------------------
    def messages(self) -> list[Message]:
        return list(self._messages.values())

    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._messages

    def activity(self) -> Activity:
        return _activity(self._raw, self._updated_at)

    def rows(self) -> list[Row]:
        return [row_of(m) for m in self._messages.values()]

    def signature(self) -> str:
        return file_signature(self.path)

    # -- writes (copy, write, then swap: a failed write leaves memory and disk as they were) ----
    def put(self, message: Message, now: float) -> None:
        """Append a new message or replace an existing one in place (same position)."""
        raw = dict(self._raw)
        raw[message.id] = message.model_dump(mode="json")
        self._storage.write(chat_document(raw, now, self.record))
        self._raw, self._updated_at = raw, now
        self._messages[message.id] = message

    def replace_from(self, message_id: str, message: Message, now: float) -> list[str]:
        """Drop `message_id` and everything after it and append `message`, in one write; returns the dropped ids."""
        keys = list(self._raw)
        cut = keys.index(message_id)
        raw = {key: self._raw[key] for key in keys[:cut]}
        raw[message.id] = message.model_dump(mode="json")
        self._storage.write(chat_document(raw, now, self.record))
        self._raw, self._updated_at = raw, now
        self._messages = {**{key: self._messages[key] for key in keys[:cut]}, message.id: message}
        return keys[cut:]

    def truncate(self, message_id: str, inclusive: bool, now: float) -> int:
        """Drop the messages after `message_id` (and it too if inclusive); returns how many went."""
        keys = list(self._raw)
        cut = keys.index(message_id) + (0 if inclusive else 1)
        if cut >= len(keys):
            return 0
        raw = {key: self._raw[key] for key in keys[:cut]}
        self._storage.write(chat_document(raw, now, self.record))
        self._raw, self._updated_at = raw, now
        self._messages = {key: self._messages[key] for key in keys[:cut]}
        return len(keys) - cut

    def write_record(self) -> None:
        """Rewrite the file with the current `record` (after a change to the chat's metadata)."""
        self._storage.write(chat_document(self._raw, self._updated_at, self.record))

    def close(self) -> None:
        self._storage.close()
