"""Keeping the derived search index (search.py) in step with the chat files, and repairing it.

At start it re-reads only the chats whose file signature changed since they were indexed (a process
killed between the chat-file write and the index update, or a power cut that lost the last WAL
commits), fixes profile moves the index missed, and drops chats that no longer exist: ~50 ms of
stats for 5,000 chats. A missing, damaged or outdated index is rebuilt from every chat file, which
takes 10-30 s for 100,000 messages on a small machine, so that happens in a background thread into a
separate file: the store opens at once (chat lists use index.json's activity meanwhile), searches wait
for it, and the writes made during the rebuild are caught up by the same signature check at the swap.
An index write that fails never fails the store's write (the chat file already holds the data): the
index is marked down and rebuilt before the next search.
"""

from __future__ import annotations

import os
import sqlite3
import threading
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
from workspace.store.search import SEARCH_FILE, ChatState, SearchIndex

T = TypeVar("T")
OK, BUILDING, DOWN = "ok", "building", "down"


class _Cancelled(Exception):
    pass


class SearchKeeper:
    """Owns the SearchIndex. `chats` is the store's live metadata dict and `lock` the store's lock: both
    are only touched under that lock; `on_ready` receives the index's chat states after a rebuild."""

    def __init__(self, data_dir: Path, chats_dir: Path, chats: dict[str, ChatMeta], lock: threading.RLock,
                 on_ready: Callable[[dict[str, ChatState]], None]) -> None:
        self.index = SearchIndex(data_dir / SEARCH_FILE)
        self.chats_dir, self.chats, self.lock, self.on_ready = chats_dir, chats, lock, on_ready
        self.state = DOWN
        self._idle = threading.Event()  # set whenever no rebuild is running
        self._idle.set()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- start and rebuild ------------------------------------------------------------------------
    def start(self) -> dict[str, ChatState]:
        """Open and repair the index; returns what it knows of each chat ({} while it is rebuilt)."""
        try:
            if self.index.open():
                self._sync(self.index)
                self.state = OK
                return self.index.states()
            if not self.chats:  # a new data folder: nothing to read, no thread needed
                self.index.reset()
                self.state = OK
                return {}
        except (sqlite3.Error, OSError) as exc:
            logger.warning("Search index unusable ({}); rebuilding it from the chat files.", exc)
        self.rebuild_in_background()
        return {}

    def rebuild_in_background(self) -> None:
        """Start rebuilding (call under the store's lock); searches wait for it, writes are caught up after."""
        if self.state == BUILDING or self._stopping:
            return
        self.state = BUILDING
        self._idle.clear()
        self.index.close()
        jobs = [(chat_id, meta.profile_id) for chat_id, meta in self.chats.items()]
        self._thread = threading.Thread(target=self._rebuild, args=(jobs,), name="search-rebuild", daemon=True)
        self._thread.start()

    def _rebuild(self, jobs: list[tuple[str, str]]) -> None:
        started = time.perf_counter()
        fresh = SearchIndex(self.index.path.with_name(SEARCH_FILE + ".new"))
        try:
            fresh.reset(bulk=True)
            fresh.put_chats(self._scan(jobs), fresh=True)  # no store lock: chat files are only ever replaced
            fresh.sync()
            with self.lock:
                if self._stopping:
                    return
                self.index.delete()
                os.replace(fresh.path, self.index.path)
                self.index.open()
                self._sync(self.index)  # the writes made while we were reading
                self.state = OK
                self.on_ready(self.index.states())
            logger.info("Search index rebuilt from {} chats in {:.1f}s.", len(jobs), time.perf_counter() - started)
        except _Cancelled:
            pass
        except (sqlite3.Error, OSError) as exc:
            logger.warning("Could not rebuild the search index: {}", exc)
            with self.lock:
                self.state = DOWN
        finally:
            fresh.delete()
            self._idle.set()

    def _sync(self, index: SearchIndex) -> None:
        states = index.states()
        gone = [cid for cid in states if cid not in self.chats]
        if gone:
            index.drop_chats(gone)
        base = str(self.chats_dir)  # plain strings: 5,000 pathlib joins cost more than the stats
        stale = [(cid, meta.profile_id) for cid, meta in self.chats.items()
                 if cid not in states or states[cid].sig != file_signature(f"{base}/{cid}/{CHAT_FILE}")]
        if stale:
            logger.info("Re-indexing {} chat(s) changed since the search index last saw them.", len(stale))
            index.put_chats(self._scan(stale))
        redone = {cid for cid, _ in stale}
        for cid, state in states.items():  # a move whose index update was cut off
            if cid in self.chats and cid not in redone and state.profile_id != self.chats[cid].profile_id:
                index.move_chat(cid, self.chats[cid].profile_id)

    def _scan(self, jobs: list[tuple[str, str]]) -> Iterator[tuple[str, str, list[Row], Activity, str]]:
        for chat_id, profile_id in jobs:
            if self._stopping:
                raise _Cancelled
            path = self.chats_dir / chat_id / CHAT_FILE
            sig = file_signature(path)  # taken before reading: a later replace shows up as a changed sig
            try:
                rows, activity = scan_chat_file(path)
            except StoreError as exc:  # one bad (or just deleted) chat must not hide all the others
                logger.warning("Chat {} left out of search: {}", chat_id, exc)
                continue
            yield chat_id, profile_id, rows, activity, sig

    # -- use ----------------------------------------------------------------------------------------
    def write(self, change: Callable[[SearchIndex], None]) -> None:
        """Apply an index update; on failure mark the index down instead of failing the caller."""
        if self.state != OK:
            return  # a rebuild (now or before the next search) picks the change up from the chat file
        try:
            change(self.index)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("Search index update failed ({}); it will be rebuilt before the next search.", exc)
            self.state = DOWN

    def wait(self, timeout: float) -> bool:
        """Wait (NOT holding the store's lock) until no rebuild is running."""
        return self._idle.wait(timeout)

    def query(self, ask: Callable[[SearchIndex], T]) -> T | None:
        """Run a query (under the store's lock); None when the index is not ready (a rebuild is started)."""
        if self.state == DOWN:
            self.rebuild_in_background()
        if self.state != OK:
            return None
        try:
            return ask(self.index)
        except sqlite3.Error as exc:
            logger.warning("Search index damaged ({}); rebuilding it from the chat files.", exc)
            self.state = DOWN
            self.rebuild_in_background()
            return None

    def stop(self) -> None:
        """Stop a running rebuild (call WITHOUT the store's lock: the rebuild may be waiting for it)."""
        self._stopping = True
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        self.index.close()
        # The callback is the store's bound method: a cycle. Cut it so a closed store is freed by reference
        # counting alone, as a store whose records were frozen out of the collector's reach must be (chattable.py).
        self.on_ready = _ignore


def _ignore(states: dict[str, ChatState]) -> None:
    """The callback of a closed keeper."""
