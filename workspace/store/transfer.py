"""Moving data in and out of the store: chat export (JSON, Markdown), chat import, backup and restore zips.

Everything that comes from outside is hostile until checked: an import is validated whole (size,
shape, every record) before it is added and gets fresh ids; a message keeps only the images whose files
came with it (checked by store/portable.py), and paths inside it are never used. A restore accepts
only the store's own member names (`index.json`, `chats/<id>/<file>`), bounded sizes, no links, and
unpacks into a staging folder that is verified before it becomes the (empty or new) target.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import time
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from workspace.durable import fsync_dir
from workspace.store.chatfile import CHATS_DIR
from workspace.store.errors import InvalidInput, SchemaTooNew, TargetNotEmpty
from workspace.store.ids import check_file_name, is_id, new_id
from workspace.store.indexfile import INDEX_FILE
from workspace.store.migrations import current_version
from workspace.store.portable import files_of
from workspace.store.records import ChatMeta, Message, Profile, preview_of, validated
from workspace.store.storage import disk_error

EXPORT_KIND = "local-ai-workspace.chat"
BACKUP_KIND = "local-ai-workspace.backup"
MANIFEST = "backup.json"
MAX_IMPORT_MESSAGES = 50_000
MAX_IMPORT_CHARS = 50_000_000
MAX_MEMBERS = 1_000_000
MAX_MEMBER_BYTES = 1 << 30
MAX_TOTAL_BYTES = 64 << 30
_CHUNK = 1 << 20
_EXPORT_KEYS = {"kind", "schema_version", "exported_at", "chat", "messages", "files"}


# -- export ---------------------------------------------------------------------------------------
def chat_to_json(meta: ChatMeta, messages: list[Message], folder: Path) -> dict[str, Any]:
    """The chat as JSON; its messages' image files (in `folder`) as base64 under `files`."""
    return {"kind": EXPORT_KIND, "schema_version": current_version(), "exported_at": time.time(),
            "chat": meta.model_dump(mode="json"), "messages": [m.model_dump(mode="json") for m in messages],
            "files": files_of(folder, [name for m in messages for name in m.images])}


def _when(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):  # stored before dates were bounded: show it, do not fail
        return f"@{timestamp:g}"


def chat_to_markdown(meta: ChatMeta, profile: Profile | None, messages: list[Message]) -> str:
    lines = [f"# {meta.title}", ""]
    about = [f"Profile: {profile.name}"] if profile else []
    lines += [" · ".join(about + [f"Started {_when(meta.created_at)}", f"{len(messages)} messages"]), ""]
    for message in messages:
        head = f"### {message.role.capitalize()}"
        if message.model:
            head += f" ({message.model})"
        lines += ["---", "", f"{head} · {_when(message.created_at)}", "", message.content, ""]
        for file in message.attachments:  # as the model read them: a fenced block under the file's name
            fence = "`" * max(3, max(map(len, re.findall("`+", file.text)), default=0) + 1)
            lines += [f"**{file.name}**", "", fence, file.text.rstrip("\n"), fence, ""]
        if message.status != "ok":
            lines += [f"*[{message.status}{': ' + message.error if message.error else ''}]*", ""]
    return "\n".join(lines)


# -- import ---------------------------------------------------------------------------------------
def _need(ok: bool, problem: str) -> None:
    if not ok:
        raise InvalidInput(f"This is not a chat export this app can import: {problem}. Nothing was imported.")


def _check_envelope(data: Any) -> tuple[dict, list]:
    _need(isinstance(data, dict), "expected a JSON object")
    _need(set(data) <= _EXPORT_KEYS, f"unexpected keys {sorted(set(data) - _EXPORT_KEYS)[:5]}")
    _need(data.get("kind") == EXPORT_KIND, "it is not marked as a chat export")
    version = data.get("schema_version")
    _need(isinstance(version, int) and not isinstance(version, bool) and version >= 1, "bad schema_version")
    if version > current_version():
        raise SchemaTooNew(f"This chat was exported by a newer version of the app (schema {version}); "
                           "update the app to import it. Nothing was imported.")
    chat, messages = data.get("chat"), data.get("messages")
    _need(isinstance(chat, dict) and set(chat) <= set(ChatMeta.model_fields), "bad 'chat' section")
    _need(isinstance(messages, list), "'messages' is not a list")
    _need(len(messages) <= MAX_IMPORT_MESSAGES, f"more than {MAX_IMPORT_MESSAGES:,} messages")
    size = sum(len(m.get("content", "")) for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str))
    _need(size <= MAX_IMPORT_CHARS, f"more than {MAX_IMPORT_CHARS:,} characters of text")
    return chat, messages


