"""Housekeeping: chats in the trash past their retention are deleted for good, and download files
(backups, exports) handed to a browser are removed once stale — at start, then once a day.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from loguru import logger

DAY_S = 86_400.0
DOWNLOAD_KEEP_S = 3_600.0  # a backup or export file waits this long for its browser download


def download_folder(data_dir: Path, kind: str) -> Path:
    """Where backups ("backups") and exports ("exports") wait for the browser to fetch them."""
    folder = data_dir / "outgoing" / kind  # never under data/tmp, Gradio's upload folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def remove_stale_files(folder: Path, older_than_s: float) -> int:
    """Delete the files in `folder` last changed more than `older_than_s` ago; returns how many."""
    cutoff, removed = time.time() - older_than_s, 0
    for path in folder.glob("*") if folder.is_dir() else ():
        try:
            if path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another housekeeper or request got there first
            pass
    return removed


class Housekeeping:
    """Runs `run_once` now (`start`) and then every `interval_s`, in a daemon thread, until `stop`."""

    def __init__(self, store: Any, data_dir: Path, trash_retention_days: float, interval_s: float = DAY_S):
        self.store, self.data_dir = store, data_dir
        self.retention_s, self.interval_s = trash_retention_days * DAY_S, interval_s
        self.runs = 0  # completed runs (tests wait on it)
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        try:
            purged = self.store.purge_deleted(older_than_s=self.retention_s)
            stale = sum(remove_stale_files(download_folder(self.data_dir, kind), DOWNLOAD_KEEP_S)
                        for kind in ("backups", "exports"))
            if purged or stale:
                logger.info("Housekeeping: {} chats purged from the trash, {} stale download files removed",
                            purged, stale)
        except Exception:  # never fatal: the next run tries again
            logger.exception("Housekeeping failed")
        self.runs += 1

    def start(self) -> None:
        self.run_once()
        self._thread = threading.Thread(target=self._loop, name="housekeeping", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.run_once()
