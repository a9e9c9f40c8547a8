"""Profiles, chats and messages: create, read, update, delete, ordering, trash, reopening from disk."""

from __future__ import annotations

import threading

import pytest

from tests.store.helpers import snapshot
from workspace.store import InvalidInput, NotFound, StoreBusy, WorkspaceStore


def test_profiles_crud(store):
    a = store.create_profile("  Alpha  ", description="d", system_prompt="s")
    b = store.create_profile("Beta")
    assert a.name == "Alpha" and a.created_at <= a.updated_at
    assert [p.id for p in store.list_profiles()] == [a.id, b.id]
    assert store.get_profile(a.id) == a
    changed = store.update_profile(a.id, name="Alpha 2", model_overrides={"CODER": "qwen:1.5b"})
    assert changed.name == "Alpha 2" and changed.description == "d"
    assert changed.model_overrides == {"CODER": "qwen:1.5b"}
    assert store.update_profile(a.id, model_overrides={}).model_overrides == {}
    with pytest.raises(InvalidInput):
        store.create_profile("   ")
    with pytest.raises(InvalidInput):
        store.update_profile(a.id, name="x" * 500)
    store.delete_profile(b.id)
    with pytest.raises(NotFound):
        store.get_profile(b.id)
    assert [p.id for p in store.list_profiles()] == [a.id]


def test_delete_profile_removes_its_chats(store, profile, chat, data_dir):
    store.append_message(chat.id, "user", "hello")
    other = store.create_profile("Other")
    kept = store.create_chat(other.id)
    store.delete_profile(profile.id)
    with pytest.raises(NotFound):
        store.get_chat(chat.id)
    assert not (data_dir / "chats" / chat.id).exists()
    assert store.get_chat(kept.id).profile_id == other.id
    assert store.search("hello") == []


def test_chat_crud_and_ordering(store, profile):
    first = store.create_chat(profile.id, title="Alpha notes")
    second = store.create_chat(profile.id, title="Beta plan")
    third = store.create_chat(profile.id, title="Gamma")
    assert [c.id for c in store.list_chats(profile.id)] == [third.id, second.id, first.id]
    store.append_message(first.id, "user", "bump")  # activity moves it to the top
    assert [c.id for c in store.list_chats(profile.id)] == [first.id, third.id, second.id]
    store.update_chat(second.id, pinned=True)
    assert [c.id for c in store.list_chats(profile.id)] == [second.id, first.id, third.id]
    assert [c.id for c in store.list_chats(profile.id, query="PLAN beta")] == [second.id]
    assert store.list_chats(profile.id, query="nothing") == []
    renamed = store.update_chat(third.id, title="Gamma 2", model_overrides={"CHAT": "m"})
    assert renamed.title == "Gamma 2" and renamed.model_overrides == {"CHAT": "m"}
    with pytest.raises(InvalidInput):
        store.update_chat(third.id, title="  ")
    meta = store.get_chat(first.id)
    assert meta.message_count == 1 and meta.preview == "bump"


def test_move_chat(store, profile, chat):
    other = store.create_profile("Other")
    moved = store.move_chat(chat.id, other.id)
    assert moved.profile_id == other.id
    assert store.list_chats(profile.id) == []
    assert [c.id for c in store.list_chats(other.id)] == [chat.id]
    with pytest.raises(NotFound):
        store.move_chat(chat.id, "0123456789abcdef")


def test_soft_delete_restore_purge(store, profile, chat, data_dir):
    store.append_message(chat.id, "user", "keep me")
    deleted = store.delete_chat(chat.id)
    assert deleted.deleted_at is not None
    assert store.list_chats(profile.id) == []
    assert [c.id for c in store.list_chats(profile.id, include_deleted=True)] == [chat.id]
    with pytest.raises(InvalidInput):
        store.append_message(chat.id, "user", "into the trash")
    assert store.restore_chat(chat.id).deleted_at is None
    assert [m.content for m in store.list_messages(chat.id)] == ["keep me"]
    store.delete_chat(chat.id)
    assert store.purge_deleted(older_than_s=3600) == 0  # too recent
    assert store.get_chat(chat.id)
    assert store.purge_deleted(older_than_s=0) == 1
    with pytest.raises(NotFound):
        store.get_chat(chat.id)
    assert not (data_dir / "chats" / chat.id).exists()


