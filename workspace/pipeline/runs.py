"""A pipeline run as the outside sees it: an append-only list of events that any number of viewers follow.

Like a chat turn, a run lives server-side in its own thread: a reload, a sleeping phone or another
device follows it again from its first event (a late viewer replays what it missed, then waits for
more). Cancel sets one switch that the model streams and the sandbox both watch.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator


class PipelineRun:
    """Thread-safe: the worker emits, followers read."""

    def __init__(self, run_id: str, task: str, language: str, profile_id: str, chat_id: str | None):
        self.run_id, self.task, self.language = run_id, task, language
        self.profile_id, self.chat_id = profile_id, chat_id
        self.started_at = time.time()
        self.cancel_switch = threading.Event()
        self.finished = threading.Event()
        self.result: dict[str, Any] | None = None
        self._events: list[dict] = []
        self._changed = threading.Condition()
        self._cancellers: list[Callable[[], None]] = []

    def emit(self, event: dict) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def on_cancel(self, cancel_now: Callable[[], None]) -> None:
        """Also call `cancel_now` on Cancel (the worker's model streams, cut at once)."""
        self._cancellers.append(cancel_now)

    def cancel(self) -> bool:
        """Ask the run to stop, at once; False when it had already ended."""
        if self.finished.is_set():
            return False
        self.cancel_switch.set()
        for cancel_now in list(self._cancellers):
            cancel_now()
        return True

    def finish(self, result: dict[str, Any]) -> None:
        """The last word: the result (already stored), then followers are released."""
        with self._changed:
            self.result = result
            self._events.append({"event": "done", "result": result})
            self.finished.set()
            self._changed.notify_all()

    def events(self, start: int = 0) -> list[dict]:
        with self._changed:
            return self._events[start:]

    def follow(self, start: int = 0, poll_s: float = 1.0) -> Iterator[dict]:
        """Every event from `start` on, as it comes, ending with the `done` event."""
        seen = start
        while True:
            with self._changed:
                while len(self._events) <= seen and not self.finished.is_set():
                    self._changed.wait(poll_s)
                fresh = self._events[seen:]
                done = self.finished.is_set()
            seen += len(fresh)
            yield from fresh
            if done and seen >= len(self.events()):
                return

    @property
    def status(self) -> str:
        return (self.result or {}).get("outcome", "running") if self.finished.is_set() else "running"
