"""Turns: one model answer generated server-side, in a worker thread, independent of any viewer.

A UI event or an API call only *follows* a turn; when the browser goes away the turn goes on, stores
its answer (periodically while streaming, and at the end with stats and status), and can be followed
again from any tab or device. Stopping a turn closes the model's HTTP stream, which stops the compute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from loguru import logger

from workspace.llm import Delta, Final, LLMError, StreamCloser

SAVE_INTERVAL_S = 1.0


@dataclass
class TurnResult:
    """What a finished (or still running) turn has, as stored on its message."""

    text: str
    status: str  # streaming | ok | stopped | failed
    error: str | None = None
    stats: dict[str, int] = field(default_factory=dict)
    done_reason: str | None = None


class Turn:
    """A running answer. Thread-safe: one worker writes, any number of followers read."""

    def __init__(self, chat_id: str, message_id: str, model: str):
        self.chat_id, self.message_id, self.model = chat_id, message_id, model
        self._parts: list[str] = []
        self._status = "streaming"
        self._error: str | None = None
        self._final: Final | None = None
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.finished = threading.Event()
        self.closer = StreamCloser()  # hand it to the stream, so stop() cuts the connection at once

    def stop(self) -> None:
        self._stop.set()
        self.closer.close()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def snapshot(self) -> TurnResult:
        with self._changed:
            final = self._final
            return TurnResult(
                "".join(self._parts),
                self._status,
                self._error,
                dict(final.stats) if final else {},
                final.done_reason if final else None,
            )

    def follow(self, poll_s: float = 0.5) -> Iterator[TurnResult]:
        """Yield a snapshot whenever the answer grows, and a last one when the turn ends."""
        seen = -1
        while True:
            with self._changed:
                if len(self._parts) == seen and not self.finished.is_set():
                    self._changed.wait(poll_s)
                seen = len(self._parts)
                done = self.finished.is_set()
            yield self.snapshot()
            if done:
                return

    def _add(self, text: str) -> None:
        with self._changed:
            self._parts.append(text)
            self._changed.notify_all()

    def _settle(self, status: str, error: str | None = None, final: Final | None = None) -> None:
        """Record the outcome; followers learn of it only from `_publish_end`, after it is stored."""
        with self._changed:
            self._status, self._error, self._final = status, error, final

    def _publish_end(self) -> None:
        with self._changed:
            self.finished.set()
            self._changed.notify_all()


def run_turn(
    turn: Turn,
    stream_factory: Callable[[], Iterable[Delta | Final]],
    save: Callable[[TurnResult], None],
) -> None:
    """Drive one turn to its end, store the outcome, then tell followers. Never raises."""
    try:
        outcome = _stream_into(turn, stream_factory, save)
    except LLMError as exc:  # a stopped turn's cut connection also ends here
        outcome = ("stopped", None, None) if turn.stop_requested else ("failed", str(exc), None)
    except Exception as exc:  # a bug must not leave a turn 'streaming' forever
        logger.exception("Turn in chat {} crashed", turn.chat_id)
        outcome = ("failed", f"Internal error: {exc!r}", None)
    turn._settle(*outcome)
    try:
        save(turn.snapshot())
    except Exception:
        logger.exception("Could not store the answer in chat {}", turn.chat_id)
    finally:
        turn._publish_end()


def _stream_into(
    turn: Turn, stream_factory: Callable[[], Iterable[Delta | Final]], save: Callable[[TurnResult], None]
) -> tuple[str, str | None, Final | None]:
    """Copy the stream into the turn, saving every SAVE_INTERVAL_S; returns (status, error, final)."""
    last_save = time.monotonic()
    stream = iter(stream_factory())
    try:
        for item in stream:
            if turn.stop_requested:
                return "stopped", None, None
            if isinstance(item, Final):
                return "ok", None, item
            turn._add(item.text)
            if time.monotonic() - last_save >= SAVE_INTERVAL_S:
                save(turn.snapshot())
                last_save = time.monotonic()
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # closes the HTTP response, so the server stops generating
    if turn.stop_requested:
        return "stopped", None, None
    return "failed", "The answer ended early without its final record.", None
