"""A stalled model server for the few tests the engine cannot act: it never answers the paths it is
told to stall, and records, as events, when such a request arrived and when its client left."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections import Counter, defaultdict


class StalledBackend:
    def __init__(self, stall: tuple[str, ...] = ("/api/chat",)) -> None:
        self.stall = stall
        self.arrived: dict[str, threading.Event] = defaultdict(threading.Event)
        self.left: dict[str, threading.Event] = defaultdict(threading.Event)
        self.release = threading.Event()  # ends every stall (at teardown)
        self.hits: Counter[str] = Counter()  # requests per path
        backend = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                backend._handle(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "StalledBackend":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _handle(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1].decode()
        self.hits[path] += 1
        if path in self.stall:
            self.arrived[path].set()
            conn.settimeout(0.2)  # so `release` is noticed; the stall itself has no time limit
            while not self.release.is_set():
                try:
                    if not conn.recv(65536):
                        self.left[path].set()
                        return
                except socket.timeout:
                    continue
                except OSError:
                    self.left[path].set()
                    return
            return
        body = json.dumps({"error": "not here"}).encode()
        conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: "
                     + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
