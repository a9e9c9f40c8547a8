"""What each browser session shows now, so a follower started for something else can stand down.

Gradio's `cancels` does not reliably stop a generator that is already yielding, and a late event can
deliver its output after a newer one's. Callbacks record here what their session has moved on to;
a follower checks before each yield and stops once it no longer matches.
"""

from __future__ import annotations

from typing import Any

MAX_SESSIONS = 10_000  # browser sessions remembered (oldest forgotten first)


class SessionMemory:
    """A bounded map from a Gradio session to the one thing (chat id, run id) it shows now."""

    def __init__(self, limit: int = MAX_SESSIONS):
        self._shown: dict[str, str] = {}
        self._limit = limit

    @staticmethod
    def session_of(request: Any) -> str | None:
        return getattr(request, "session_hash", None) or None

    def remember(self, request: Any, value: str | None) -> None:
        session = self.session_of(request)
        if session is None:
            return
        self._shown.pop(session, None)  # re-insert: the dict stays oldest-first
        self._shown[session] = value or ""
        if len(self._shown) > self._limit:
            self._shown.pop(next(iter(self._shown)))

    def shown(self, request: Any, default: str) -> str:
        """What the request's session shows now; `default` when the session is unknown."""
        session = self.session_of(request)
        return self._shown.get(session, default) if session else default
