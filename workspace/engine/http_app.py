"""The engine's HTTP application (ASGI, on Starlette): Ollama's routes over `OllamaApi`.

Owns what happens between uvicorn and the endpoints: the Host/Origin checks Ollama applies on loopback
(before any byte of a body is read), the body size limit (from Content-Length before reading, and
while a chunked body streams in), closing a connection whose request body was left unread (so
nothing is parsed as the next request and nothing unbounded is drained), JSON bodies strict about
NaN and Infinity, Ollama's plain-text 404/405, and the routes of its OpenAI-compatible API
(openai_compat.py). Framing errors (bad chunk sizes, negative
Content-Length, over-long lines) never get this far: uvicorn's h11 parser answers them with a 400.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from workspace.engine import openai_compat
from workspace.engine.common import BadRequest
from workspace.engine.exchange import Adapter, Endpoint, ThreadedCall

if TYPE_CHECKING:
    from workspace.engine.handlers import OllamaApi

MAX_BODY = 512 << 20  # images travel inline as base64
_ALLOWED_ORIGIN_SCHEMES = ("app", "file", "tauri", "vscode-webview", "vscode-file")
_CLOSE = (b"connection", b"close")

# path → (methods, OllamaApi method); GET routes answer HEAD too.
API_ROUTES: dict[str, tuple[tuple[str, ...], str]] = {
    "/api/version": (("GET",), "version"),
    "/api/tags": (("GET",), "tags"),
    "/api/ps": (("GET",), "ps"),
    "/api/show": (("POST",), "show"),
    "/api/chat": (("POST",), "chat"),
    "/api/generate": (("POST",), "generate"),
    "/api/pull": (("POST",), "pull"),
    "/api/embed": (("POST",), "embed"),
}


def is_local_host(hostname: str) -> bool:
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


def origin_allowed(origin: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme in _ALLOWED_ORIGIN_SCHEMES:
        return True
    return parts.scheme in ("http", "https") and (parts.hostname or "") in (
        "localhost", "127.0.0.1", "0.0.0.0", "::1")


def request_allowed(headers: Headers) -> bool:
    """Ollama's checks for a loopback bind (the engine binds nothing else)."""
    origin = headers.get("origin")
    if origin and not origin_allowed(origin):
        return False
    host = headers.get("host")
    return not host or is_local_host(urlsplit(f"//{host}").hostname or "")


class _Guard:
    """Outermost ASGI layer: refuse foreign Host/Origin with Ollama's empty 403 and a Content-Length
    over the limit with a 413, both before reading anything, and close the connection after any
    response sent while the request body is unread. (Starlette's limit counts a chunked body.)"""

    def __init__(self, app: Callable, max_body: int):
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        has_body = "transfer-encoding" in headers or headers.get("content-length", "0").strip("0") != ""
        close = {"connection": "close"} if has_body else None
        if not request_allowed(headers):
            return await Response(status_code=403, headers=close)(scope, receive, send)
        if int(headers.get("content-length", "0")) > self.max_body:  # h11 let only digits through
            return await JSONResponse({"error": "request body too large"}, 413, close)(scope, receive, send)
        body_read = not has_body

        async def tracked_receive() -> dict:
            nonlocal body_read
            message = await receive()
            body_read = body_read or not message.get("more_body", False)
            return message

        async def closing_send(message: dict) -> None:
            if message["type"] == "http.response.start" and not body_read:
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        await self.app(scope, tracked_receive, closing_send)


def parse_body(raw: bytes, needs_body: bool) -> dict[str, Any]:
    """The request's JSON object. NaN and Infinity are not JSON (Python accepts them; Go does not)."""
    if not needs_body:
        return {}
    if not raw.strip():
        raise BadRequest("missing request body")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"invalid character in JSON body: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into a request object")
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _threaded(endpoint_for: Callable[[Request], Endpoint], adapt: Adapter | None = None) -> Callable:
    """A route that reads the body here and runs the endpoint in a worker thread (exchange.py)."""

    async def call(request: Request) -> Response:
        try:
            raw = await request.body()  # bounded by the app's max_body_size (413)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is there to read it
        needs_body = request.method == "POST"
        return ThreadedCall(endpoint_for(request), lambda: parse_body(raw, needs_body),
                            f"{request.method} {request.scope['path']}", adapt)
    return call


def _openai_routes(api: OllamaApi) -> list[Route]:
    """Ollama's OpenAI-compatible API; errors in OpenAI's shape, completions re-shaped."""
    chat = functools.partial(openai_compat.OpenAIExchange, chat=True)
    text = functools.partial(openai_compat.OpenAIExchange, chat=False)
    errors = openai_compat.OpenAIErrors
    return [
        Route("/v1/chat/completions", _threaded(
            lambda r: functools.partial(openai_compat.chat_completions, api), chat), methods=["POST"]),
        Route("/v1/completions", _threaded(
            lambda r: functools.partial(openai_compat.completions, api), text), methods=["POST"]),
        Route("/v1/models", _threaded(
            lambda r: functools.partial(openai_compat.list_models, api), errors), methods=["GET"]),
        Route("/v1/models/{model:path}", _threaded(lambda r: lambda ex, body: openai_compat.retrieve_model(
            api, ex, r.path_params["model"]), errors), methods=["GET"]),
    ]


async def _root(request: Request) -> Response:
    return PlainTextResponse("Ollama is running")


async def _not_found(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("404 page not found", status_code=404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return PlainTextResponse("405 method not allowed", status_code=405)


async def _too_large(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "request body too large"}, status_code=413)


def build_app(api: OllamaApi, max_body: int = MAX_BODY) -> Callable:
    """The ASGI application uvicorn serves."""
    routes = [Route("/", _root, methods=["GET"])]
    routes += [Route(path, _threaded(lambda request, name=name: getattr(api, name)), methods=list(methods))
               for path, (methods, name) in API_ROUTES.items()]
    routes += _openai_routes(api)
    handlers: dict[Any, Callable] = {404: _not_found, 405: _not_allowed, 413: _too_large}
    app = Starlette(routes=routes, exception_handlers=handlers, max_body_size=max_body)
    return _Guard(app, max_body)

