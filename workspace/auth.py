"""LAN access credentials: created on first start, shown once, stored only as a salted scrypt hash.

Serving beyond loopback means anyone on the network can reach the app, so then a login is required
(the UI's login form, and `Authorization: Bearer <password>` for the REST API). Failed attempts are
limited per client address in a sliding window, so an attacker never locks the owner out. The scrypt
check runs in a worker thread, and a token that passed it is remembered by a keyed digest (never the
token itself). `auth.json` is re-read when it changes (`python app.py --set-password`): the old
password's cached tokens and login sessions end then.
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
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import anyio

AUTH_FILE = "auth.json"
USERNAME = "workspace"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0
MAX_TRACKED_CLIENTS = 4096
MAX_CACHED_TOKENS = 64
MIN_PASSWORD_CHARS = 8


def needs_login(host: str, forced: bool | None = None) -> bool:
    """Anything but a loopback bind is reachable from the network; `forced` (a setting) adds it on loopback.
    Nothing turns it off beyond loopback."""
    if forced:
        return True
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a host name: assume it is reachable from the LAN


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)


@dataclass(frozen=True)
class Credentials:
    username: str
    salt: bytes
    digest: bytes

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(_hash(password, self.salt), self.digest)


def read_credentials(path: Path) -> Credentials:
    stored = json.loads(Path(path).read_text(encoding="utf-8"))
    return Credentials(stored["username"], bytes.fromhex(stored["salt"]), bytes.fromhex(stored["digest"]))


def load_or_create(data_dir: Path) -> tuple[Credentials, str | None]:
    """The stored credentials, creating them on first use; the new password is returned only then."""
    path = Path(data_dir) / AUTH_FILE
    if path.exists():
        return read_credentials(path), None
    password = secrets.token_urlsafe(18)
    return set_password(data_dir, password), password


def set_password(data_dir: Path, password: str) -> Credentials:
    """Store a new password's hash (atomically, owner-only); a running app picks it up."""
    if len(password) < MIN_PASSWORD_CHARS or password != password.strip():
        raise ValueError(f"A password needs at least {MIN_PASSWORD_CHARS} characters and no surrounding spaces.")
    path = Path(data_dir) / AUTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_bytes(16)
    credentials = Credentials(USERNAME, salt, _hash(password, salt))
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"username": credentials.username, "salt": salt.hex(), "digest": credentials.digest.hex()}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    return credentials


class ClientLimiter:
    """Failed logins per client address in a sliding window; one address never affects another."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may now."""
        with self._lock:
            failures = self._failures.get(client)
            if failures is None or len(self._trim(failures)) < MAX_FAILURES:
                return 0.0
            return max(failures[0] + FAILURE_WINDOW_S - self._clock(), 0.001)

    def failed(self, client: str) -> None:
        with self._lock:
            self._trim(self._failures.setdefault(client, deque())).append(self._clock())
            self._failures.move_to_end(client)
            while len(self._failures) > MAX_TRACKED_CLIENTS:  # a flood of addresses cannot grow memory
                self._failures.popitem(last=False)

    def _trim(self, failures: deque[float]) -> deque[float]:
        now = self._clock()
        while failures and now - failures[0] >= FAILURE_WINDOW_S:
            failures.popleft()
        return failures


class Gate:
    """The current credentials (re-read when auth.json changes), the login check and the token cache."""

    def __init__(self, credentials: Credentials, path: Path | None = None, clock: Callable[[], float] = time.monotonic):
        self.credentials, self.path = credentials, path
        self.limiter = ClientLimiter(clock)
        self._key = secrets.token_bytes(32)  # per process: the cache holds digests no one can reverse
        self._valid_tokens: OrderedDict[bytes, None] = OrderedDict()
        self._stamp = self._file_stamp()
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.hash_checks = 0  # how often scrypt ran: the token cache keeps this low

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> tuple["Gate", str | None]:
        credentials, new_password = load_or_create(data_dir)
        return cls(credentials, Path(data_dir) / AUTH_FILE), new_password

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call `listener` when the password changes (to end the old password's sessions)."""
        self._listeners.append(listener)

    def check(self, username: str, password: str) -> bool:
        self.refresh()
        self.hash_checks += 1
        return hmac.compare_digest(username.encode(), self.credentials.username.encode()) and \
            self.credentials.matches(password)

    async def login(self, username: str, password: str) -> bool:
        """The UI's login check, off the event loop (scrypt takes tens of milliseconds)."""
        return await anyio.to_thread.run_sync(self.check, username, password)

    async def bearer_ok(self, header: str | None) -> bool:
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False
        self.refresh()
        key = hmac.new(self._key, token.encode(), hashlib.sha256).digest()
        with self._lock:
            if key in self._valid_tokens:
                return True
        if not await anyio.to_thread.run_sync(self.check, self.credentials.username, token):
            return False
        with self._lock:
            self._valid_tokens[key] = None
            while len(self._valid_tokens) > MAX_CACHED_TOKENS:
                self._valid_tokens.popitem(last=False)
        return True

    def refresh(self) -> None:
        """Re-read auth.json if it changed since last seen; then forget every cached token and session."""
        stamp = self._file_stamp()
        if stamp == self._stamp or stamp is None:
            return
        try:
            credentials = read_credentials(self.path)
        except (OSError, ValueError, KeyError):
            return  # half-written or broken: keep the last good credentials
        with self._lock:
            self.credentials, self._stamp = credentials, stamp
            self._valid_tokens.clear()
        for listener in self._listeners:
            listener()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_ino, info.st_mtime_ns, info.st_size
