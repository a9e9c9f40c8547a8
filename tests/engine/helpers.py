"""Small helpers for engine tests: waiting on a condition (never on the clock) and free ports."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = 120) -> None:
    """Poll until `condition()`; the generous limit only turns a broken engine into a failure."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
