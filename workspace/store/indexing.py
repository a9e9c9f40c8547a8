"""Keeping the derived search index (search.py) in step with the chat files, and repairing it.

At start it re-reads only the chats whose file signature changed since they were indexed (a process
killed between the chat-file write and the index update, or a power cut that lost the last WAL
commits), fixes profile moves the index missed, and drops chats that no longer exist. A missing,
damaged or outdated index is rebuilt from every chat file. An index write that fails never fails the
store's write (the chat file already holds the data): the index is marked broken and rebuilt before
the next search.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from loguru import logger

from workspace.store.chatfile import (
    CHAT_FILE,
    Activity,
    Row,
    file_signature,
    scan_chat_file,
)
from workspace.store.errors import StoreError
from workspace.store.records import ChatMeta
from workspace.store.search import ChatState, SearchIndex

T = TypeVar("T")


class SearchKeeper:
    """Owns the SearchIndex; `chats` is the store's live chat-metadata dict (read here, never written)."""

    def __init__(self, data_dir: Path, chats_dir: Path, chats: dict[str, ChatMeta]) -> None:
        self.index = SearchIndex(data_dir)
        self.chats_dir, self.chats = chats_dir, chats
        self.ok = False

    def start(self) -> dict[str, ChatState]:
        """Open, check and repair the index; returns what it knows of each chat ({} if unavailable)."""
        try:
            if self.index.open():
                self._sync()
            else:
                self.rebuild()
            self.ok = True
            return self.index.states()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("Search index unavailable ({}); it will be rebuilt on the next search.", exc)
            return {}

    def _sync(self) -> None:
        states = self.index.states()
        gone = [cid for cid in states if cid not in self.chats]
        if gone:
            self.index.drop_chats(gone)
        base = str(self.chats_dir)  # plain strings: 5,000 pathlib joins cost more than the stats
        stale = [cid for cid in self.chats
                 if cid not in states or states[cid].sig != file_signature(f"{base}/{cid}/{CHAT_FILE}")]
        if stale:
            logger.info("Re-indexing {} chat(s) changed since the search index last saw them.", len(stale))
            self.index.put_chats(self._scan(stale))
        for cid, state in states.items():  # a move whose index update was cut off
            if cid in self.chats and cid not in stale and state.profile_id != self.chats[cid].profile_id:
                self.index.move_chat(cid, self.chats[cid].profile_id)

    def rebuild(self) -> None:
        started = time.perf_counter()
        self.index.reset()
        self.index.put_chats(self._scan(list(self.chats)), fresh=True)
        if self.chats:
            logger.info("Search index rebuilt from {} chats in {:.1f}s.", len(self.chats),
                        time.perf_counter() - started)

    def _scan(self, chat_ids: list[str]) -> Iterator[tuple[str, str, list[Row], Activity, str]]:
        for chat_id in chat_ids:
            path = self.chats_dir / chat_id / CHAT_FILE
            sig = file_signature(path)
            try:
                rows, activity = scan_chat_file(path)
            except StoreError as exc:  # one bad chat must not hide all the others
                logger.warning("Chat {} left out of search: {}", chat_id, exc)
                continue
            yield chat_id, self.chats[chat_id].profile_id, rows, activity, sig

    def write(self, change: Callable[[SearchIndex], None]) -> None:
        """Apply an index update; on failure mark the index broken instead of failing the caller."""
        if not self.ok:
            return
        try:
            change(self.index)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("Search index update failed ({}); it will be rebuilt on the next search.", exc)
            self.ok = False

    def query(self, ask: Callable[[SearchIndex], T]) -> T:
        """Run a query, rebuilding the index first if it is broken, and once more if the query finds it damaged."""
        for attempt in (1, 2):
            if not self.ok:
                try:
                    self.rebuild()
                    self.ok = True
                except (sqlite3.Error, OSError) as exc:
                    raise StoreError(f"Search is unavailable right now ({exc}); check free disk space.") from exc
            try:
                return ask(self.index)
            except sqlite3.Error as exc:
                if attempt == 2:
                    raise StoreError(f"Search is unavailable right now ({exc}).") from exc
                logger.warning("Search index damaged ({}); rebuilding it from the chat files.", exc)
                self.ok = False
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.index.close()
