"""Request hygiene for every route, present and future: one ASGI middleware in front of the whole app.

Before any route runs it refuses a Host that does not name this machine (DNS rebinding), a
state-changing request from a foreign page (Origin / Sec-Fetch-Site; CORS is same-origin only),
a REST body that is not JSON (or multipart), a body over the size limit (by its Content-Length,
before a byte of it is read), and file URLs that would reach beyond Gradio's upload folder or off
the machine. Every response gets a Content-Security-Policy that keeps the page's images, fonts,
media, frames and connections on this origin, so no chat text can make the page fetch from
elsewhere; files Gradio serves are never rendered inline unless they are plain raster images.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import unquote, urlsplit

from loguru import logger

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
REREAD_ADDRESSES_S = 30.0  # an unknown address literal re-reads the interfaces at most this often
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_TYPES = ("application/json", "multipart/form-data")
# Gradio's inline config and event handlers need inline scripts and eval; everything else stays here.
CSP = "; ".join([
    "default-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'", "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:", "font-src 'self' data:", "media-src 'self' data: blob:", "connect-src 'self'",
    "frame-src 'self'", "worker-src 'self' blob:", "form-action 'self'", "base-uri 'self'", "object-src 'none'",
    "frame-ancestors 'self'",
])
FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
INLINE_FILE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
]
_FILE_ROUTE = re.compile(r"/file=(.*)$", re.S)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def lan_addresses() -> list[str]:
    """This machine's own non-loopback addresses, read from its interfaces (no connection, no DNS)."""
    found: list[str] = []
    try:
        import fcntl
        import socket
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # never connected: only an ioctl handle
            for _, name in socket.if_nameindex():
                try:
                    packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
                except OSError:
                    continue  # an interface without an IPv4 address
                found.append(socket.inet_ntoa(packed[20:24]))
    except (ImportError, OSError, AttributeError):
        pass  # not Linux: only the configured names and loopback are served
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            found.append(str(ipaddress.IPv6Address(int(raw, 16))))
    except (OSError, ValueError, IndexError):
        pass
    return [a for a in dict.fromkeys(found)
            if not (ipaddress.ip_address(a).is_loopback or ipaddress.ip_address(a).is_link_local)]


class HostPolicy:
    """Which Host header values name this machine: loopback, its own addresses and names, configured names."""

    def __init__(self, extra_names: Iterable[str] = (), addresses: Iterable[str] | None = None):
        import socket

        hostname = socket.gethostname().lower()
        names = {hostname, f"{hostname}.local", f"{hostname.split('.')[0]}.local", *LOOPBACK_NAMES}
        self.names = frozenset(n.lower().strip() for n in [*names, *extra_names] if n.strip())
        self._fixed = addresses is not None
        self.addresses = frozenset(lan_addresses() if addresses is None else addresses)
        self._read_at = time.monotonic()

    def allows(self, host_header: str) -> bool:
        host = _host_name(host_header)
        if not host:
            return False
        if host in self.names:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if address.is_loopback or str(address) in self.addresses:
            return True
        if not self._fixed and time.monotonic() - self._read_at > REREAD_ADDRESSES_S:  # a new DHCP lease
            self.addresses, self._read_at = frozenset(lan_addresses()), time.monotonic()
            return str(address) in self.addresses
        return False


