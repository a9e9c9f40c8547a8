"""The in-memory chat table (each profile's chats without scanning them all) and `settle` (a large table
taken out of the garbage collector's full passes, without leaking a closed store)."""

from __future__ import annotations

import gc
import weakref

import pytest

from workspace.store import NotFound, WorkspaceStore, chattable
from workspace.store.chattable import ChatTable
from workspace.store.records import ChatMeta

A, B = "a" * 16, "b" * 16


def meta(chat_id: str, profile_id: str, **fields) -> ChatMeta:
    return ChatMeta(id=chat_id, profile_id=profile_id, created_at=1.0, updated_at=1.0, **fields)


def ids(table: ChatTable, profile_id: str) -> set[str]:
    return {c.id for c in table.of_profile(profile_id)}


def test_table_keeps_each_profiles_chats_through_puts_moves_and_pops():
    one, two, three = "1" * 16, "2" * 16, "3" * 16
    table = ChatTable({one: meta(one, A), two: meta(two, A)})
    table[three] = meta(three, B)
    assert ids(table, A) == {one, two} and ids(table, B) == {three}
    table[two] = meta(two, A, title="renamed")  # same profile: still listed once, the new record
    assert [c.title for c in table.of_profile(A) if c.id == two] == ["renamed"]
    table[two] = meta(two, B)  # a move
    assert ids(table, A) == {one} and ids(table, B) == {two, three}
    assert table.pop(one).id == one and table.pop(one, None) is None
    assert ids(table, A) == set() and dict(table) == {two: table[two], three: table[three]}


def test_table_refuses_changes_that_would_bypass_the_profile_map():
    table = ChatTable()
    for change in (lambda: table.update({}), lambda: table.setdefault(A, None), lambda: table.clear()):
        with pytest.raises(TypeError):
            change()


def test_store_lists_follow_moves_deletes_and_purges(store: WorkspaceStore, profile):
    other = store.create_profile("Other")
    first, second = store.create_chat(profile.id, "first"), store.create_chat(profile.id, "second")
    store.move_chat(second.id, other.id)
    assert [c.id for c in store.list_chats(profile.id)] == [first.id]
    assert [c.id for c in store.list_chats(other.id)] == [second.id]
    store.delete_chat(first.id)
    store.purge_deleted()
    assert store.list_chats(profile.id, include_deleted=True) == []
    store.delete_profile(other.id)
    with pytest.raises(NotFound):
        store.get_chat(second.id)


@pytest.fixture
def unfreeze():
    yield
    gc.unfreeze()  # give the rest of the test run its collector back


def test_a_large_store_is_frozen_out_of_full_collections(monkeypatch, data_dir, unfreeze):
    with WorkspaceStore(data_dir) as store:
        profile = store.create_profile("p")
        for n in range(3):
            store.create_chat(profile.id, f"chat {n}")
    monkeypatch.setattr(chattable, "SETTLE_FROM_CHATS", 3)
    gc.unfreeze()
    with WorkspaceStore(data_dir) as store:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert {c.title for c in store.list_chats(profile.id)} == {"chat 0", "chat 1", "chat 2"}


def test_a_closed_store_is_freed_without_the_cycle_collector(data_dir, chat):
    """What makes freezing safe: nothing of a closed store waits for a cycle collection (a frozen cycle never
    gets one), so a store opened and closed (a restore's check of a backup) gives back all its memory."""
    gc.disable()
    try:
        store = WorkspaceStore(data_dir / "other")
        profile = store.create_profile("p")
        store.append_message(store.create_chat(profile.id).id, "user", "hello")
        store.search("hello")
        store.close()
        gone = weakref.ref(store)
        del store
        assert gone() is None
    finally:
        gc.enable()
