"""The derived search index, `search.sqlite`: SQLite FTS5 over every message, plus each chat's activity.

Each message is indexed as parts, one FTS row each: its text (part 0), each of its text files, and the text
read from its images. A hit names the part it was found in; the words of a query must all be in one part.

The chat files stay the source of truth. This file is only a cache that makes two things fast without
reading 5,000 chat files at start: full-text search, and each chat's activity (updated_at, count,
preview) for newest-first lists. It is updated in the same step as each chat-file write (WAL,
synchronous=NORMAL: no fsync on the append path), and it is checked against the chat files at start by
a stat signature per chat (a process killed between the two writes, or a power cut that lost the last
WAL commits, shows up as a changed signature and that chat is re-read). If the file is missing,
damaged or of an older layout it is deleted and rebuilt from the chat files.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from workspace.store.chatfile import Activity, Row

SEARCH_FILE = "search.sqlite"
LAYOUT = "2"  # bump when the tables below change: old files are then rebuilt, never migrated
MAX_WORDS = 16
EXPAND_MAX = 64  # a query word that begins more indexed words than this is left to FTS5's prefix search
BULK_CACHE_KIB = 64 * 1024  # page cache while rebuilding (freed when the rebuild ends)
_WORD = re.compile(r"\w+")
_PLAIN = re.compile(r"[a-z0-9]+")  # words FTS5's unicode61 tokenizer keeps as they are (once lower-cased)
_VOCAB = "msg_terms"  # a per-connection (temp) fts5vocab view of msg_fts: its term list
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE chat_state(chat_id TEXT PRIMARY KEY, profile_id TEXT NOT NULL, updated_at REAL NOT NULL,
                        message_count INTEGER NOT NULL, preview TEXT NOT NULL, sig TEXT NOT NULL);
CREATE TABLE msg_map(chat_id TEXT NOT NULL, message_id TEXT NOT NULL, part INTEGER NOT NULL,
                     rid INTEGER NOT NULL UNIQUE, PRIMARY KEY (chat_id, message_id, part)) WITHOUT ROWID;
CREATE VIRTUAL TABLE msg_fts USING fts5(content, profile, chat_id UNINDEXED, message_id UNINDEXED,
                                        role UNINDEXED, created_at UNINDEXED, source UNINDEXED, name UNINDEXED,
                                        prefix = '2', tokenize = 'unicode61 remove_diacritics 2');
"""


class ChatState(NamedTuple):
    """What the index knows of a chat: its profile, its activity, and the chat-file signature it saw."""

    profile_id: str
    activity: Activity
    sig: str


# (rowid, chat_id, message_id, role, created_at, content, source, name): content is the text of the part hit
Hit = tuple[int, str, str, str, float, str, str, str]
MESSAGE = "message"  # the source of a message's own text


def query_words(query: str) -> list[str]:
    """The words of a query as FTS5 sees them (letters and digits), at most MAX_WORDS of 64 chars."""
    return [word[:64] for word in _WORD.findall(query)][:MAX_WORDS]


