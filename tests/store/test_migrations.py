"""Schema versions: old files are upgraded on open, files from a newer app are refused untouched."""

from __future__ import annotations

import json

import pytest

from workspace.store import SchemaTooNew, WorkspaceStore, migrations

PROFILE_ID, CHAT_ID, MESSAGE_ID = "00000000000000aa", "00000000000000bb", "00000000000000cc"


def write_v0(data_dir):
    """Files as a plain-TinyDB prototype wrote them: int doc ids, no schema, missing fields."""
    (data_dir / "chats" / CHAT_ID).mkdir(parents=True)
    (data_dir / "index.json").write_text(json.dumps({
        "profiles": {"1": {"id": PROFILE_ID, "name": "Legacy", "created_at": 100.0}},
        "chats": {"1": {"id": CHAT_ID, "profile_id": PROFILE_ID, "title": "Old chat",
                        "created_at": 100.0, "updated_at": 150.0}}}))
    (data_dir / "chats" / CHAT_ID / "chat.json").write_text(json.dumps({"messages": {
        "1": {"id": MESSAGE_ID, "role": "user", "content": "legacy question", "created_at": 110.0},
        "2": {"role": "assistant", "content": "legacy answer", "created_at": 120.0, "updated_at": 121.0}}}))


def test_v0_documents_open_and_are_upgraded(data_dir):
    write_v0(data_dir)
    with WorkspaceStore(data_dir) as store:
        assert len(store.search("legacy answer")) == 1  # waits for the background index build
        profile = store.get_profile(PROFILE_ID)
        assert profile.name == "Legacy" and profile.updated_at == 100.0
        chat = store.get_chat(CHAT_ID)
        assert chat.title == "Old chat" and chat.message_count == 2
        messages = store.list_messages(CHAT_ID)
        assert [m.content for m in messages] == ["legacy question", "legacy answer"]
        assert messages[0].id == MESSAGE_ID and messages[1].status == "ok"
        assert [h.message_id for h in store.search("legacy answer")] == [messages[1].id]
        store.append_message(CHAT_ID, "user", "new question")
    index = json.loads((data_dir / "index.json").read_text())
    chat_doc = json.loads((data_dir / "chats" / CHAT_ID / "chat.json").read_text())
    for doc, kind in ((index, "index"), (chat_doc, "chat")):
        assert doc["_meta"]["schema"] == {"schema_version": migrations.current_version(), "kind": kind}
    assert list(index["profiles"]) == [PROFILE_ID]
    assert next(iter(chat_doc["messages"])) == MESSAGE_ID and len(chat_doc["messages"]) == 3


def test_migrations_run_in_order_and_only_once(monkeypatch, data_dir):
    seen = []

    def next_add_flag(doc, kind):
        seen.append(kind)
        if kind == "chat":
            for message in doc["messages"].values():
                message["meta"] = {**message.get("meta", {}), "migrated": True}
        return doc

    written_at = migrations.current_version()
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        c = store.create_chat(p.id)
        store.append_message(c.id, "user", "before v2")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, next_add_flag])
    with WorkspaceStore(data_dir) as store:
        assert store.list_messages(c.id)[0].meta == {"migrated": True}
    assert sorted(seen) == ["chat", "index"]
    with WorkspaceStore(data_dir) as store:
        store.list_messages(c.id)
    assert sorted(seen) == ["chat", "index"]  # already at the new version: not migrated again
    doc = json.loads((data_dir / "chats" / c.id / "chat.json").read_text())
    assert doc["_meta"]["schema"]["schema_version"] == written_at + 1


def test_future_index_is_refused_and_left_untouched(data_dir):
    data_dir.mkdir()
    future = json.dumps({"_meta": {"schema": {"schema_version": 99, "kind": "index"}}, "profiles": {}, "chats": {}})
    (data_dir / "index.json").write_text(future)
    with pytest.raises(SchemaTooNew, match="newer version"):
        WorkspaceStore(data_dir)
    assert (data_dir / "index.json").read_text() == future


def test_future_chat_file_is_refused_and_left_untouched(data_dir):
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        future_chat, fine_chat = store.create_chat(p.id), store.create_chat(p.id)
        store.append_message(fine_chat.id, "user", "still searchable")
    path = data_dir / "chats" / future_chat.id / "chat.json"
    future = json.dumps({"_meta": {"schema": {"schema_version": 99, "kind": "chat"}}, "messages": {}})
    path.write_text(future)
    (data_dir / "search.sqlite").unlink()  # force a rebuild that has to read it
    with WorkspaceStore(data_dir) as store:
        with pytest.raises(SchemaTooNew):
            store.list_messages(future_chat.id)
        with pytest.raises(SchemaTooNew):
            store.append_message(future_chat.id, "user", "x")
        assert len(store.search("searchable")) == 1
    assert path.read_text() == future


def test_m004_gives_every_message_an_empty_analysis():
    doc = {"messages": {"a" * 16: {"id": "a" * 16, "role": "user", "content": "hi"}}, "_meta": {}}
    migrated = migrations.MIGRATIONS[3](doc, "chat")
    assert migrated["messages"]["a" * 16]["analysis"] == ""
    assert migrations.MIGRATIONS[3]({"chats": {}}, "index") == {"chats": {}}


def test_m005_gives_every_message_no_attachments():
    doc = {"messages": {"a" * 16: {"id": "a" * 16, "role": "user", "content": "hi", "analysis": ""}}, "_meta": {}}
    migrated = migrations.MIGRATIONS[4](doc, "chat")
    assert migrated["messages"]["a" * 16]["attachments"] == []
    assert migrations.MIGRATIONS[4]({"chats": {}}, "index") == {"chats": {}}
    v4 = {**doc, "_meta": {"schema": {"schema_version": 4, "kind": "chat"}}}
    upgraded, changed = migrations.migrate(v4, "chat")
    assert changed and migrations.version_of(upgraded) == 5 >= migrations.current_version()
