"""The login requirement, as one ASGI middleware in front of every route (LAN mode).

Deny by default: without a valid Bearer token or a valid UI session, only the login page and its
static assets are served. Login attempts (the UI's `POST /login`, a Bearer token) are limited per
client address: over the limit they get 429 with Retry-After, and every failure is logged with the
address. A UI session (Gradio's cookie) opens REST reads too — the UI's downloads go through REST
routes — but changing anything through REST takes the Bearer token.
"""

from __future__ import annotations

import math
from typing import Callable

from loguru import logger

from workspace.auth import Gate
from workspace.security import UNSAFE_METHODS, send_json

PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/favicon")
PUBLIC_PATHS = frozenset({"/", "/login", "/login/", "/theme.css", "/manifest.json"})
LOGIN_PATHS = frozenset({"/login", "/login/"})


class LoginRequired:
    """`session_user(scope)` names the user of a valid UI session cookie, or None."""

    def __init__(self, app, *, gate: Gate, session_user: Callable[[dict], str | None]):
        self.app, self.gate, self.session_user = app, gate, session_user

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        method, path = scope.get("method", "GET"), scope["path"]
        authorization = _header(scope, b"authorization")
        if (method == "POST" and path in LOGIN_PATHS) or authorization is not None:
            wait = self.gate.limiter.retry_after(client)
            if wait:
                await send_json(send, 429, {"error": "Too many failed logins from this address; try again later."},
                                [("Retry-After", str(math.ceil(wait)))])
                return
        if method == "POST" and path in LOGIN_PATHS:
            await self.app(scope, receive, self._watch_login(send, client))
            return
        if authorization is not None:
            if not await self.gate.bearer_ok(authorization):
                self._failed(client, "a wrong Bearer token")
                await send_json(send, 401, {"error": "Wrong credential."}, [("WWW-Authenticate", "Bearer")])
                return
        elif not self._session_allows(scope, method, path):
            await send_json(send, 401, {"error": "Log in: send `Authorization: Bearer <password>`, or log in "
                                                 "on the page."}, [("WWW-Authenticate", "Bearer")])
            return
        await self.app(scope, receive, send)

    def _session_allows(self, scope, method: str, path: str) -> bool:
        self.gate.refresh()
        if self.session_user(scope) is not None:
            return not (path.startswith("/api/") and method in UNSAFE_METHODS)
        return method in ("GET", "HEAD") and (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES))

    def _watch_login(self, send: Callable, client: str) -> Callable:
        async def wrapped(message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                self._failed(client, "a wrong password on the login page")
            await send(message)

        return wrapped

    def _failed(self, client: str, what: str) -> None:
        self.gate.limiter.failed(client)
        logger.warning("Failed login from {}: {}", client, what)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None
