"""Helpers shared by the store tests."""

from __future__ import annotations

from workspace.store import WorkspaceStore


def snapshot(store: WorkspaceStore) -> dict:
    """Everything a user could see, as plain data."""
    out = {"profiles": [p.model_dump() for p in store.list_profiles()], "chats": {}, "messages": {}}
    for p in store.list_profiles():
        for c in store.list_chats(p.id, include_deleted=True):
            out["chats"][c.id] = c.model_dump()
            out["messages"][c.id] = [m.model_dump() for m in store.list_messages(c.id)]
    return out
