"""The FTS5 query a search runs: a word prefix spelled out as the indexed words it begins (plain terms, ORed,
which FTS5 walks lazily newest first), and the cases left to FTS5's own prefix search; results as before."""

from __future__ import annotations

import pytest

from workspace.store import search


@pytest.fixture
def pyth(store, chat):
    texts = ["I like Python", "a pythonic loop", "two Pythons here", "a pyramid", "typhoon season"]
    return [store.append_message(chat.id, "user", text) for text in texts]


def ids(hits):
    return [h.message_id for h in hits]


def test_a_prefix_is_spelled_out_as_the_indexed_words_it_begins(store, pyth):
    index = store._search.index
    assert index.match(["Pyth"]) == 'content : (("python" OR "pythonic" OR "pythons"))'
    assert index.match(["python", "loop"]) == 'content : (("python" OR "pythonic" OR "pythons") AND ("loop"))'
    assert index.match(["pyra"], "P1") == 'content : (("pyramid")) AND profile : "P1"'
    assert ids(store.search("pyth")) == [pyth[2].id, pyth[1].id, pyth[0].id]  # newest first, as before
    assert ids(store.search("PYTHON")) == [pyth[2].id, pyth[1].id, pyth[0].id]  # a whole word is a prefix too
    assert ids(store.search("pythonic loop")) == [pyth[1].id]


def test_a_word_that_begins_no_indexed_word_matches_nothing_without_a_query(store, pyth):
    index = store._search.index
    assert index.match(["python", "zzz"]) is None and index.match([]) is None
    assert store.search("python zzz") == [] and store.search("pythonx") == []


def test_short_and_unplain_words_are_left_to_fts5(store, chat):
    index = store._search.index
    assert index.match(["a"]) == 'content : ("a")'  # one letter: the whole word only
    assert index.match(["py"]) == 'content : ("py"*)'  # two letters: FTS5's own prefix index
    assert index.match(["naïv"]) == 'content : ("naïv"*)'  # accents: FTS5 folds them
    assert index.match(["snake_ca"]) == 'content : ("snake_ca"*)'  # FTS5 splits it into two words
    naive = store.append_message(chat.id, "user", "a naive question")
    accented = store.append_message(chat.id, "user", "a naïve question")
    snake = store.append_message(chat.id, "user", "call snake_case here")
    assert ids(store.search("NAÏV")) == [accented.id, naive.id]
    assert ids(store.search("snake_ca")) == [snake.id]
    assert ids(store.search("sna")) == [snake.id]


def test_a_prefix_of_too_many_words_is_left_to_fts5(store, pyth, monkeypatch):
    monkeypatch.setattr(search, "EXPAND_MAX", 2)
    assert store._search.index.match(["pyth"]) == 'content : ("pyth"*)'
    assert store._search.index.match(["pyra"]) == 'content : (("pyramid"))'
    assert ids(store.search("pyth")) == [pyth[2].id, pyth[1].id, pyth[0].id]


def test_words_whose_messages_are_gone_do_not_change_the_results(store, chat, pyth):
    store.truncate_after(chat.id, pyth[0].id)  # "pythonic" and "pythons" are no longer in any message
    assert ids(store.search("pyth")) == [pyth[0].id]
    assert store.search("pythoni") == []
    store._search.index.close()  # a new connection makes its term list again
    store._search.index.open()
    assert ids(store.search("pyth")) == [pyth[0].id]
