"""Ids are generated, strictly checked, and can never be used to reach outside the data folder."""

from __future__ import annotations

import pytest

from workspace.store import InvalidInput, NotFound
from workspace.store.ids import check_file_name, check_id, new_id

HOSTILE_IDS = [
    "../0123456789abcdef", "../../etc/passwd", "/etc/passwd", "/0123456789abcdef", "", ".", "..",
    "0123456789abcdef/..", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdef\n",
    "0123456789abcde\x00", "０１２３４５６７８９ａｂｃｄｅｆ", "0123456789abcdeé", "012345678٩abcdef", "C:\\x",
    None, 12345678, b"0123456789abcdef",
]


def test_new_ids_are_valid_and_distinct():
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(check_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_check_id_rejects(bad):
    with pytest.raises(InvalidInput):
        check_id(bad)


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_store_never_joins_a_bad_id_into_a_path(store, profile, chat, bad, data_dir):
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    for call in (lambda: store.get_chat(bad), lambda: store.list_messages(bad), lambda: store.chat_dir(bad),
                 lambda: store.append_message(bad, "user", "x"), lambda: store.get_profile(bad),
                 lambda: store.create_chat(bad), lambda: store.get_message(chat.id, bad),
                 lambda: store.delete_chat(bad), lambda: store.move_chat(chat.id, bad),
                 lambda: store.list_chats(bad)) + ((lambda: store.search("x", profile_id=bad)),) * (bad is not None):
        with pytest.raises(InvalidInput):
            call()
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before


def test_well_formed_unknown_id_is_not_found(store):
    with pytest.raises(NotFound):
        store.get_chat("0123456789abcdef")


@pytest.mark.parametrize("bad", ["../x.png", "/abs.png", "", ".hidden", "a/b.png", "a\\b.png", "x\x00.png",
                                 "..", "ok..png", "é.png", "x" * 200])
def test_image_names_must_stay_in_the_chat_folder(store, chat, bad):
    with pytest.raises(InvalidInput):
        check_file_name(bad)
    with pytest.raises(InvalidInput):
        store.append_message(chat.id, "user", "look", images=[bad])


def test_good_image_names_are_kept(store, chat):
    message = store.append_message(chat.id, "user", "look", images=["thumb-1.webp", "img_2.png"])
    assert store.get_message(chat.id, message.id).images == ["thumb-1.webp", "img_2.png"]
    assert store.chat_dir(chat.id).is_dir()
