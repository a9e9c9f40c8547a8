"""Export, import, backup and restore: round trips, and hostile input refused with nothing written."""

from __future__ import annotations

import copy
import json
import stat
import zipfile

import pytest

from tests.store.helpers import snapshot
from workspace.store import (
    InvalidInput,
    SchemaTooNew,
    TargetNotEmpty,
    WorkspaceStore,
    transfer,
)


@pytest.fixture
def filled(store, profile, chat):
    store.append_message(chat.id, "system", "You are terse.")
    store.append_message(chat.id, "user", "Explain **recursion** in one line.", images=["img-1.png"])
    store.append_message(chat.id, "assistant", "A function calling itself.", model="qwen", backend="engine",
                         stats={"eval_count": 7}, meta={"num_ctx": 2048})
    store.append_message(chat.id, "assistant", "half an ans", status="stopped", error="Stopped by you.")
    store.update_chat(chat.id, pinned=True, model_overrides={"CHAT": "qwen"})
    return chat


def test_json_round_trip(store, profile, filled):
    exported = store.export_chat_json(filled.id)
    assert exported["schema_version"] >= 1 and exported["kind"] == transfer.EXPORT_KIND
    json.dumps(exported)  # plain JSON
    other = store.create_profile("Other")
    imported = store.import_chat_json(other.id, json.loads(json.dumps(exported)))
    assert imported.id != filled.id and imported.profile_id == other.id
    assert (imported.title, imported.pinned, imported.model_overrides) == ("First chat", True, {"CHAT": "qwen"})
    old, new = store.list_messages(filled.id), store.list_messages(imported.id)
    assert [m.model_dump(exclude={"id", "images"}) for m in new] == \
           [m.model_dump(exclude={"id", "images"}) for m in old]
    assert not {m.id for m in new} & {m.id for m in old}
    assert all(m.images == [] for m in new)  # the export carries no image files; names are not trusted
    assert len(store.search("recursion")) == 2


def test_markdown_holds_the_conversation(store, filled):
    text = store.export_chat_markdown(filled.id)
    assert text.startswith("# First chat")
    for content in ("You are terse.", "Explain **recursion** in one line.", "A function calling itself."):
        assert content in text
    assert "### Assistant (qwen)" in text and "stopped" in text and "Project X" in text


def hostile_variants(good: dict) -> list[tuple[str, object]]:
    def changed(fn):
        data = copy.deepcopy(good)
        fn(data)
        return data
    return [
        ("not an object", [good]),
        ("wrong kind", changed(lambda d: d.update(kind="something else"))),
        ("extra top key", changed(lambda d: d.update(evil=1))),
        ("version missing", changed(lambda d: d.pop("schema_version"))),
        ("version is text", changed(lambda d: d.update(schema_version="1"))),
        ("messages not list", changed(lambda d: d.update(messages={"a": 1}))),
        ("message not object", changed(lambda d: d["messages"].append("hi"))),
        ("bad role", changed(lambda d: d["messages"][0].update(role="root"))),
        ("unknown message field", changed(lambda d: d["messages"][0].update(path="/etc/passwd"))),
        ("image path escapes", changed(lambda d: d["messages"][0].update(images=["../../etc/passwd"]))),
        ("absolute image path", changed(lambda d: d["messages"][0].update(images=["/etc/passwd"]))),
        ("huge content", changed(lambda d: d["messages"][0].update(content="x" * 2_000_001))),
        ("nested stats", changed(lambda d: d["messages"][0].update(stats={"a": {"b": 1}}))),
        ("nan stats", changed(lambda d: d["messages"][0].update(stats={"a": float("nan")}))),
        ("title not text", changed(lambda d: d["chat"].update(title=["x"]))),
        ("unknown chat key", changed(lambda d: d["chat"].update(folder="../../x"))),
        ("negative time", changed(lambda d: d["messages"][0].update(created_at=-5))),
    ]


def test_hostile_imports_are_refused_and_write_nothing(store, profile, filled, data_dir):
    good = store.export_chat_json(filled.id)
    before = (snapshot(store), sorted(p.name for p in (data_dir / "chats").iterdir()))
    for name, data in hostile_variants(good):
        with pytest.raises(InvalidInput):
            store.import_chat_json(profile.id, data)
        assert (snapshot(store), sorted(p.name for p in (data_dir / "chats").iterdir())) == before, name


