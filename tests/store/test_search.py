"""Full-text search: words, case, prefixes, profile filter, snippets, trash, and a lost or damaged index."""

from __future__ import annotations

import threading

import pytest

from tests.engine.helpers import wait_for
from workspace.store import WorkspaceStore, indexing


@pytest.fixture
def corpus(store):
    work, home = store.create_profile("Work"), store.create_profile("Home")
    deploy = store.create_chat(work.id, title="Deploy")
    garden = store.create_chat(home.id, title="Garden")
    m = {
        "docker": store.append_message(deploy.id, "user", "How do I restart the Docker daemon on Debian?"),
        "answer": store.append_message(deploy.id, "assistant", "Run systemctl restart docker; then check the logs."),
        "tomato": store.append_message(garden.id, "user", "When should I plant tomatoes? Docker is not involved."),
        "long": store.append_message(garden.id, "assistant", "word " * 200 + "the needle is here " + "word " * 200),
    }
    return {"work": work, "home": home, "deploy": deploy, "garden": garden, **m}


def ids(hits):
    return [h.message_id for h in hits]


def test_all_words_any_case_newest_first(store, corpus):
    assert ids(store.search("DOCKER")) == [corpus["tomato"].id, corpus["answer"].id, corpus["docker"].id]
    assert ids(store.search("docker restart")) == [corpus["answer"].id, corpus["docker"].id]
    assert ids(store.search("restart debian")) == [corpus["docker"].id]
    assert ids(store.search("tomat")) == [corpus["tomato"].id]  # word prefixes match
    assert store.search("docker banana") == []
    assert store.search("   ") == [] and store.search("!!!") == []
    assert ids(store.search("docker", limit=1)) == [corpus["tomato"].id]


def test_hits_carry_context(store, corpus):
    hit = store.search("systemctl")[0]
    assert (hit.chat_id, hit.profile_id, hit.chat_title, hit.role) == (
        corpus["deploy"].id, corpus["work"].id, "Deploy", "assistant")
    assert "systemctl restart docker" in hit.snippet
    long_hit = store.search("needle")[0]
    assert "the needle is here" in long_hit.snippet
    assert long_hit.snippet.startswith("…") and long_hit.snippet.endswith("…") and len(long_hit.snippet) < 200


def test_profile_filter_and_moves(store, corpus):
    assert ids(store.search("docker", profile_id=corpus["work"].id)) == [corpus["answer"].id, corpus["docker"].id]
    assert ids(store.search("docker", profile_id=corpus["home"].id)) == [corpus["tomato"].id]
    store.move_chat(corpus["garden"].id, corpus["work"].id)
    assert store.search("tomatoes", profile_id=corpus["home"].id) == []
    assert ids(store.search("tomatoes", profile_id=corpus["work"].id)) == [corpus["tomato"].id]


def test_trash_excluded_until_restored(store, corpus):
    store.delete_chat(corpus["garden"].id)
    assert store.search("tomatoes") == []
    store.restore_chat(corpus["garden"].id)
    assert ids(store.search("tomatoes")) == [corpus["tomato"].id]


def test_updates_and_truncation_reach_the_index(store, corpus):
    store.update_message(corpus["deploy"].id, corpus["answer"].id, content="Use journalctl instead.")
    assert store.search("systemctl") == []
    assert ids(store.search("journalctl")) == [corpus["answer"].id]
    store.truncate_after(corpus["deploy"].id, corpus["docker"].id, inclusive=False)
    assert store.search("journalctl") == []


def with_files(store, chat_id):
    """A user message with a text file and images' analysis, and an answer, as a chat with attachments holds."""
    return store.append_message(chat_id, "user", "Why does the service crash?", images=["img-1.thumb.webp"],
                                attachments=[{"name": "server.log", "text": "ERROR kafka broker unreachable"}],
                                analysis="Image 1 (shot.png, 800×600):\nZeroDivisionError in handler")


def test_text_files_and_text_read_from_images_are_found_and_named(store, corpus):
    chat_id = corpus["deploy"].id
    message = with_files(store, chat_id)
    file_hit, = store.search("kafka unreachable")
    assert (file_hit.message_id, file_hit.source, file_hit.attachment) == (message.id, "attachment", "server.log")
    assert "kafka broker unreachable" in file_hit.snippet
    image_hit, = store.search("zerodivisionerror")
    assert (image_hit.message_id, image_hit.source, image_hit.attachment) == (message.id, "image", "")
    text_hit, = store.search("crash")
    assert (text_hit.source, text_hit.attachment) == ("message", "")
    assert store.search("kafka crash") == []  # every word in one part: the text or one file
    store.update_message(chat_id, message.id, analysis="Image 1 (shot.png, 800×600):\nKeyError")
    assert store.search("zerodivisionerror") == [] and ids(store.search("keyerror")) == [message.id]
    store.replace_from(chat_id, message.id, "user", "Edited", attachments=[{"name": "b.log", "text": "kafka"}])
    assert [(h.source, h.attachment) for h in store.search("kafka")] == [("attachment", "b.log")]
    store.truncate_after(chat_id, corpus["docker"].id)
    assert store.search("kafka") == []


