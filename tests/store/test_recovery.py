"""A lost index.json is rebuilt from the chat folders with every chat and message: never an empty workspace."""

from __future__ import annotations

import json

from tests.store.helpers import snapshot
from workspace.store import WorkspaceStore, migrations
from workspace.store.recovery import STAND_IN_NAME


def fill(store):
    work = store.create_profile("Work", description="client", system_prompt="Be brief.",
                                model_overrides={"chat": "m:1"})
    home = store.create_profile("Home")
    first = store.create_chat(work.id, title="Bug 42", model_overrides={"coder": "c:7b"})
    for n in range(3):
        store.append_message(first.id, "user", f"question {n} about tokens")
        store.append_message(first.id, "assistant", f"answer {n}", stats={"eval_count": n})
    store.update_chat(first.id, pinned=True)
    moved = store.create_chat(work.id, title="Moved")
    store.append_message(moved.id, "user", "to be moved")
    store.move_chat(moved.id, home.id)
    trashed = store.create_chat(home.id, title="In the trash")
    store.append_message(trashed.id, "user", "deleted but restorable")
    store.delete_chat(trashed.id)
    store.update_profile(work.id, name="Work (renamed)")
    store.append_message(first.id, "user", "after the rename")  # refreshes the chat's copy of its profile


def test_a_lost_index_is_rebuilt_with_every_chat_and_message(data_dir):
    with WorkspaceStore(data_dir) as store:
        fill(store)
        before = snapshot(store)
    (data_dir / "index.json").unlink()
    with WorkspaceStore(data_dir) as store:
        assert snapshot(store) == before
        assert len(store.search("tokens")) == 3
    with WorkspaceStore(data_dir) as store:  # and the rebuilt index was written
        assert snapshot(store) == before


def test_chat_files_from_before_the_record_copy_are_recovered_under_a_stand_in_profile(data_dir):
    with WorkspaceStore(data_dir) as store:
        profile = store.create_profile("Old")
        chat = store.create_chat(profile.id, title="Old chat")
        store.append_message(chat.id, "user", "an old question")
        store.append_message(chat.id, "assistant", "an old answer")
        messages = [m.model_dump() for m in store.list_messages(chat.id)]
    path = data_dir / "chats" / chat.id / "chat.json"
    doc = json.loads(path.read_text())  # as version 1 wrote it: no copy of the records
    doc["_meta"] = {"chat": {"updated_at": doc["_meta"]["chat"]["updated_at"]},
                    "schema": {"schema_version": 1, "kind": "chat"}}
    path.write_text(json.dumps(doc))
    (data_dir / "index.json").unlink()
    with WorkspaceStore(data_dir) as store:
        [stand_in] = store.list_profiles()
        [recovered] = store.list_chats(stand_in.id)
        assert stand_in.name == STAND_IN_NAME and recovered.id == chat.id
        assert recovered.title == "an old question" and recovered.message_count == 2
        assert [m.model_dump() for m in store.list_messages(chat.id)] == messages
    upgraded = json.loads(path.read_text())  # opened once: now at the current version, with its copy
    assert upgraded["_meta"]["schema"]["schema_version"] == migrations.current_version()
    assert upgraded["_meta"]["chat"]["record"]["chat"]["id"] == chat.id


def test_an_empty_data_folder_still_starts_empty(data_dir):
    with WorkspaceStore(data_dir) as store:
        assert store.list_profiles() == []
