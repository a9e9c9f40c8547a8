"""An Ollama stand-in for what the embedded engine cannot act (it works offline): `/api/pull` replaying
Ollama's documented progress stream (tests/../shared/reference/ollama-api.md, POST /api/pull), `/api/delete`
and `/api/tags`. Model names pick the script: `good:1b` succeeds, `broken:1b` fails mid-stream, `slow:1b`
sends its first progress and then stalls until its client leaves (recorded as events)."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIGEST = "sha256:" + "ab12" * 16
LAYER = f"pulling {DIGEST[7:19]}"
GOOD = [{"status": "pulling manifest"},
        {"status": LAYER, "digest": DIGEST, "total": 1000},
        {"status": LAYER, "digest": DIGEST, "total": 1000, "completed": 400},
        {"status": LAYER, "digest": DIGEST, "total": 1000, "completed": 1000},
        {"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
BROKEN = [*GOOD[:3], {"error": "max retries exceeded: connection reset by peer"}]
SLOW = GOOD[:3]


class StubOllama:
    def __init__(self) -> None:
        self.installed = ["old:1b"]
        self.stalled = threading.Event()  # `slow:1b` sent its progress and waits
        self.left = threading.Event()  # the client of `slow:1b` went away
        self.release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes, as a stream may

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                stub._get(self)

            def do_POST(self) -> None:
                stub._post(self)

            def do_DELETE(self) -> None:
                stub._delete(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "StubOllama":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/api/tags":
            models = [{"name": n, "model": n, "size": 1000, "digest": DIGEST[7:],
                       "details": {"family": "stub", "parameter_size": "1B", "quantization_level": "Q4_0"}}
                      for n in self.installed]
            return self._send(handler, 200, {"models": models})
        if handler.path == "/api/version":
            return self._send(handler, 200, {"version": "0.0.0-stub"})
        self._send(handler, 404, {"error": "not found"})

    def _body(self, handler: BaseHTTPRequestHandler) -> dict:
        return json.loads(handler.rfile.read(int(handler.headers.get("Content-Length", 0))) or b"{}")

    def _delete(self, handler: BaseHTTPRequestHandler) -> None:
        name = self._body(handler).get("model")
        if name not in self.installed:
            return self._send(handler, 404, {"error": f"model '{name}' not found"})
        self.installed.remove(name)
        self._send(handler, 200, {})

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/api/show":
            return self._send(handler, 404, {"error": "model not found"})
        name = self._body(handler).get("model")
        script = {"good:1b": GOOD, "broken:1b": BROKEN, "slow:1b": SLOW}.get(name)
        if handler.path != "/api/pull" or script is None:
            return self._send(handler, 404, {"error": "not found"})
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-ndjson")
        handler.end_headers()
        for line in script:
            handler.wfile.write(json.dumps(line).encode() + b"\n")
            handler.wfile.flush()
        if name == "good:1b":
            self.installed.append(name)
        elif name == "slow:1b":
            self.stalled.set()
            self._wait_for_leave(handler.connection)

    def _wait_for_leave(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)  # so `release` is noticed; the stall itself has no time limit
        while not self.release.is_set():
            try:
                if not conn.recv(65536):
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.left.set()
