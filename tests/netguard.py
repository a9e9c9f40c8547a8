"""A socket audit hook that refuses, and records, any connection or DNS look-up beyond loopback.

Installed for the whole test run by conftest.py: privacy is tested, not promised. Audit hooks see
every `socket.connect` and `getaddrinfo` in this process (httpx, urllib, gradio_client, …).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}
_violations: list[str] = []
_lock = threading.Lock()
_installed = False


def is_local(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _check(event: str, args: tuple) -> None:
    if event == "socket.connect":
        sock, address = args
        if sock.family == socket.AF_UNIX or not isinstance(address, tuple):
            return
        host = address[0]
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        host = args[0]
    else:
        return
    if not is_local(host):
        message = f"{event} to non-loopback address {host!r}"
        with _lock:
            _violations.append(message)
            log = os.environ.get("NETGUARD_LOG")  # set for app processes the tests start
            if log:
                with open(log, "a", encoding="utf-8") as handle:
                    handle.write(message + "\n")
        raise PermissionError(f"Blocked by the test network guard: {message}")


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_check)
        _installed = True


# Runs `app.py` as __main__ with the guard installed: the privacy check for the real app process.
GUARDED_APP = (
    "import runpy, sys; from tests import netguard; netguard.install(); "
    "sys.argv = ['app.py']; runpy.run_path('app.py', run_name='__main__')"
)


def take_violations() -> list[str]:
    with _lock:
        found = list(_violations)
        _violations.clear()
    return found
