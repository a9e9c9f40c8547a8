"""One running store per data folder: an exclusive lock on `data_dir/store.lock`.

Two app instances writing the same folder would each keep their own in-memory caches and overwrite
each other's index and chat files, so a second open is refused instead. The OS drops the lock when the
process dies (even by SIGKILL), so a crash never leaves the folder locked. Windows has no flock; there
the lock is best effort (skipped).
"""

from __future__ import annotations

import os
from pathlib import Path

from workspace.store.errors import StoreBusy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "store.lock"


class FolderLock:
    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self.released = False
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            self.released = True
            raise StoreBusy(f"{folder} is already open in another running copy of the app (or another "
                            "store object); close it first.") from None

    def release(self) -> None:
        if not self.released:
            self.released = True
            os.close(self._fd)  # closing the descriptor releases the flock
