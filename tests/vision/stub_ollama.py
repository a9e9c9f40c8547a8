"""A small HTTP server speaking the bits of the Ollama API a vision turn uses (`/api/show`, `/api/chat`),
for what the embedded engine cannot act: a model with the `vision` capability. It records each chat
request's JSON body so a test can look at the images it carried."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DESCRIPTION = "A terminal showing a Python traceback."


class StubOllama:
    def __init__(self, vision_models: tuple[str, ...], plain_models: tuple[str, ...] = ()) -> None:
        self.models = {**{m: ["completion", "vision"] for m in vision_models},
                       **{m: ["completion"] for m in plain_models}}
        self.chats: list[dict] = []  # the body of every /api/chat request
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                status, reply = stub._answer(self.path, body)
                data = reply.encode()
                self.send_response(status)
                self.send_header("content-type", "application/x-ndjson" if self.path == "/api/chat"
                                 else "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _answer(self, path: str, body: dict) -> tuple[int, str]:
        model = body.get("model", "")
        if model not in self.models:
            return 404, json.dumps({"error": f"model '{model}' not found"})
        if path == "/api/show":
            return 200, json.dumps({"capabilities": self.models[model], "model_info": {"x.context_length": 4096},
                                    "details": {"parameter_size": "1B", "quantization_level": "Q4_0"}})
        if path == "/api/chat":
            self.chats.append(body)
            chunk = {"model": model, "message": {"role": "assistant", "content": DESCRIPTION}, "done": False}
            done = {"model": model, "message": {"role": "assistant", "content": ""}, "done": True,
                    "done_reason": "stop", "eval_count": 7, "eval_duration": 1000}
            return 200, json.dumps(chunk) + "\n" + json.dumps(done) + "\n"
        return 404, json.dumps({"error": "unknown path"})

    def __enter__(self) -> "StubOllama":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
