"""Schema versions of the store's files and the ordered migrations between them.

Every file (the index and each chat file) is a TinyDB document whose `_meta` table holds
`{"schema": {"schema_version": N, "kind": "index" | "chat"}}`. `MIGRATIONS[i]` turns a version-i
document into version i+1, so the current version is `len(MIGRATIONS)`.

Rule (as simonw/llm's migrations.py): functions are only ever APPENDED to `MIGRATIONS`, never edited
or reordered, because users' files on disk are at every version ever released. A migration works on
plain dicts (never on the pydantic records, which only know the newest shape).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from workspace.store.errors import CorruptData, SchemaTooNew
from workspace.store.ids import is_id, new_id

Doc = dict[str, Any]
Migration = Callable[[Doc, str], Doc]
KINDS = ("index", "chat")


def _rekey(table: dict[str, Any], remap: dict[str, str] | None = None) -> dict[str, dict]:
    """TinyDB's default int doc ids → our record ids as keys (the id field, or a fresh one if unusable)."""
    out: dict[str, dict] = {}
    for doc in table.values():
        if not isinstance(doc, dict):
            continue
        old = doc.get("id")
        rid = old if is_id(old) and old not in out else new_id()
        if remap is not None and isinstance(old, str):
            remap[old] = rid
        out[rid] = {**doc, "id": rid}
    return out


def _stamp(doc: dict, now: float) -> dict:
    created = doc.get("created_at", doc.get("updated_at", now))
    return {**doc, "created_at": created, "updated_at": doc.get("updated_at", created)}


def _m001_adopt_unversioned(doc: Doc, kind: str) -> Doc:
    """v0 → v1: documents written by a plain TinyDB prototype (int doc ids, no schema, missing timestamps)."""
    now = time.time()
    if kind == "index":
        remap: dict[str, str] = {}
        profiles = {k: _stamp(v, now) for k, v in _rekey(doc.get("profiles", {}), remap).items()}
        chats = {}
        for key, chat in _rekey(doc.get("chats", {})).items():
            owner = remap.get(chat.get("profile_id"), chat.get("profile_id"))
            chats[key] = _stamp({**chat, "profile_id": owner}, now)
        return {"profiles": profiles, "chats": chats}
    messages = {k: _stamp(v, now) for k, v in _rekey(doc.get("messages", {})).items()}
    last = max((m["updated_at"] for m in messages.values()), default=0.0)
    return {"messages": messages, "_meta": {"chat": {"updated_at": last}}}


def _m002_chat_record(doc: Doc, kind: str) -> Doc:
    """v1 → v2: a chat file keeps a copy of its chat's and profile's records (`_meta.chat.record`), so a
    lost index.json can be rebuilt from the chat folders. Unknown for old files: the store fills it in
    when it next writes the file (until then a rebuild recovers the messages under a stand-in profile)."""
    if kind == "index":
        return doc
    meta = dict(doc.get("_meta", {}))
    meta["chat"] = {**meta.get("chat", {}), "record": None}
    return {**doc, "_meta": meta}


def _m003_chat_kind_and_threshold(doc: Doc, kind: str) -> Doc:
    """v2 → v3: chats get a kind ("chat" | "study"); profiles may override the pipeline's confidence threshold."""
    if kind != "index":
        return doc
    chats = {k: {"kind": "chat", **v} for k, v in doc.get("chats", {}).items() if isinstance(v, dict)}
    profiles = {k: {"confidence_threshold": None, **v} for k, v in doc.get("profiles", {}).items()
                if isinstance(v, dict)}
    return {**doc, "chats": chats, "profiles": profiles}


def _m004_image_analysis(doc: Doc, kind: str) -> Doc:
    """v3 → v4: messages get `analysis`, what was read from their images (none before: empty)."""
    if kind != "chat":
        return doc
    messages = {k: {"analysis": "", **v} for k, v in doc.get("messages", {}).items() if isinstance(v, dict)}
    return {**doc, "messages": messages}


def _m005_text_attachments(doc: Doc, kind: str) -> Doc:
    """v4 → v5: messages get `attachments`, the text files sent with them (none before: empty)."""
    if kind != "chat":
        return doc
    messages = {k: {"attachments": [], **v} for k, v in doc.get("messages", {}).items() if isinstance(v, dict)}
    return {**doc, "messages": messages}


MIGRATIONS: list[Migration] = [
    _m001_adopt_unversioned,
    _m002_chat_record,
    _m003_chat_kind_and_threshold,
    _m004_image_analysis,
    _m005_text_attachments,
]


def current_version() -> int:
    return len(MIGRATIONS)


def version_of(doc: Doc) -> int:
    schema = doc.get("_meta", {}).get("schema") if isinstance(doc.get("_meta"), dict) else None
    if schema is None:
        return 0
    version = schema.get("schema_version") if isinstance(schema, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise CorruptData(f"The schema version {version!r} is not understood.")
    return version


def stamp(doc: Doc, kind: str) -> Doc:
    """`doc` with the current schema version written into its `_meta` table (a new dict, doc untouched)."""
    meta = dict(doc.get("_meta", {}))
    meta["schema"] = {"schema_version": current_version(), "kind": kind}
    return {**doc, "_meta": meta}


def migrate(doc: Doc, kind: str, where: str = "file") -> tuple[Doc, bool]:
    """Bring `doc` to the current version. Returns (document, whether it changed).

    Raises SchemaTooNew for a file from a newer app, so the caller never writes over it.
    """
    assert kind in KINDS
    version = version_of(doc)
    if version > current_version():
        raise SchemaTooNew(
            f"{where} was written by a newer version of the app (schema {version}, this app knows up to "
            f"{current_version()}). Update the app; the file was not changed.")
    if version == current_version():
        return doc, False
    for step in MIGRATIONS[version:]:
        doc = step(doc, kind)
    return stamp(doc, kind), True
