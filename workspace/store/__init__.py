"""The store: profiles, chats and messages on local disk (see workspace.py for the layout).

Importing this package has no side effects; open a store with `WorkspaceStore(data_dir)`.
"""

from workspace.store.errors import (
                                    CorruptData,
                                    InvalidInput,
                                    NotFound,
                                    SchemaTooNew,
                                    StorageFull,
                                    StorageIOError,
                                    StoreBusy,
                                    StoreError,
                                    TargetNotEmpty,
)
from workspace.store.records import ChatMeta, Message, Profile, SearchHit
from workspace.store.workspace import WorkspaceStore

__all__ = [
                                    "ChatMeta",
                                    "CorruptData",
                                    "InvalidInput",
                                    "Message",
                                    "NotFound",
                                    "Profile",
                                    "SchemaTooNew",
                                    "SearchHit",
                                    "StorageFull",
                                    "StorageIOError",
                                    "StoreBusy",
                                    "StoreError",
                                    "TargetNotEmpty",
                                    "WorkspaceStore",
]