def test_import_limits_and_versions(monkeypatch, store, profile, filled):
    good = store.export_chat_json(filled.id)
    with pytest.raises(SchemaTooNew):
        store.import_chat_json(profile.id, {**good, "schema_version": 99})
    monkeypatch.setattr(transfer, "MAX_IMPORT_MESSAGES", 3)
    with pytest.raises(InvalidInput, match="more than 3 messages"):
        store.import_chat_json(profile.id, good)
    monkeypatch.setattr(transfer, "MAX_IMPORT_MESSAGES", 100)
    monkeypatch.setattr(transfer, "MAX_IMPORT_CHARS", 20)
    with pytest.raises(InvalidInput, match="characters"):
        store.import_chat_json(profile.id, good)


def test_backup_then_restore_gives_the_same_data(store, filled, tmp_path):
    (store.chat_dir(filled.id) / "img-1.png").write_bytes(b"\x89PNG fake")
    other = store.create_profile("Second")
    store.append_message(store.create_chat(other.id, title="b").id, "user", "second profile text")
    store.delete_chat(store.create_chat(other.id, title="trash").id)
    zip_path = store.backup_zip(tmp_path / "backup.zip")
    assert zip_path.exists() and not list(tmp_path.glob(".*.tmp"))
    assert not list(store.data_dir.glob(".backup-*"))
    target = tmp_path / "restored"
    WorkspaceStore.restore_zip(zip_path, target_dir=target)
    with WorkspaceStore(target) as restored:
        assert snapshot(restored) == snapshot(store)
        assert (restored.chat_dir(filled.id) / "img-1.png").read_bytes() == b"\x89PNG fake"
        assert len(restored.search("second profile")) == 1


def test_restore_refuses_a_non_empty_target(store, filled, tmp_path):
    zip_path = store.backup_zip(tmp_path / "backup.zip")
    target = tmp_path / "busy"
    target.mkdir()
    (target / "precious.txt").write_text("mine")
    with pytest.raises(TargetNotEmpty):
        WorkspaceStore.restore_zip(zip_path, target_dir=target)
    assert [p.name for p in target.iterdir()] == ["precious.txt"]
    with pytest.raises(TargetNotEmpty):
        WorkspaceStore.restore_zip(zip_path, target_dir=store.data_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    WorkspaceStore.restore_zip(zip_path, target_dir=empty)
    assert (empty / "index.json").exists()


def evil_zip(path, members: dict[str, bytes], *, symlink: str | None = None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("index.json", json.dumps({"profiles": {}, "chats": {}}))
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize("member", ["../escape.txt", "chats/../../escape.txt", "/abs/escape.txt",
                                    "chats/0123456789abcdef/../../x", "chats/not-an-id/chat.json",
                                    "chats\\0123456789abcdef\\chat.json", "other.txt", "C:/x.txt"])
def test_restore_rejects_unsafe_members(tmp_path, member):
    zip_path = evil_zip(tmp_path / "evil.zip", {member: b"x"})
    with pytest.raises(InvalidInput, match="unsafe|unexpected"):
        WorkspaceStore.restore_zip(zip_path, target_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["evil.zip"]


def test_restore_rejects_links_oversize_and_junk(monkeypatch, tmp_path):
    link = evil_zip(tmp_path / "link.zip", {}, symlink="chats/0123456789abcdef/chat.json")
    with pytest.raises(InvalidInput, match="link"):
        WorkspaceStore.restore_zip(link, target_dir=tmp_path / "out")
    monkeypatch.setattr(transfer, "MAX_MEMBER_BYTES", 1000)
    big = evil_zip(tmp_path / "big.zip", {"chats/0123456789abcdef/chat.json": b"0" * 5000})
    with pytest.raises(InvalidInput, match="larger"):
        WorkspaceStore.restore_zip(big, target_dir=tmp_path / "out")
    (tmp_path / "junk.zip").write_bytes(b"PK not really")
    with pytest.raises(InvalidInput, match="zip"):
        WorkspaceStore.restore_zip(tmp_path / "junk.zip", target_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.zip", "junk.zip", "link.zip"]


def test_restore_rejects_a_backup_whose_chat_is_damaged(store, filled, tmp_path):
    zip_path = store.backup_zip(tmp_path / "backup.zip")
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[:10] if info.filename.endswith("chat.json") else data)
    with pytest.raises(Exception, match="damaged"):
        WorkspaceStore.restore_zip(bad, target_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.zip", "bad.zip", "data"]
