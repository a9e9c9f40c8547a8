"""Exceptions and small records shared by the engine's layers.

Free of llama.cpp on purpose: importing `workspace.engine` must stay light (the native library is
loaded only when an engine starts), so the HTTP layer can name these without importing the runner.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def prefer_passive_openmp() -> None:
    """Call before llama.cpp is first imported. Its OpenMP workers spin while they wait; on a
    machine shared with the app, a browser and test runs, spinning threads starve each other
    (measured here: 3-5x slower generation on 2 busy cores). Passive waiting costs little when
    idle. libgomp reads the setting once, when llama.cpp's library loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class BadRequest(ValueError):
    """The request is malformed; the message is what the client sees with a 400."""


class ApiError(Exception):
    """An error the client sees as `{"error": message}` with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """Writing to the client failed: it closed the connection."""


class ServerBusy(Exception):
    """The queue for a model is full."""


class RequestAbandoned(Exception):
    """The client went away (or the server is stopping) before the request got its turn."""


class ModelLoadFailed(Exception):
    """llama.cpp could not load the file."""


@dataclass
class ModelCounters:
    """Per-model counters that survive unloads; tests and the dashboard read them."""

    loads: int = 0
    generations: int = 0
    cancelled: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
