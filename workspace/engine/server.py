"""The HTTP side of the engine: a stdlib threading HTTP/1.1 server that routes Ollama's API paths.

Owns the wire: keep-alive connections, JSON and chunked NDJSON responses (one chunk written and sent
per line, so a closed client shows up as a failed write), noticing a client that left (so its
generation stops at once), the Host/Origin checks Ollama applies on loopback, plain-text 404/405,
and `EngineServer`, the object the app starts and stops.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import select
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from workspace.engine.common import (
    ApiError,
    BadRequest,
    ClientGone,
    ModelCounters,
    RequestAbandoned,
    ServerBusy,
    prefer_passive_openmp,
)
from workspace.engine.models import ModelRegistry, ModelUnavailable, normalize_name

if TYPE_CHECKING:  # the handlers pull in llama.cpp, which loads only when an engine starts
    from workspace.engine.handlers import OllamaApi
    from workspace.engine.runner import Runner

log = logging.getLogger(__name__)
_MAX_BODY = 512 << 20  # images travel inline as base64
_IDLE_TIMEOUT_S = 600  # an idle keep-alive connection is closed after this
_ALLOWED_ORIGIN_SCHEMES = ("app", "file", "tauri", "vscode-webview", "vscode-file")

ROUTES: dict[str, dict[str, str]] = {
    "/": {"GET": "root", "HEAD": "root"},
    "/api/version": {"GET": "version", "HEAD": "version"},
    "/api/tags": {"GET": "tags", "HEAD": "tags"},
    "/api/ps": {"GET": "ps"},
    "/api/show": {"POST": "show"},
    "/api/chat": {"POST": "chat"},
    "/api/generate": {"POST": "generate"},
    "/api/pull": {"POST": "pull"},
    "/api/embed": {"POST": "embed"},
}


def _is_local_host(hostname: str) -> bool:
    """Ollama's DNS-rebinding rule for a loopback bind: local names and local/private addresses."""
    name = hostname.strip("[]").lower()
    if name in ("localhost", socket.gethostname().lower()) or name.endswith(
            (".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


def _is_loopback_bind(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin_allowed(origin: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme in _ALLOWED_ORIGIN_SCHEMES:
        return True
    return parts.scheme in ("http", "https") and (parts.hostname or "") in (
        "localhost", "127.0.0.1", "0.0.0.0", "::1")


class _Exchange:
    """One request's response channel, as the endpoints see it (see handlers.Exchange)."""

    def __init__(self, handler: _Handler):
        self._handler = handler
        self.streaming = False
        self.gone = False

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self._handler.respond(status, "application/json; charset=utf-8", data)

    def send_line(self, body: dict[str, Any]) -> None:
        line = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        try:
            if not self.streaming:
                self._handler.start_chunked("application/x-ndjson")
                self.streaming = True
            self._handler.write_chunk(line)
        except OSError as error:
            self.gone = True
            raise ClientGone(str(error)) from error

    def client_gone(self) -> bool:
        """True once the peer closed its side: during a response it has nothing else to send."""
        if not self.gone:
            self.gone = self._handler.peer_closed()
        return self.gone

    def end(self) -> None:
        if self.streaming and not self.gone:
            try:
                self._handler.write_chunk(b"")
            except OSError:
                self.gone = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "workspace-engine"
    timeout = _IDLE_TIMEOUT_S
    server: _EngineHTTPServer

    def setup(self) -> None:
        super().setup()
        # Each NDJSON line is a small write; Nagle would hold it back waiting for an ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def version_string(self) -> str:
        return self.server_version  # not Python's version: nothing to fingerprint

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    # --- low-level writing -----------------------------------------------------------------------

    def respond(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    def start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        # One sendall per chunk: size line, data and trailer leave together.
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    # --- dispatch --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        body = self._read_body()  # always drain it, or the keep-alive connection is out of sync
        if body is None:
            self.close_connection = True  # what is left of the body cannot be skipped safely
            return self.respond(413, "text/plain; charset=utf-8", b"request body too large or malformed")
        if not self._request_allowed():
            return self.respond(403, "text/plain; charset=utf-8", b"")
        methods = ROUTES.get(path)
        if methods is None:
            return self.respond(404, "text/plain; charset=utf-8", b"404 page not found")
        endpoint = methods.get(self.command)
        if endpoint is None:
            return self.respond(405, "text/plain; charset=utf-8", b"405 method not allowed")
        if endpoint == "root":
            return self.respond(200, "text/plain; charset=utf-8", b"Ollama is running")
        self._call(endpoint, body)

    def _request_allowed(self) -> bool:
        origin = self.headers.get("Origin")
        if origin and not _origin_allowed(origin):
            return False
        host = self.headers.get("Host")
        if host and self.server.loopback_only:
            return _is_local_host(urlsplit(f"//{host}").hostname or "")
        return True

    def _read_body(self) -> bytes | None:
        """The request body; None when it is too large or its framing is broken."""
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunked_body()
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked_body(self) -> bytes | None:
        parts, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > _MAX_BODY:
                return None
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _call(self, endpoint: str, raw: bytes) -> None:
        exchange = _Exchange(self)
        try:
            body = _parse_body(raw, needs_body=self.command == "POST")
            getattr(self.server.api, endpoint)(exchange, body)
        except Exception as error:  # noqa: BLE001 - every failure becomes an Ollama-style error, never a dropped socket
            self._fail(exchange, error)
        finally:
            exchange.end()
            if exchange.gone:
                self.close_connection = True

    def _fail(self, exchange: _Exchange, error: Exception) -> None:
        if isinstance(error, (ClientGone, RequestAbandoned)):
            exchange.gone = True
            return
        status, message = _status_for(error)
        if status >= 500 and not isinstance(error, (ApiError, ServerBusy)):
            log.exception("engine request %s %s failed", self.command, self.path)
        try:
            if exchange.streaming:
                exchange.send_line({"error": message})
            else:
                exchange.send_json(status, {"error": message})
        except (ClientGone, OSError):
            exchange.gone = True


def _parse_body(raw: bytes, needs_body: bool) -> dict[str, Any]:
    if not needs_body:
        return {}
    if not raw.strip():
        raise BadRequest("missing request body")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"invalid character in JSON body: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into a request object")
    return body


def _status_for(error: Exception) -> tuple[int, str]:
    if isinstance(error, ApiError):
        return error.status, error.message
    if isinstance(error, BadRequest):
        return 400, str(error)
    if isinstance(error, ServerBusy):
        return 503, str(error)
    if isinstance(error, ModelUnavailable):
        return 500, str(error)
    return 500, f"internal error: {error}"


class _EngineHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: OllamaApi):
        self.api = api
        self.loopback_only = _is_loopback_bind(address[0])
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) we neither need nor want.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that vanished mid-request is normal (Stop, a closed tab); anything else is logged.
        The default prints a traceback to stderr for both."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            log.debug("client %s left: %r", client_address, error)
        else:
            log.exception("request from %s failed", client_address)

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Wake handler threads parked on idle keep-alive connections, so they end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EngineServer:
    """The embedded Ollama-compatible engine: `start()` serves on a daemon thread, `stop()` ends it."""

    def __init__(self, models_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 threads: int | None = None, max_queue: int = 16, keep_alive_s: float = 300,
                 max_loaded: int = 3):
        self.models_dir = Path(models_dir)
        self.host, self.port = host, port
        self.registry = ModelRegistry(self.models_dir)
        self._runner_settings = (threads, max_queue, keep_alive_s, max_loaded)
        self.runner: Runner | None = None
        self._http: _EngineHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the engine is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._http.server_address[1]}"

    def start(self) -> str:
        """Bind, serve in a daemon thread, return the base URL. Loads nothing, hashes nothing."""
        if self._http is not None:
            return self.url
        self.models_dir.mkdir(parents=True, exist_ok=True)
        prefer_passive_openmp()
        from workspace.engine.handlers import OllamaApi
        from workspace.engine.runner import Runner

        self.runner = Runner(self.registry, *self._runner_settings)
        server_class = _EngineHTTPServer
        if ":" in self.host:
            server_class = type("_EngineHTTPServer6", (_EngineHTTPServer,),
                                {"address_family": socket.AF_INET6})
        self._http = server_class((self.host, self.port), OllamaApi(self.registry, self.runner))
        if not self._http.loopback_only:
            log.warning("the engine listens on %s: its API has no authentication", self.host)
        self.runner.start()
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.2},
            name="engine-http", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop accepting, cancel running generations, free the models, close connections."""
        if self._http is None:
            return
        self._http.shutdown()
        self.runner.stop()
        self._http.close_connections()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None

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
