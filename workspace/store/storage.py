"""Atomic, cached JSON storage for TinyDB, and the serializer every store file goes through.

TinyDB's default JSONStorage rewrites its file in place: a crash mid-write leaves a truncated file,
and every read parses the whole file again. `AtomicJSONStorage` instead
  * writes a temp file in the same folder, fsyncs it, `os.replace`s it over the target and fsyncs
    the folder, so the file on disk is always either the old or the new complete document;
  * keeps the last document in memory, so reads never touch the disk;
  * treats `.<name>.*.tmp` files (a crash between write and rename) as garbage and removes them;
  * maps a full disk to StorageFull and other OS errors to StorageIOError; the old file stays intact.

Callers must treat the dict returned by `read()` as read-only; TinyDB's own Table API mutates it
before `write()`, which is why a failed write drops the cache (the next read reloads the intact file).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from workspace.durable import fsync_dir
from workspace.store.errors import CorruptData, StorageFull, StorageIOError

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_CHUNK = 1 << 20


def encode(data: dict[str, Any]) -> bytes:
    """The one serializer of every store file: compact UTF-8 JSON; NaN/inf refused (not valid JSON)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode(raw: bytes, where: str | os.PathLike = "file") -> dict[str, Any]:
    """Parse a store document; anything that is not a JSON object of tables is CorruptData."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CorruptData(f"{where} is damaged ({exc.__class__.__name__}); restore it from a backup.") from None
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise CorruptData(f"{where} does not hold a store document; restore it from a backup.")
    return data


def disk_error(exc: OSError, path: Path) -> Exception:
    if exc.errno in _FULL:
        return StorageFull(f"The disk holding {path.parent} is full. Free some space and try again; "
                           "nothing was changed.")
    return StorageIOError(f"Could not write {path.name} in {path.parent}: {exc.strerror or exc}. "
                          "Nothing was changed.")


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view[:_CHUNK])
        view = view[written:]


def atomic_write_bytes(path: Path, payload: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `payload` so that a crash at any moment leaves the old or the new file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            _write_all(fd, payload)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise disk_error(exc, path) from exc
    except BaseException:
        _discard(tmp)
        raise
    if durable:
        try:
            fsync_dir(path.parent)
        except OSError as exc:  # the new file is in place; only its durability is unconfirmed
            raise StorageIOError(f"{path.name} was written, but the disk failed to confirm it "
                                 f"({exc.strerror or exc}); check the disk.") from exc


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def remove_stale_temps(path: Path) -> int:
    """Delete temp files a crash left beside `path`; they never replaced it, so they are garbage."""
    removed = 0
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            _discard(stale)
            removed += 1
    return removed


def read_document(path: Path) -> dict[str, Any] | None:
    """Load one store document from disk; None if the file does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageIOError(f"Could not read {path}: {exc.strerror or exc}.") from exc
    return decode(raw, path)


class AtomicJSONStorage(Storage):
    """TinyDB storage: atomic replace on write, the document cached in memory for reads."""

    def __init__(self, path: str | os.PathLike, *, durable: bool = True, create_dirs: bool = False) -> None:
        self.path = Path(path)
        self.durable = durable
        if create_dirs:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.path)
        self._doc: dict[str, Any] | None = None
        self._loaded = False

    def read(self) -> dict[str, Any] | None:
        if not self._loaded:
            self._doc = read_document(self.path)
            self._loaded = True
        return self._doc

    def write(self, data: dict[str, Any]) -> None:
        try:
            atomic_write_bytes(self.path, encode(data), durable=self.durable)
        except BaseException:
            # TinyDB may have mutated the cached dict already: forget it, the file is still the truth.
            self._doc, self._loaded = None, False
            raise
        self._doc, self._loaded = data, True

    def close(self) -> None:
        self._doc, self._loaded = None, False


class KeyedTable(Table):
    """A TinyDB table whose document ids are our string record ids instead of TinyDB's ints."""

    document_id_class = str  # type: ignore[assignment]


class KeyedTinyDB(TinyDB):
    """TinyDB over a store file: `open_tinydb(path).table("messages").get(doc_id=message_id)`."""

    table_class = KeyedTable


def open_tinydb(path: str | os.PathLike, **kwargs: Any) -> KeyedTinyDB:
    """Open a store file with TinyDB's query API (tools, tests); the store itself reads from its caches."""
    return KeyedTinyDB(path, storage=AtomicJSONStorage, **kwargs)
