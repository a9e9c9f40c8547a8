"""A chat's images travel in its JSON export (base64) and come back on import, read as a stream; hostile
file entries are refused with nothing imported and nothing left behind."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest

from workspace.store import InvalidInput

THUMB = b"RIFF\x24\x00\x00\x00WEBPVP8 " + os.urandom(64)  # the bytes a WebP starts with
ORIGINAL = b"\x89PNG\r\n\x1a\n" + os.urandom(5 * 2**20)  # 5 MB: more than one read of a stream


def with_image(store, chat, name="img-0123456789abcdef"):
    folder = store.chat_dir(chat.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.thumb.webp").write_bytes(THUMB)
    (folder / f"{name}.png").write_bytes(ORIGINAL)
    store.append_message(chat.id, "user", "look", images=[f"{name}.thumb.webp"])
    return f"{name}.thumb.webp"


class ChunkedReader:
    """A stream that refuses to be read whole: every read must ask for a bounded size."""

    def __init__(self, data: bytes):
        self.source, self.largest = io.BytesIO(data), 0

    def read(self, size: int = -1) -> bytes:
        assert 0 <= size <= 2**20, "the export was read whole"  # ijson probes with read(0)
        self.largest = max(self.largest, size)
        return self.source.read(size)


def test_images_go_out_as_base64_and_come_back_on_import_from_a_stream(store, profile, chat):
    thumb = with_image(store, chat)
    exported = store.export_chat_json(chat.id)
    assert base64.b64decode(exported["files"][thumb]) == THUMB
    assert base64.b64decode(exported["files"][thumb.replace(".thumb.webp", ".png")]) == ORIGINAL
    for imported in (store.import_chat_json(profile.id, json.loads(json.dumps(exported))),
                     store.import_chat_stream(profile.id, ChunkedReader(json.dumps(exported).encode()))):
        message = store.list_messages(imported.id)[0]
        assert message.images == [thumb]
        folder = store.chat_dir(imported.id)
        assert (folder / thumb).read_bytes() == THUMB
        assert (folder / thumb.replace(".thumb.webp", ".png")).read_bytes() == ORIGINAL
        store.delete_chat(imported.id)
        store.purge_deleted()
        assert not folder.exists()  # deleting the chat deletes its images


def test_an_export_without_files_imports_without_images(store, profile, chat):
    with_image(store, chat)
    exported = store.export_chat_json(chat.id)
    del exported["files"]
    imported = store.import_chat_json(profile.id, exported)
    assert store.list_messages(imported.id)[0].images == []


@pytest.mark.parametrize("files", [
    {"../chat.json": base64.b64encode(THUMB).decode()},
    {"chat.json": base64.b64encode(THUMB).decode()},
    {"img-0123456789abcdef.thumb.webp": "not base64!"},
    {"img-0123456789abcdef.thumb.webp": base64.b64encode(b"<html>").decode()},
    {"img-0123456789abcdef.png": base64.b64encode(THUMB).decode()},  # a WebP under a PNG name
    {"img-0123456789abcdef.png": {"nested": "x"}},
    "not an object",
])
def test_hostile_files_are_refused_and_leave_nothing(store, profile, chat, files):
    with_image(store, chat)
    exported = {**store.export_chat_json(chat.id), "files": files}
    before = store.list_chats(profile.id)
    for attempt in (lambda: store.import_chat_json(profile.id, exported),
                    lambda: store.import_chat_stream(profile.id, io.BytesIO(json.dumps(exported).encode()))):
        with pytest.raises(InvalidInput, match="Nothing was imported"):
            attempt()
        assert store.list_chats(profile.id) == before
        assert list((store.data_dir / "pending").iterdir()) == []


def test_files_over_the_limit_and_broken_json_are_refused(store, profile, chat):
    with_image(store, chat)
    body = json.dumps(store.export_chat_json(chat.id)).encode()
    with pytest.raises(InvalidInput, match="larger than the import limit"):
        store.import_chat_stream(profile.id, io.BytesIO(body), max_bytes=2**20)
    for broken in (body[: len(body) // 2], b'{"n": ' + b"9" * 5001 + b"}", b"\xff\xfe{}", b"[" * 100_000):
        with pytest.raises(InvalidInput, match="not a chat export"):
            store.import_chat_stream(profile.id, io.BytesIO(broken))
    assert len(store.list_chats(profile.id)) == 1
    assert list((store.data_dir / "pending").iterdir()) == []


def test_text_attachments_travel_in_both_exports(store, profile, chat):
    source = "x = `a` ```b```\n"
    store.append_message(chat.id, "user", "see", attachments=[{"name": "a.py", "text": source}])
    imported = store.import_chat_json(profile.id, json.loads(json.dumps(store.export_chat_json(chat.id))))
    assert [a.model_dump() for a in store.list_messages(imported.id)[0].attachments] == [{"name": "a.py",
                                                                                         "text": source}]
    assert "**a.py**\n\n````\nx = `a` ```b```\n````" in store.export_chat_markdown(chat.id)


def test_a_deeply_nested_export_is_refused_at_once_without_building_paths():
    # ijson's prefixed events carry the dotted path of every value, which grows with the nesting: 100,000
    # brackets took gigabytes and the process was killed before read_export used the basic events.
    from workspace.store.portable import read_export
    deep = ('{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    with pytest.raises(InvalidInput, match="nested too deeply"):
        read_export(io.BytesIO(deep), lambda name, text: None)