def parse_chat_json(data: Any, files: set[str] = frozenset()) -> tuple[dict[str, Any], list[Message]]:
    """Validate an export completely; returns (chat fields, messages with fresh ids) or raises. A message keeps
    the images among `files` (those that came with the export); the others are dropped."""
    chat, raw_messages = _check_envelope(data)
    messages: list[Message] = []
    taken: set[str] = set()
    for number, raw in enumerate(raw_messages, 1):
        _need(isinstance(raw, dict), f"message {number} is not an object")
        message_id = new_id()
        while message_id in taken:
            message_id = new_id()
        taken.add(message_id)
        try:
            message = validated(Message, {**raw, "id": message_id})
        except InvalidInput as exc:
            raise InvalidInput(f"Message {number} of the import is invalid: {exc} Nothing was imported.") from None
        status = "stopped" if message.status == "streaming" else message.status  # no turn will finish it
        images = [name for name in message.images if name in files]
        messages.append(message.model_copy(update={"images": images, "status": status}))
    now = time.time()
    created = chat.get("created_at", messages[0].created_at if messages else now)
    last = max((m.updated_at for m in messages), default=0.0)
    updated = chat.get("updated_at", created)
    fields = {"title": chat.get("title") or "Imported chat", "pinned": chat.get("pinned", False),
              "kind": chat.get("kind", "chat"),
              "model_overrides": chat.get("model_overrides", {}), "created_at": created,
              "updated_at": max(updated, last) if isinstance(updated, (int, float)) else updated,
              "preview": next((preview_of(m.content) for m in reversed(messages) if m.content.strip()), "")}
    return fields, messages


# -- backup ---------------------------------------------------------------------------------------
def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def snapshot(data_dir: Path, chat_folders: list[Path]) -> Path:
    """Hard-link the store's files into a hidden folder: cheap, and consistent, because the store
    only ever replaces files (rename) and never edits them in place. Call under the store's lock."""
    snap = data_dir / f".backup-{secrets.token_hex(4)}"
    try:
        snap.mkdir()
        _link_or_copy(data_dir / INDEX_FILE, snap / INDEX_FILE)
        for folder in chat_folders:
            for source in sorted(folder.rglob("*")):
                if source.is_file() and not source.name.startswith("."):  # .tmp files are garbage
                    target = snap / CHATS_DIR / source.relative_to(folder.parent)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _link_or_copy(source, target)
    except OSError as exc:
        shutil.rmtree(snap, ignore_errors=True)
        raise disk_error(exc, snap / "backup") from exc
    return snap


def write_zip(snap: Path, dest: Path) -> Path:
    """Zip a snapshot into `dest` atomically (temp file, fsync, rename)."""
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    manifest = {"kind": BACKUP_KIND, "schema_version": current_version(), "created_at": time.time()}
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest))
            for path in sorted(snap.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(snap).as_posix())
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise disk_error(exc, dest) from exc
    return dest


# -- restore --------------------------------------------------------------------------------------
def _member_parts(name: str) -> list[str] | None:
    """The path parts of an allowed member, None for a folder entry; InvalidInput for anything else."""
    parts = name.split("/")
    folder = name.endswith("/")
    if folder:
        parts = parts[:-1]
    ok = "\\" not in name and "\x00" not in name and (
        (parts in ([INDEX_FILE], [MANIFEST]) and not folder)
        or (parts == [CHATS_DIR] and folder)
        or (len(parts) >= 2 and parts[0] == CHATS_DIR and is_id(parts[1]) and (folder or len(parts) >= 3)))
    if ok:
        try:
            for part in parts[2:]:
                check_file_name(part)
        except InvalidInput:
            ok = False
    if not ok:
        raise InvalidInput(f"The backup holds an unexpected or unsafe path {name[:80]!r}; nothing was restored.")
    return None if folder else parts


def _checked_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, list[str]]]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InvalidInput("The backup holds too many files; nothing was restored.")
    members, seen, total = [], set(), 0
    for info in infos:
        parts = _member_parts(info.filename)
        if parts is None:
            continue
        if stat.S_ISLNK(info.external_attr >> 16) or info.flag_bits & 0x1 or info.filename in seen:
            raise InvalidInput(f"The backup member {info.filename[:80]!r} is a link, encrypted or repeated; "
                               "nothing was restored.")
        total += info.file_size
        if info.file_size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            raise InvalidInput(
                f"The backup member {info.filename[:80]!r} is larger than allowed; nothing was restored.")
        seen.add(info.filename)
        members.append((info, parts))
    if INDEX_FILE not in seen:
        raise InvalidInput(f"The zip has no {INDEX_FILE}: it is not a backup of this app. Nothing was restored.")
    return members


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member, never more bytes than it declared (a lying header cannot fill the disk)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as source, open(target, "xb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise InvalidInput(f"The backup member {info.filename[:80]!r} is larger than it claims.")
            sink.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise TargetNotEmpty(f"{target} is not empty. Restore into a new or empty folder; nothing was changed.")


def restore_zip(src: Path, target: Path, *, verify: Callable[[Path], None]) -> Path:
    _check_target(target)
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"{src.name} is not a readable zip backup ({exc}).") from None
    with archive:
        members = _checked_members(archive)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
        try:
            staging.mkdir()
            for info, parts in members:
                if parts == [MANIFEST]:
                    continue  # describes the zip, not part of the store
                _extract(archive, info, staging.joinpath(*parts))
            verify(staging)
            _check_target(target)
            if target.exists():
                target.rmdir()
            os.replace(staging, target)
            fsync_dir(target.parent)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise InvalidInput(f"The backup is damaged ({exc}); nothing was restored.") from None
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise disk_error(exc, target) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target

