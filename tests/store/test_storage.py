"""The atomic TinyDB storage: TinyDB-compatible files, crash garbage, full disk, damaged files."""

from __future__ import annotations

import errno
import json
import os

import pytest

from workspace.store import CorruptData, StorageFull, StorageIOError, WorkspaceStore
from workspace.store.storage import AtomicJSONStorage, open_tinydb


def test_files_are_tinydb_documents(store, chat, data_dir):
    message = store.append_message(chat.id, "user", "hello tinydb")
    db = open_tinydb(data_dir / "chats" / chat.id / "chat.json")
    assert db.table("messages").get(doc_id=message.id)["content"] == "hello tinydb"
    assert db.table("_meta").get(doc_id="schema")["schema_version"] >= 1
    index = open_tinydb(data_dir / "index.json")
    assert index.table("chats").get(doc_id=chat.id)["title"] == "First chat"


def test_tinydb_table_writes_are_atomic_and_cached(tmp_path):
    db = open_tinydb(tmp_path / "t.json")
    table = db.table("things")
    from tinydb.table import Document
    table.insert(Document({"n": 1}, doc_id="a"))
    table.update({"n": 2}, doc_ids=["a"])
    assert json.loads((tmp_path / "t.json").read_text())["things"]["a"] == {"n": 2}
    os.unlink(tmp_path / "t.json")  # reads are served from memory
    assert table.get(doc_id="a")["n"] == 2


def test_stale_temp_files_are_garbage(tmp_path):
    target = tmp_path / "doc.json"
    storage = AtomicJSONStorage(target)
    storage.write({"t": {"a": {"x": 1}}})
    half = tmp_path / ".doc.json.dead.tmp"
    half.write_bytes(b'{"t": {"a": {"x": 2')  # a crash between write and rename
    again = AtomicJSONStorage(target)
    assert not half.exists()
    assert again.read() == {"t": {"a": {"x": 1}}}


def _fail_writes_under(monkeypatch, folder, code=errno.ENOSPC, call="write"):
    """Make the OS refuse writes to files under `folder` (what a full disk does); others unaffected."""
    real = getattr(os, call)

    def failing(fd, *args):
        if str(folder) in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(code, os.strerror(code))
        return real(fd, *args)

    monkeypatch.setattr(os, call, failing)


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs /proc")
def test_full_disk_raises_clear_error_and_keeps_previous_data(monkeypatch, store, chat, data_dir):
    first = store.append_message(chat.id, "user", "before the disk filled up")
    chat_file = data_dir / "chats" / chat.id / "chat.json"
    on_disk = chat_file.read_bytes()
    _fail_writes_under(monkeypatch, data_dir)
    with pytest.raises(StorageFull, match="full"):
        store.append_message(chat.id, "user", "lost?")
    with pytest.raises(StorageFull):
        store.update_message(chat.id, first.id, content="changed")
    with pytest.raises(StorageFull):
        store.update_chat(chat.id, title="renamed")
    assert chat_file.read_bytes() == on_disk
    assert [m.content for m in store.list_messages(chat.id)] == ["before the disk filled up"]
    assert store.get_chat(chat.id).title == "First chat"
    assert not [p for p in data_dir.rglob("*.tmp")]
    monkeypatch.undo()  # space freed: the store carries on
    store.append_message(chat.id, "user", "after")
    assert [m.content for m in store.list_messages(chat.id)] == ["before the disk filled up", "after"]


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs /proc")
def test_fsync_failure_is_reported_and_previous_file_kept(monkeypatch, store, chat, data_dir):
    store.append_message(chat.id, "user", "safe")
    _fail_writes_under(monkeypatch, data_dir / "chats", code=errno.EIO, call="fsync")
    with pytest.raises(StorageIOError, match="Nothing was changed"):
        store.append_message(chat.id, "user", "not safe")
    monkeypatch.undo()
    assert [m.content for m in store.list_messages(chat.id)] == ["safe"]


def test_damaged_files_are_reported_not_replaced(data_dir):
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        c = store.create_chat(p.id)
        store.append_message(c.id, "user", "x")
    chat_file = data_dir / "chats" / c.id / "chat.json"
    chat_file.write_bytes(b'{"messages": {"tru')
    with WorkspaceStore(data_dir) as store, pytest.raises(CorruptData, match="backup"):
        store.list_messages(c.id)
    assert chat_file.read_bytes() == b'{"messages": {"tru'
    (data_dir / "index.json").write_bytes(b"\x00\x00")
    with pytest.raises(CorruptData, match="backup"):
        WorkspaceStore(data_dir)
