"""Schema 3: chats have a kind ("chat" | "study"), profiles an optional pipeline threshold. Version-1 data
folders and version-1 backups open with both filled in; exports keep the kind."""

from __future__ import annotations

import json
import zipfile

from workspace.store import WorkspaceStore

PROFILE_ID, CHAT_ID = "00000000000000aa", "00000000000000bb"


def v1_index() -> dict:
    return {"_meta": {"schema": {"schema_version": 1, "kind": "index"}},
            "profiles": {PROFILE_ID: {"id": PROFILE_ID, "name": "Old", "created_at": 1.0, "updated_at": 1.0}},
            "chats": {CHAT_ID: {"id": CHAT_ID, "profile_id": PROFILE_ID, "title": "Old chat", "created_at": 1.0,
                                "updated_at": 2.0}}}


def v1_chat() -> dict:
    return {"_meta": {"schema": {"schema_version": 1, "kind": "chat"}, "chat": {"updated_at": 2.0}},
            "messages": {"00000000000000cc": {"id": "00000000000000cc", "role": "user", "content": "old words",
                                              "created_at": 2.0, "updated_at": 2.0}}}


def check_upgraded(store: WorkspaceStore) -> None:
    assert store.get_chat(CHAT_ID).kind == "chat"
    assert store.get_profile(PROFILE_ID).confidence_threshold is None
    assert [m.content for m in store.list_messages(CHAT_ID)] == ["old words"]


def test_a_version_1_folder_opens_with_kinds_and_thresholds(data_dir):
    (data_dir / "chats" / CHAT_ID).mkdir(parents=True)
    (data_dir / "index.json").write_text(json.dumps(v1_index()))
    (data_dir / "chats" / CHAT_ID / "chat.json").write_text(json.dumps(v1_chat()))
    with WorkspaceStore(data_dir) as store:
        check_upgraded(store)
        study = store.create_chat(PROFILE_ID, title="Learning", kind="study")
        store.update_profile(PROFILE_ID, confidence_threshold=80)
    with WorkspaceStore(data_dir) as store:
        assert store.get_chat(study.id).kind == "study"
        assert [c.id for c in store.list_chats(PROFILE_ID, kind="study")] == [study.id]
        assert [c.id for c in store.list_chats(PROFILE_ID, kind="chat")] == [CHAT_ID]
        assert store.get_profile(PROFILE_ID).confidence_threshold == 80


def test_a_version_1_backup_restores(tmp_path):
    backup = tmp_path / "old-backup.zip"
    with zipfile.ZipFile(backup, "w") as archive:
        archive.writestr("backup.json", json.dumps({"kind": "local-ai-workspace.backup", "schema_version": 1,
                                                    "created_at": 3.0}))
        archive.writestr("index.json", json.dumps(v1_index()))
        archive.writestr(f"chats/{CHAT_ID}/chat.json", json.dumps(v1_chat()))
    target = WorkspaceStore.restore_zip(backup, target_dir=tmp_path / "restored")
    with WorkspaceStore(target) as store:
        check_upgraded(store)


def test_exports_keep_the_kind_and_old_exports_import_as_chats(store, profile):
    study = store.create_chat(profile.id, title="Sessions", kind="study")
    store.append_message(study.id, "user", "what is a closure?", meta={"level": "beginner"})
    exported = store.export_chat_json(study.id)
    assert store.import_chat_json(profile.id, exported).kind == "study"
    old = {**exported, "schema_version": 1, "chat": {k: v for k, v in exported["chat"].items() if k != "kind"}}
    assert store.import_chat_json(profile.id, old).kind == "chat"


def test_the_data_folder_is_private_to_its_owner(data_dir):
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    with WorkspaceStore(data_dir):
        assert data_dir.stat().st_mode & 0o777 == 0o700


def test_a_lost_index_comes_back_with_kinds_and_thresholds(data_dir):
    with WorkspaceStore(data_dir) as store:
        profile = store.create_profile("P")
        store.update_profile(profile.id, confidence_threshold=55)
        study = store.create_chat(profile.id, title="Learning", kind="study")
        store.append_message(study.id, "user", "closures?", meta={"level": "expert"})
    (data_dir / "index.json").unlink()
    with WorkspaceStore(data_dir) as store:
        assert store.get_chat(study.id).kind == "study"
        assert store.get_profile(profile.id).confidence_threshold == 55
