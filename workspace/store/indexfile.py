"""The workspace index, `index.json`: every profile and every chat's metadata, in one small document.

It changes only on user actions on profiles and chats (create, rename, pin, move, delete), never on a
message append: per-chat activity (updated_at, message_count, preview) is kept in the chat's own file,
in memory and in the derived search index, and is refreshed here only when the index is written anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from workspace.store.errors import CorruptData, InvalidInput
from workspace.store.migrations import migrate, stamp
from workspace.store.records import ChatMeta, Profile, Record
from workspace.store.storage import AtomicJSONStorage

INDEX_FILE = "index.json"


def _load_table(model: type[Record], table: Any, what: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise CorruptData(f"The {what} table of {INDEX_FILE} is damaged; restore it from a backup.")
    records = {}
    for key, raw in table.items():
        try:
            record = model.model_validate(raw)
        except (ValueError, InvalidInput) as exc:
            raise CorruptData(f"{what.capitalize()} {key[:20]!r} in {INDEX_FILE} is damaged ({exc}); "
                              "restore the file from a backup.") from None
        if record.id != key:
            raise CorruptData(f"{what.capitalize()} {key[:20]!r} in {INDEX_FILE} has a mismatched id.")
        records[key] = record
    return records


def index_document(profiles: dict[str, dict], chats: dict[str, dict]) -> dict[str, Any]:
    """The index's whole document from serialized records keyed by id."""
    return stamp({"profiles": profiles, "chats": chats}, "index")


class IndexFile:
    """Loads and atomically rewrites index.json; keeps each record's serialized form for cheap rewrites."""

    def __init__(self, data_dir: Path, *, durable: bool = True) -> None:
        self.path = data_dir / INDEX_FILE
        self._storage = AtomicJSONStorage(self.path, durable=durable)
        self._profiles: dict[str, dict] = {}
        self._chats: dict[str, dict] = {}

    def load(self) -> tuple[dict[str, Profile], dict[str, ChatMeta]]:
        """Read (migrating and upgrading the file if it is old); a missing index starts empty."""
        doc = self._storage.read()
        fresh = doc is None
        doc, changed = migrate(doc or stamp({}, "index"), "index", where=str(self.path))
        profiles = _load_table(Profile, doc.get("profiles", {}), "profile")
        chats = _load_table(ChatMeta, doc.get("chats", {}), "chat")
        self._profiles, self._chats = dict(doc.get("profiles", {})), dict(doc.get("chats", {}))
        if fresh or changed:
            self._write(self._profiles, self._chats)
        return profiles, chats

    def save(self, *, profiles: Iterable[Profile] = (), chats: Iterable[ChatMeta] = (),
             drop_profiles: Iterable[str] = (), drop_chats: Iterable[str] = ()) -> None:
        """Write the index with these records put or dropped; on failure nothing changes, here or on disk."""
        new_profiles, new_chats = dict(self._profiles), dict(self._chats)
        for profile in profiles:
            new_profiles[profile.id] = profile.model_dump(mode="json")
        for chat in chats:
            new_chats[chat.id] = chat.model_dump(mode="json")
        for key in drop_profiles:
            new_profiles.pop(key, None)
        for key in drop_chats:
            new_chats.pop(key, None)
        self._write(new_profiles, new_chats)
        self._profiles, self._chats = new_profiles, new_chats

    def _write(self, profiles: dict[str, dict], chats: dict[str, dict]) -> None:
        self._storage.write(index_document(profiles, chats))

    def close(self) -> None:
        self._storage.close()