def _host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower-case; '' if malformed."""
    value = host_header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1:] if end > 0 else "-"
        return value[1:end] if rest == "" or (rest.startswith(":") and rest[1:].isdigit()) else ""
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return ""
    return name.rstrip(".")


class Guard:
    """The ASGI middleware; `served_files` is where Gradio's file route may read (its upload folder)."""

    def __init__(self, app, *, hosts: HostPolicy, max_body_bytes: int, served_files: Iterable[Path] = (),
                 large_bodies: Iterable[tuple[re.Pattern, int]] = ()):
        self.app, self.hosts, self.max_body_bytes = app, hosts, max_body_bytes
        self.large_bodies = list(large_bodies)  # (path pattern, its own limit): a chat import with its images
        self.served_files = [Path(p).resolve() for p in served_files]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refusal = self.refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            client = (scope.get("client") or ("?",))[0]
            logger.warning("Refused {} {} from {}: {}", scope.get("method", "WS"), scope["path"], client, message)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send_json(send, status, {"error": message})
            return
        file_route = _FILE_ROUTE.search(scope["path"]) is not None
        await self.app(scope, receive, _with_headers(send, file_route))

    def refusal(self, scope, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why the request is refused before any route runs (status, message), or None."""
        if not self.hosts.allows(headers.get("host", "")):
            return 421, "This server does not answer to that host name."
        method = scope.get("method", "GET")
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, scope, headers):
            if method in UNSAFE_METHODS or method == "OPTIONS" or scope["type"] == "websocket":
                return 403, "Requests from other sites are refused."
        if method in UNSAFE_METHODS and headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return 403, "Requests from other sites are refused."
        return self._body_refusal(scope, headers, method) or self._file_refusal(scope["path"])

    def _body_refusal(self, scope, headers: dict[str, str], method: str) -> tuple[int, str] | None:
        """By the headers alone, so an oversized body is refused before a byte of it is read."""
        length = headers.get("content-length")
        if length is None:
            return (411, "Send the body with a Content-Length.") if "transfer-encoding" in headers else None
        if not length.isdigit():
            return 400, "Invalid Content-Length."
        limit = next((size for path, size in self.large_bodies if path.fullmatch(scope["path"])), self.max_body_bytes)
        if int(length) > limit:
            return 413, f"The body is larger than the limit ({limit // 2**20} MB)."
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        if method in UNSAFE_METHODS and scope["path"].startswith("/api/") and int(length) > 0 and \
                kind not in BODY_TYPES:
            return 415, "Send the body as application/json."
        return None

    def _file_refusal(self, path: str) -> tuple[int, str] | None:
        """Gradio's file route reads any path it is given: only its own upload folder, never a URL."""
        match = _FILE_ROUTE.search(path)
        if match is None:
            return None
        target = match.group(1)
        if _SCHEME.match(target) or _SCHEME.match(unquote(target)):
            return 403, "Only files on this machine are served."
        try:
            resolved = Path(os.path.abspath(target)).resolve()
        except (OSError, ValueError):
            return 403, "File not allowed."
        if "\x00" in target or not any(resolved.is_relative_to(root) for root in self.served_files):
            return 403, "File not allowed."
        return None


def _same_origin(origin: str, scope, headers: dict[str, str]) -> bool:
    parts = urlsplit(origin)
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    return parts.scheme == scheme and parts.netloc.lower() == headers.get("host", "").lower()


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _with_headers(send: Callable, file_route: bool) -> Callable:
    """Add the security headers to the response; files become attachments unless a raster image."""

    async def wrapped(message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", [])
                       if not k.lower().startswith(b"access-control-") and k.lower() != b"content-security-policy"]
            headers += SECURITY_HEADERS if not file_route else [
                (b"content-security-policy", FILE_CSP.encode()), (b"x-content-type-options", b"nosniff")]
            if file_route and _content_type(headers) not in INLINE_FILE_TYPES:
                headers = [(k, v) for k, v in headers if k.lower() not in (b"content-disposition", b"content-type")]
                headers += [(b"content-type", b"application/octet-stream"), (b"content-disposition", b"attachment")]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _content_type(headers: list[tuple[bytes, bytes]]) -> str:
    for key, value in headers:
        if key.lower() == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def send_json(send: Callable, status: int, body: dict, extra_headers: Iterable[tuple[str, str]] = ()) -> None:
    """A complete JSON response, with the security headers, from inside a middleware."""
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
               *SECURITY_HEADERS, *((k.lower().encode(), v.encode()) for k, v in extra_headers)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