class SearchIndex:
    """One SQLite connection (the store's lock serialises its use across threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._vocab = False  # whether this connection has made its temp term-list table

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> bool:
        """Open the index; False (and no file left) if it is missing, damaged or outdated: rebuild it."""
        if self.path.exists():
            try:
                self._connect()
                row = self.db.execute("SELECT value FROM meta WHERE key = 'layout'").fetchone()
                if row is not None and row[0] == LAYOUT:
                    return True
            except sqlite3.DatabaseError:
                pass  # not a database, damaged, or a table missing: all mean "rebuild"
        self.delete()
        return False

    def reset(self, *, bulk: bool = False) -> None:
        """Delete the index files and create an empty index; `bulk`: see `_connect`."""
        self.delete()
        self._connect(bulk=bulk)
        self.db.executescript(f"BEGIN; {_SCHEMA} INSERT INTO meta VALUES ('layout', '{LAYOUT}'); COMMIT;")

    def delete(self) -> None:
        """Close and remove the index with its WAL files (a stale WAL must never meet a new database)."""
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _connect(self, *, bulk: bool = False) -> None:
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._vocab = False
        if bulk:
            # A rebuild fills a new file that nobody reads until it is complete, synced (`sync`) and renamed
            # into place; a crash leaves only that file, which the next rebuild deletes first. So no journal
            # (a WAL would write every page twice) and no fsync per commit; a big cache, as the FTS segments
            # and the msg_map b-tree outgrow the default 2 MB many times over.
            for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{BULK_CACHE_KIB}"):
                self._db.execute(f"PRAGMA {pragma}")
        else:
            self._db.execute("PRAGMA journal_mode = WAL")
            # Derived data: losing the last commits in a power cut is repaired by the signature check.
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA temp_store = MEMORY")

    def sync(self) -> None:
        """Close, then flush the file to disk (after a bulk build, before it is renamed into place)."""
        self.close()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.ProgrammingError("search index is closed")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            self._vocab = False

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)

    # -- chat activity ------------------------------------------------------------------------
    def states(self) -> dict[str, ChatState]:
        rows = self.db.execute("SELECT chat_id, profile_id, updated_at, message_count, preview, sig FROM chat_state")
        return {r[0]: ChatState(r[1], Activity(r[2], r[3], r[4]), r[5]) for r in rows}

    @staticmethod
    def _put_state(db: sqlite3.Connection, chat_id: str, profile_id: str, activity: Activity, sig: str) -> None:
        db.execute("INSERT OR REPLACE INTO chat_state VALUES (?, ?, ?, ?, ?, ?)",
                   (chat_id, profile_id, activity.updated_at, activity.message_count, activity.preview, sig))

    # -- writes ---------------------------------------------------------------------------------
    def put_message(self, chat_id: str, profile_id: str, row: Row, activity: Activity, sig: str) -> None:
        """Add a message, or replace it if it is already indexed; and record the chat's state."""
        with self._tx() as db:
            found = db.execute("SELECT part, rid FROM msg_map WHERE chat_id = ? AND message_id = ?",
                               (chat_id, row[0])).fetchall()
            if len(found) == 1 and found[0][0] == 0 and not row[4]:  # text alone: an answer as it streams
                db.execute("UPDATE msg_fts SET content = ? WHERE rowid = ?", (row[2], found[0][1]))
            else:
                self._drop(db, chat_id, [row[0]])
                self._insert_many(db, chat_id, profile_id, [row], None)
            self._put_state(db, chat_id, profile_id, activity, sig)

    def put_chat(self, chat_id: str, profile_id: str, rows: Iterable[Row], activity: Activity, sig: str) -> None:
        """Replace everything indexed for one chat."""
        self.put_chats([(chat_id, profile_id, list(rows), activity, sig)])

    def put_chats(self, chats: Iterable[tuple[str, str, list[Row], Activity, str]], *, fresh: bool = False) -> None:
        """(Re)index whole chats in one transaction; `fresh` = the index was just reset, nothing to drop."""
        used: set[int] | None = set() if fresh else None  # else ask the table which rowids are taken
        with self._tx() as db:
            for chat_id, profile_id, rows, activity, sig in chats:
                if not fresh:
                    self._drop(db, chat_id)
                self._insert_many(db, chat_id, profile_id, rows, used)
                self._put_state(db, chat_id, profile_id, activity, sig)

    def drop_messages(self, chat_id: str, profile_id: str, message_ids: list[str], activity: Activity,
                      sig: str) -> None:
        with self._tx() as db:
            self._drop(db, chat_id, message_ids)
            self._put_state(db, chat_id, profile_id, activity, sig)

    def move_chat(self, chat_id: str, profile_id: str) -> None:
        with self._tx() as db:
            rids = db.execute("SELECT rid FROM msg_map WHERE chat_id = ?", (chat_id,)).fetchall()
            db.executemany("UPDATE msg_fts SET profile = ? WHERE rowid = ?", [(profile_id, r[0]) for r in rids])
            db.execute("UPDATE chat_state SET profile_id = ? WHERE chat_id = ?", (profile_id, chat_id))

    def drop_chats(self, chat_ids: Iterable[str]) -> None:
        with self._tx() as db:
            for chat_id in chat_ids:
                self._drop(db, chat_id)
                db.execute("DELETE FROM chat_state WHERE chat_id = ?", (chat_id,))

    @staticmethod
    def _drop(db: sqlite3.Connection, chat_id: str, message_ids: Iterable[str] | None = None) -> None:
        """Unindex a chat's messages (all of them, or the given ones), by rowid: FTS5's fast path."""
        if message_ids is None:
            rids = db.execute("SELECT rid FROM msg_map WHERE chat_id = ?", (chat_id,)).fetchall()
        else:
            rids = [row for mid in message_ids for row in db.execute(
                "SELECT rid FROM msg_map WHERE chat_id = ? AND message_id = ?", (chat_id, mid))]
        db.executemany("DELETE FROM msg_fts WHERE rowid = ?", rids)
        db.executemany("DELETE FROM msg_map WHERE rid = ?", rids)

    @staticmethod
    def _insert_many(db: sqlite3.Connection, chat_id: str, profile_id: str, rows: Iterable[Row],
                     used: set[int] | None) -> None:
        maps, texts = [], []
        for message_id, role, content, created_at, extra in rows:
            for part, (source, name, text) in enumerate(((MESSAGE, "", content), *extra)):
                # rowid = creation time in µs, so FTS5 walks matches newest first without sorting them.
                rid = int(created_at * 1_000_000)
                while (rid in used) if used is not None else db.execute(
                        "SELECT 1 FROM msg_map WHERE rid = ?", (rid,)).fetchone():
                    rid += 1
                if used is not None:
                    used.add(rid)
                    maps.append((chat_id, message_id, part, rid))
                else:  # inserted at once, so the next row of this batch sees this rowid as taken
                    db.execute("INSERT INTO msg_map VALUES (?, ?, ?, ?)", (chat_id, message_id, part, rid))
                texts.append((rid, text, profile_id, chat_id, message_id, role, created_at, source, name))
        db.executemany("INSERT INTO msg_map VALUES (?, ?, ?, ?)", maps)
        db.executemany("INSERT INTO msg_fts(rowid, content, profile, chat_id, message_id, role, created_at, source, "
                       "name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", texts)

    # -- search ---------------------------------------------------------------------------------
    def search(self, words: list[str], profile_id: str | None, accept: Callable[[str], bool],
               limit: int) -> list[Hit]:
        """Messages holding every word (as a word prefix, any case) in one part, newest first, in accepted chats;
        one hit per message, in its text when the text holds the words.

        The profile is part of the FTS match (an indexed column), so a profile with few hits is found
        without walking every other profile's matches; `accept` only weeds out chats in the trash.
        """
        match = self.match(words, profile_id) if limit > 0 else None
        if match is None:
            return []
        keep: dict[tuple[str, str], int] = {}  # a message's parts have neighbouring rowids: they come together
        cursor = self.db.execute("SELECT rowid, chat_id, message_id, source FROM msg_fts WHERE msg_fts MATCH ? "
                                 "ORDER BY rowid DESC", (match,))
        for rowid, chat_id, message_id, source in cursor:
            key = (chat_id, message_id)
            if key in keep:
                if source == MESSAGE:
                    keep[key] = rowid
            elif len(keep) < limit and accept(chat_id):
                keep[key] = rowid
            elif len(keep) >= limit:
                break
        cursor.close()
        found = [self.db.execute("SELECT rowid, chat_id, message_id, role, created_at, content, source, name "
                                 "FROM msg_fts WHERE rowid = ?", (rowid,)).fetchone() for rowid in keep.values()]
        return [hit for hit in found if hit is not None]

    def match(self, words: list[str], profile_id: str | None = None) -> str | None:
        """The FTS5 query for `words` (each a word prefix, all in one part), or None when nothing can match
        (no words, or a word that begins no indexed word)."""
        groups = []
        for word in words:
            group = self._word_match(word)
            if group is None:
                return None
            groups.append(group)
        if not groups:
            return None
        return f"content : ({' AND '.join(groups)})" + (f' AND profile : "{profile_id}"' if profile_id else "")

    def _word_match(self, word: str) -> str | None:
        """One query word as FTS5 query text: a prefix spelled out as the indexed words it begins, ORed.

        FTS5 answers a prefix term (`"pyth"*`) by merging the whole list of rows of every word under it
        before it returns the first row (at a million messages, ~1 s for a common word), whereas ORed plain
        terms are walked lazily, newest first, and stop at the limit. A one-letter word matches only itself
        (as a prefix it would match nearly everything); a two-letter prefix has its own FTS5 prefix index
        (`prefix = '2'`), as cheap as a plain term; a word that is not plain ASCII letters and digits is left
        to FTS5's own folding (accents, other scripts, `snake_case` split in two), as is a prefix of more
        than EXPAND_MAX indexed words.
        """
        quoted = '"' + word.replace('"', '""') + '"'
        if len(word) == 1:
            return quoted
        lowered = word.lower()
        if len(word) == 2 or not (word.isascii() and _PLAIN.fullmatch(lowered)):
            return quoted + "*"
        terms = self._words_beginning(lowered, EXPAND_MAX + 1)
        if not terms:
            return None
        if len(terms) > EXPAND_MAX:
            return quoted + "*"
        return "(" + " OR ".join(f'"{term}"' for term in terms) + ")"

    def _words_beginning(self, prefix: str, most: int) -> list[str]:
        """Up to `most` indexed words that begin with `prefix` (lower-case ASCII), in order, from FTS5's term
        list: one seek per word (`fts5vocab` 'instance' rows are read lazily; its 'row' table would count
        every occurrence of each word). A word whose rows were all deleted may still be listed: harmless."""
        if not self._vocab:
            self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{_VOCAB} "
                            "USING fts5vocab(main, msg_fts, instance)")
            self._vocab = True
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        found: list[str] = []
        after = prefix
        while len(found) < most:
            row = self.db.execute(f"SELECT term FROM temp.{_VOCAB} WHERE term >= ? AND term < ? LIMIT 1",
                                  (after, end)).fetchone()
            if row is None:
                break
            found.append(row[0])
            after = row[0] + "\x01"  # the next word after this one (no word holds a control character)
        return found


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK on any error (explicit: the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")


def snippet(content: str, words: list[str], width: int = 160) -> str:
    """About `width` characters of `content` on one line, around the first place a query word occurs."""
    flat = " ".join(content.split())
    found = re.search("|".join(re.escape(word) for word in words), flat, re.IGNORECASE) if words else None
    start = found.start() if found else 0
    begin = max(0, start - width // 3)
    if begin > 0:  # start on a word boundary
        space = flat.find(" ", begin, start)
        begin = space + 1 if space != -1 else begin
    end = min(len(flat), begin + width)
    return ("…" if begin > 0 else "") + flat[begin:end] + ("…" if end < len(flat) else "")
