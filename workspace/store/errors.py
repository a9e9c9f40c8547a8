"""The store's error hierarchy: every message tells the user what happened and what to do.

Nothing here knows about Gradio or HTTP; `ui/` and `api.py` translate these at the edge. InvalidInput
and NotFound are the caller's to fix; the others are the machine's (disk, files, another app).
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class NotFound(StoreError):
    """A profile, chat or message id that does not exist (or no longer does)."""


class InvalidInput(StoreError):
    """A value that cannot be stored as given: bad id, text too long, hostile import…"""


class TargetNotEmpty(InvalidInput):
    """A restore was pointed at a folder that already holds something."""


class StorageFull(StoreError):
    """The disk is full; nothing was changed."""


class StorageIOError(StoreError):
    """Any other failure of the disk; nothing was changed."""


class CorruptData(StoreError):
    """A stored file cannot be read back (edited by hand, damaged disk…)."""


class SchemaTooNew(StoreError):
    """A file written by a newer version of the app; it is left untouched."""


class StoreBusy(StoreError):
    """The store cannot serve this right now (another running app holds the data folder, or the search
    index is being rebuilt); trying again later may work."""
