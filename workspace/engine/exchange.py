"""One API call: the endpoint runs in its own worker thread, its response goes out over ASGI.

Owns the bridge between the blocking endpoints (llama.cpp decodes, queue waits) and the event loop:
JSON and NDJSON lines handed from the worker to the loop (one ASGI body message per line, so each
token leaves at once), the client's leaving noticed from ASGI's `http.disconnect` (so a generation
stops at once, through `client_gone()`), and every failure turned into Ollama's `{"error": ...}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from workspace.engine.common import ApiError, BadRequest, ClientGone, RequestAbandoned, ServerBusy
from workspace.engine.models import ModelUnavailable

log = logging.getLogger(__name__)
Endpoint = Callable[[Any, dict[str, Any]], None]  # (exchange, body) → None; see handlers.Exchange
Adapter = Callable[["_Exchange"], Any]  # wraps the exchange for another API's shapes (openai_compat)
_END = object()
_JSON = "application/json; charset=utf-8"
_NDJSON = "application/x-ndjson"


def json_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class _Exchange:
    """The endpoint's side, used from the worker thread (see handlers.Exchange)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue):
        self._loop, self._queue = loop, queue
        self.streaming = False
        self.gone = False  # set from the loop when ASGI reports the client gone

    def _put(self, item: object) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError as error:  # the loop is closed: the server stopped under us
            self.gone = True
            raise ClientGone(str(error)) from error

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        self._put((status, _JSON, json_bytes(body)))

    def send_line(self, body: dict[str, Any]) -> None:
        self.send_chunk(json_bytes(body) + b"\n", _NDJSON)

    def send_chunk(self, data: bytes, content_type: str) -> None:
        """One piece of a streamed response (the first one fixes its content type)."""
        if self.gone:
            raise ClientGone("the client closed the connection")
        self.streaming = True
        self._put((None, content_type, data))

    def client_gone(self) -> bool:
        return self.gone

    def fail(self, status: int, message: str) -> None:
        """Report an error the way the native API does: a last line in a stream, else JSON."""
        if self.streaming:
            self.send_line({"error": message})
        else:
            self.send_json(status, {"error": message})

    def end(self) -> None:
        try:
            self._put(_END)
        except ClientGone:
            pass


class ThreadedCall:
    """An ASGI response that runs `endpoint(exchange, body)` in a worker thread and sends what it
    produces: one JSON response, or a chunked NDJSON stream ended when the endpoint returns."""

    def __init__(self, endpoint: Endpoint, parse_body: Callable[[], dict[str, Any]], describe: str,
                 adapt: Adapter | None = None):
        self._endpoint, self._parse_body, self._describe = endpoint, parse_body, describe
        self._adapt = adapt

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        exchange = _Exchange(asyncio.get_running_loop(), queue)
        watcher = asyncio.ensure_future(_watch_disconnect(receive, exchange))
        threading.Thread(target=self._work, args=(exchange,), name="engine-request", daemon=True).start()
        try:
            await _pump(queue, send, exchange)
        except BaseException:
            exchange.gone = True  # cancelled (a forced shutdown): the worker must stop too
            raise
        finally:
            watcher.cancel()

    def _work(self, exchange: _Exchange) -> None:
        target = self._adapt(exchange) if self._adapt else exchange
        try:
            self._endpoint(target, self._parse_body())  # parsed here: a big body does not stall the loop
        except Exception as error:  # noqa: BLE001 - every failure becomes an error response, never a dropped socket
            self._fail(target, error)
        finally:
            exchange.end()

    def _fail(self, target: Any, error: Exception) -> None:
        if isinstance(error, (ClientGone, RequestAbandoned)):
            return  # nobody to tell (or the engine is stopping: _pump answers 503)
        status, message = status_for(error)
        if status >= 500 and not isinstance(error, (ApiError, ServerBusy)):
            log.error("engine request %s failed", self._describe, exc_info=error)
        try:
            target.fail(status, message)
        except ClientGone:
            pass


async def _watch_disconnect(receive: Callable, exchange: _Exchange) -> None:
    """The body was read before the call: what `receive` says next is that the client left."""
    while (await receive())["type"] != "http.disconnect":
        pass
    exchange.gone = True


async def _pump(queue: asyncio.Queue, send: Callable, exchange: _Exchange) -> None:
    """Send what the worker queues until it ends; a stream is closed with its last chunk."""
    started = False
    while (item := await queue.get()) is not _END:
        status, content_type, data = item
        if started and status is not None:
            continue  # a second whole response cannot be sent; the endpoints never try
        if not started:
            headers = [(b"content-type", content_type.encode())]
            if status is not None:
                headers.append((b"content-length", str(len(data)).encode()))
            await send({"type": "http.response.start", "status": status or 200, "headers": headers})
            started = True
        await send({"type": "http.response.body", "body": data, "more_body": status is None})
    if not started and not exchange.gone:  # the engine stopped before this request got an answer
        data = json_bytes({"error": "the engine is stopping"})
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", _JSON.encode()), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
    elif exchange.streaming:
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def status_for(error: Exception) -> tuple[int, str]:
    """The HTTP status and message Ollama gives for an endpoint's exception."""
    if isinstance(error, ApiError):
        return error.status, error.message
    if isinstance(error, BadRequest):
        return 400, str(error)
    if isinstance(error, ServerBusy):
        return 503, str(error)
    if isinstance(error, ModelUnavailable):
        return 500, str(error)
    return 500, f"internal error: {error}"
