"""`EngineServer`, the object the app starts and stops: uvicorn serving the engine's ASGI app
(workspace/engine/http_app.py) from a background thread of this process, on loopback only.

Owns the lifecycle: binding (port 0 picks a free one), waiting until the server accepts, and stopping
in order (stop accepting, cancel what runs, free the models, close the connections).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from workspace.engine.common import ModelCounters, prefer_passive_openmp
from workspace.engine.http_app import MAX_BODY, build_app
from workspace.engine.models import ModelRegistry, ModelUnavailable, normalize_name

if TYPE_CHECKING:  # the runner pulls in llama.cpp, which loads only when an engine starts
    from workspace.engine.runner import Runner

log = logging.getLogger(__name__)
# An idle keep-alive connection is closed after this. Longer than the clients' own pool expiry
# (httpx: 5 s), so a client never sends a request on a connection the server is closing.
_IDLE_TIMEOUT_S = 600
_STOP_GRACE_S = 10  # how long a stop waits for responses in flight to finish


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling the starting thread when it accepts connections."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP;
    # with it on, each small response write waits ~40 ms for the delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class EngineServer:
    """The embedded Ollama-compatible engine: `start()` serves on a daemon thread, `stop()` ends it."""

    def __init__(self, models_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 threads: int | None = None, max_queue: int = 16, keep_alive_s: float = 300,
                 max_loaded: int = 3, max_body: int = MAX_BODY, parallel: int = 4):
        if not is_loopback(host):
            raise ValueError(f"the engine serves loopback only (its API has no authentication), not {host!r}")
        self.models_dir = Path(models_dir)
        self.host, self.port = host, port
        self.max_body = max_body
        self.registry = ModelRegistry(self.models_dir)
        self._runner_settings = (threads, max_queue, keep_alive_s, max_loaded, parallel)
        self.runner: Runner | None = None
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._bound_port = 0

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the engine is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._bound_port}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, return the base URL once it accepts. Loads no model."""
        if self._server is not None:
            return self.url
        self.models_dir.mkdir(parents=True, exist_ok=True)
        prefer_passive_openmp()
        from workspace.engine.handlers import OllamaApi
        from workspace.engine.runner import Runner

        sock = _bind(self.host, self.port)
        self._bound_port = sock.getsockname()[1]
        self.runner = Runner(self.registry, *self._runner_settings)
        self.runner.start()
        config = uvicorn.Config(
            build_app(OllamaApi(self.registry, self.runner), self.max_body),
            http="h11", loop="asyncio", ws="none", lifespan="off", interface="asgi3",
            log_config=None, server_header=False,  # log_config None: the process keeps its logging
            timeout_keep_alive=_IDLE_TIMEOUT_S, timeout_graceful_shutdown=_STOP_GRACE_S)
        self._server = _Uvicorn(config)
        self._thread = threading.Thread(target=self._serve, args=(sock,), name="engine-http", daemon=True)
        self._thread.start()
        self._server.ready.wait()
        if not self._server.started:
            self.stop()
            raise RuntimeError("the engine's HTTP server did not start (the log says why)")
        return self.url

    def _serve(self, sock: socket.socket) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[sock]))
        except BaseException:  # noqa: BLE001 - a failed start must not leave start() waiting
            log.exception("the engine's HTTP server failed")
        finally:
            self._server.ready.set()
            sock.close()

    def stop(self) -> None:
        """Stop accepting, cancel running generations, free the models, close connections."""
        if self._server is None:
            return
        self._server.should_exit = True  # uvicorn stops accepting and closes idle connections
        self.runner.stop()  # generations in flight end, so their responses complete
        if self._thread is not None:
            self._thread.join(timeout=_STOP_GRACE_S + 20)
        self._server = None

    def model_names(self) -> list[str]:
        """Names of the models this engine can serve now (as /api/tags lists them)."""
        return sorted(self.registry.entries())

    def counters(self, name: str) -> ModelCounters:
        """A copy of a model's counters (loads, generations, cancelled, tokens)."""
        if self.runner is None:
            return ModelCounters()
        return ModelCounters(**vars(self.runner.counters[normalize_name(name)]))

    def prepare_model(self, name: str) -> Path:
        """Assemble and verify a packaged model now (else it happens on first use)."""
        entry = self.registry.find(name)
        if entry is None:
            reason = self.registry.missing_reason(name) or "no such model"
            raise ModelUnavailable(f"model '{name}' is not available: {reason}")
        return self.registry.ensure_file(entry)