def test_messages_crud(store, chat):
    user = store.append_message(chat.id, "user", "What is 2+2?")
    answer = store.append_message(chat.id, "assistant", "", model="m1", backend="ollama", status="streaming",
                                  meta={"num_ctx": 4096, "dropped_messages": 0})
    assert answer.status == "streaming" and answer.meta["num_ctx"] == 4096
    answer = store.update_message(chat.id, answer.id, content="4")
    final = store.update_message(chat.id, answer.id, status="ok", stats={"eval_count": 3, "tokens_per_s": 38.5})
    assert final.content == "4" and final.stats["tokens_per_s"] == 38.5 and final.created_at == answer.created_at
    assert [m.id for m in store.list_messages(chat.id)] == [user.id, answer.id]
    assert store.get_message(chat.id, user.id) == user
    with pytest.raises(InvalidInput):
        store.append_message(chat.id, "robot", "x")
    with pytest.raises(InvalidInput):
        store.append_message(chat.id, "user", "x", id="0123456789abcdef")
    with pytest.raises(InvalidInput):
        store.update_message(chat.id, user.id, role="assistant")
    with pytest.raises(InvalidInput):
        store.update_message(chat.id, user.id, status="done")
    with pytest.raises(NotFound):
        store.get_message(chat.id, "0123456789abcdef")


def test_truncate_after(store, chat):
    ids = [store.append_message(chat.id, role, f"m{n}").id
           for n, role in enumerate(["user", "assistant", "user", "assistant"])]
    assert store.truncate_after(chat.id, ids[1], inclusive=False) == 2
    assert [m.id for m in store.list_messages(chat.id)] == ids[:2]
    assert store.truncate_after(chat.id, ids[1], inclusive=False) == 0
    assert store.truncate_after(chat.id, ids[0], inclusive=True) == 2
    assert store.list_messages(chat.id) == []
    assert store.get_chat(chat.id).message_count == 0
    assert store.search("m3") == []


def test_reopen_gives_identical_data(data_dir):
    store = WorkspaceStore(data_dir)
    p = store.create_profile("P", system_prompt="sys")
    chats = [store.create_chat(p.id, title=f"c{n}") for n in range(3)]
    for n, c in enumerate(chats):
        for k in range(n + 2):
            store.append_message(c.id, "user" if k % 2 == 0 else "assistant", f"chat {n} line {k}",
                                 stats={"k": k}, truncated_context=k == 1)
    store.update_chat(chats[0].id, pinned=True)
    store.delete_chat(chats[2].id)
    before = snapshot(store)
    store.close()
    with WorkspaceStore(data_dir) as again:
        assert snapshot(again) == before


def test_reopen_after_unclean_stop_keeps_activity(data_dir):
    """Without close() (a crash), chat activity comes back from the chat files / search index."""
    store = WorkspaceStore(data_dir)
    p = store.create_profile("P")
    c = store.create_chat(p.id)
    store.append_message(c.id, "user", "last words")
    expected = snapshot(store)
    store._folder_lock.release()  # what the OS does when the process dies
    with WorkspaceStore(data_dir) as again:
        assert snapshot(again) == expected


def test_one_open_store_per_folder(store, data_dir):
    with pytest.raises(StoreBusy):
        WorkspaceStore(data_dir)


def test_threads_write_and_read_concurrently(store, profile):
    chats = [store.create_chat(profile.id, title=f"t{n}") for n in range(2)]
    errors: list[Exception] = []

    def writer(n: int) -> None:
        try:
            for k in range(15):
                message = store.append_message(chats[n % 2].id, "assistant", "", status="streaming")
                store.update_message(chats[n % 2].id, message.id, content=f"w{n} k{k}", status="ok")
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(40):
                for c in chats:
                    store.list_messages(c.id)
                store.list_chats(profile.id)
                store.search("w1")
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + \
              [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = sorted(m.content for c in chats for m in store.list_messages(c.id))
    assert contents == sorted(f"w{n} k{k}" for n in range(4) for k in range(15))
    assert sum(store.get_chat(c.id).message_count for c in chats) == 60
