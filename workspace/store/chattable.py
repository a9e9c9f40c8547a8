"""The store's in-memory chat metadata: ChatTable (chat id → ChatMeta, with each profile's chat ids), and
`settle`, which takes a large table out of the garbage collector's full passes.

A chat list asks for one profile's chats; with 50,000 chats held (a million messages) scanning them all
for each list cost ~20 ms, and more under load. The table keeps a profile → chat ids map beside the
records, updated by the only two ways the store changes it (item assignment and `pop`), so a list
reads just that profile's chats.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable

from workspace.store.records import ChatMeta

# From this many chats on, a full collection walking the records costs more than the one collection `settle`
# makes: at 50,851 chats (a million messages) each full pass took ~110 ms of CPU (several hundred ms on a
# loaded machine), the long tails of appends and chat lists; at 5,000 it is ~10 ms.
SETTLE_FROM_CHATS = 5_000


def settle(chats: dict[str, ChatMeta]) -> bool:
    """After a bulk load of a large table: collect once, then freeze what is alive (`gc.freeze`), so Python's
    full collections no longer re-walk tens of thousands of long-lived records. Process-wide but harmless:
    frozen objects are still freed by reference counting; only a cycle dropped later is never collected (the
    store has none: tests/store/test_chattable.py). Returns whether it froze."""
    if len(chats) < SETTLE_FROM_CHATS:
        return False
    gc.collect()
    gc.freeze()
    return True


class ChatTable(dict[str, ChatMeta]):
    """A dict of chat records that also knows each profile's chat ids. Change it only with `table[id] = meta`
    and `pop` (the methods kept in step); `update`/`setdefault`/`del` are refused so none can bypass them."""

    def __init__(self, chats: dict[str, ChatMeta] | None = None) -> None:
        super().__init__()
        self._by_profile: dict[str, dict[str, None]] = {}  # a dict as an ordered set
        for chat_id, meta in (chats or {}).items():
            self[chat_id] = meta

    def __setitem__(self, chat_id: str, meta: ChatMeta) -> None:
        old = dict.get(self, chat_id)
        if old is not None and old.profile_id != meta.profile_id:
            self._unlink(chat_id, old.profile_id)
        self._by_profile.setdefault(meta.profile_id, {})[chat_id] = None
        super().__setitem__(chat_id, meta)

    def pop(self, chat_id: str, *default: ChatMeta | None) -> ChatMeta | None:  # type: ignore[override]
        old = dict.get(self, chat_id)
        if old is not None:
            self._unlink(chat_id, old.profile_id)
        return super().pop(chat_id, *default)

    def of_profile(self, profile_id: str) -> Iterable[ChatMeta]:
        """The records of one profile's chats (in no particular order)."""
        return [self[chat_id] for chat_id in self._by_profile.get(profile_id, ())]

    def _unlink(self, chat_id: str, profile_id: str) -> None:
        ids = self._by_profile.get(profile_id)
        if ids is not None:
            ids.pop(chat_id, None)
            if not ids:
                del self._by_profile[profile_id]

    def _refused(self, *args: object, **kwargs: object) -> None:
        raise TypeError("ChatTable changes only through item assignment and pop")

    update = setdefault = __delitem__ = popitem = clear = __ior__ = _refused  # type: ignore[assignment]
