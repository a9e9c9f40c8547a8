"""Chat folders are created and removed in two phases: a crash at any step is settled at the next start."""

from __future__ import annotations

import errno
import os
import shutil

import pytest

from tests.store.test_ids import HOSTILE_IDS
from workspace.store import StorageFull, WorkspaceStore
from workspace.store.ids import new_id
from workspace.store.records import ChatMeta


def make(data_dir):
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        c = store.create_chat(p.id)
        store.append_message(c.id, "user", "precious")
    return p, c


def test_chat_parked_before_index_write_comes_back(data_dir):
    _, c = make(data_dir)
    os.replace(data_dir / "chats" / c.id, data_dir / "pending" / c.id)  # killed right after park()
    with WorkspaceStore(data_dir) as store:
        assert [m.content for m in store.list_messages(c.id)] == ["precious"]
    assert not list((data_dir / "pending").iterdir())


def test_unlisted_pending_folders_are_removed(data_dir):
    make(data_dir)
    stray = data_dir / "pending" / new_id()  # killed before the index listed a new chat / after it dropped one
    stray.mkdir()
    (stray / "chat.json").write_text("{}")
    (data_dir / ".backup-dead").mkdir()  # a backup snapshot cut short
    with WorkspaceStore(data_dir):
        pass
    assert not stray.exists() and not (data_dir / ".backup-dead").exists()


def _fail_index_writes(monkeypatch, data_dir):
    real = os.write

    def failing(fd, data):
        if ".index.json." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", failing)


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs /proc")
def test_failed_index_write_undoes_folder_moves(monkeypatch, data_dir):
    p, c = make(data_dir)
    with WorkspaceStore(data_dir) as store:
        _fail_index_writes(monkeypatch, data_dir)
        with pytest.raises(StorageFull):
            store.delete_profile(p.id)
        with pytest.raises(StorageFull):
            store.create_chat(p.id)
        monkeypatch.undo()
        assert [m.content for m in store.list_messages(c.id)] == ["precious"]
        assert [x.id for x in store.list_chats(p.id)] == [c.id]
        assert not list((data_dir / "pending").iterdir())
        store.delete_profile(p.id)
        assert not (data_dir / "chats" / c.id).exists() and not list((data_dir / "pending").iterdir())


def test_listed_chat_still_in_pending_is_published(data_dir):
    _, c = make(data_dir)
    shutil.move(data_dir / "chats" / c.id, data_dir / "pending" / c.id)  # killed before publish()
    with WorkspaceStore(data_dir) as store:
        assert store.get_chat(c.id).message_count == 1
        assert (data_dir / "chats" / c.id / "chat.json").exists()


@pytest.mark.parametrize("bad", [b for b in HOSTILE_IDS if isinstance(b, str)])
def test_records_from_disk_refuse_hostile_ids(bad):
    with pytest.raises(ValueError):
        ChatMeta.model_validate({"id": bad, "profile_id": new_id(), "created_at": 1.0, "updated_at": 1.0})
