"""LAN access credentials: created on first start, shown once, stored only as a salted scrypt hash.

Serving beyond loopback means anyone on the network can reach the app, so then a login is required
(the UI's login form, and `Authorization: Bearer <password>` for the REST API). Failed attempts are
rate-limited. On loopback there is no login: only this machine can connect.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

AUTH_FILE = "auth.json"
USERNAME = "workspace"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0


def needs_login(host: str) -> bool:
    """Anything but a loopback bind is reachable from the network."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: assume it is reachable from the LAN


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


@dataclass
class Credentials:
    username: str
    salt: bytes
    digest: bytes

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(_hash(password, self.salt), self.digest)


def load_or_create(data_dir: Path) -> tuple[Credentials, str | None]:
    """The stored credentials, creating them on first use; the new password is returned only then."""
    path = Path(data_dir) / AUTH_FILE
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        return Credentials(stored["username"], bytes.fromhex(stored["salt"]), bytes.fromhex(stored["digest"])), None
    password = secrets.token_urlsafe(18)
    salt = secrets.token_bytes(16)
    credentials = Credentials(USERNAME, salt, _hash(password, salt))
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"username": credentials.username, "salt": salt.hex(), "digest": credentials.digest.hex()}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return credentials, password


class Gate:
    """Checks logins, refusing every attempt for a while after too many recent failures."""

    def __init__(self, credentials: Credentials, clock=time.monotonic):
        self.credentials, self._clock = credentials, clock
        self._failures: deque[float] = deque()
        self._lock = threading.Lock()

    def check(self, username: str, password: str) -> bool:
        with self._lock:
            now = self._clock()
            while self._failures and now - self._failures[0] > FAILURE_WINDOW_S:
                self._failures.popleft()
            if len(self._failures) >= MAX_FAILURES:
                return False
            ok = username == self.credentials.username and self.credentials.matches(password)
            if not ok:
                self._failures.append(now)
            return ok

    def check_bearer(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        return scheme.lower() == "bearer" and bool(token) and self.check(self.credentials.username, token.strip())