def test_one_hit_per_message_in_its_text_when_the_text_holds_the_words(store, corpus):
    message = store.append_message(corpus["deploy"].id, "user", "see kafka.log",
                                   attachments=[{"name": "kafka.log", "text": "kafka"}] * 3)
    hit, = store.search("kafka")
    assert (hit.message_id, hit.source) == (message.id, "message")


def test_an_index_of_an_older_layout_is_rebuilt_with_the_attachments(data_dir):
    import sqlite3

    with WorkspaceStore(data_dir) as store:
        chat = store.create_chat(store.create_profile("P").id)
        message = with_files(store, chat.id)
    with sqlite3.connect(data_dir / "search.sqlite") as db:  # as an older version left it: no parts indexed
        db.execute("UPDATE meta SET value = '1' WHERE key = 'layout'")
        db.execute("DELETE FROM msg_fts WHERE source != 'message'")
    with WorkspaceStore(data_dir) as store:
        assert [(h.message_id, h.attachment) for h in store.search("kafka")] == [(message.id, "server.log")]
        assert [h.source for h in store.search("zerodivisionerror")] == ["image"]


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate"])
def test_index_rebuilt_when_lost_or_damaged(data_dir, damage):
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        c = store.create_chat(p.id, title="T")
        wanted = store.append_message(c.id, "user", "rebuild me please")
        store.append_message(c.id, "user", "filler " * 50)
    index = data_dir / "search.sqlite"
    if damage == "delete":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"this is not a database at all" * 200)
    else:
        index.write_bytes(index.read_bytes()[:3000])
    with WorkspaceStore(data_dir) as store:
        assert ids(store.search("rebuild")) == [wanted.id]
        assert store.list_chats(p.id)[0].message_count == 2


def test_index_damaged_while_running_is_rebuilt(store, corpus, data_dir):
    store._search.index.close()  # simulate the connection breaking under us
    store.append_message(corpus["deploy"].id, "user", "written while the index was down")
    assert len(store.search("written while")) == 1
    assert len(store.search("docker")) == 3


def test_index_catches_up_with_writes_it_missed(data_dir):
    """A process killed after the chat file was written but before the index was: caught at start."""
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        c = store.create_chat(p.id)
        store.append_message(c.id, "user", "indexed")
        store._search.state = "down"  # index updates silently skipped from here on, as if the process died
        missed = store.append_message(c.id, "user", "missed by the index")
        other = store.create_profile("Other")
        store.move_chat(c.id, other.id)
    with WorkspaceStore(data_dir) as store:
        assert ids(store.search("missed", profile_id=other.id)) == [missed.id]
        assert store.get_chat(c.id).message_count == 2


def _blocked_rebuild(monkeypatch):
    """Hold the background rebuild inside its first chat file until the returned event is set."""
    gate = threading.Event()
    real = indexing.scan_chat_file

    def slow(path):
        gate.wait(10)
        return real(path)

    monkeypatch.setattr(indexing, "scan_chat_file", slow)
    return gate


def test_writes_during_a_background_rebuild_are_caught_up(monkeypatch, data_dir):
    with WorkspaceStore(data_dir) as store:
        p1, p2 = store.create_profile("One"), store.create_profile("Two")
        a, b, c = (store.create_chat(p1.id, title=t) for t in "abc")
        for chat, word in ((a, "alpha"), (b, "bravo"), (c, "charlie")):
            store.append_message(chat.id, "user", f"{word} text")
    (data_dir / "search.sqlite").unlink()
    gate = _blocked_rebuild(monkeypatch)
    with WorkspaceStore(data_dir) as store:  # opens at once; the index is built behind it
        assert store._search.state == "building"
        assert [x.id for x in store.list_chats(p1.id)] == [c.id, b.id, a.id]
        added = store.append_message(a.id, "user", "added during the rebuild")
        store.move_chat(b.id, p2.id)
        store.delete_chat(c.id)
        gate.set()
        assert ids(store.search("during rebuild")) == [added.id]
        assert len(store.search("bravo", profile_id=p2.id)) == 1
        assert store.search("bravo", profile_id=p1.id) == [] and store.search("charlie") == []
        assert store.get_chat(a.id).message_count == 2


def test_close_during_a_background_rebuild(monkeypatch, data_dir):
    with WorkspaceStore(data_dir) as store:
        p = store.create_profile("P")
        store.append_message(store.create_chat(p.id).id, "user", "findable")
    (data_dir / "search.sqlite").unlink()
    gate = _blocked_rebuild(monkeypatch)
    store = WorkspaceStore(data_dir)

    def release_once_stopping():  # the rebuild is held until close() has asked it to stop
        wait_for(lambda: store._search._stopping, "close() to stop the rebuild")
        gate.set()

    threading.Thread(target=release_once_stopping, daemon=True).start()
    store.close()  # cancels the rebuild and waits for it
    assert not list(data_dir.glob("search.sqlite*"))
    monkeypatch.undo()
    with WorkspaceStore(data_dir) as store:
        assert len(store.search("findable")) == 1
