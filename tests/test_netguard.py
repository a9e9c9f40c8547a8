"""The network guard itself must block what it claims to block, or the privacy tests prove nothing."""

import socket

import pytest

from tests import netguard


def test_guard_blocks_a_public_address_and_records_it():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(PermissionError):
            sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, and never reached either
    finally:
        sock.close()
    assert netguard.take_violations() == ["socket.connect to non-loopback address '192.0.2.1'"]


def test_guard_blocks_dns_lookups_of_outside_names():
    with pytest.raises(PermissionError):
        socket.getaddrinfo("example.com", 443)
    assert netguard.take_violations()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "localhost", "0.0.0.0"])
def test_loopback_is_allowed(host):
    assert netguard.is_local(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.2", "8.8.8.8", "example.com", "fe80::1"])
def test_everything_else_is_not(host):
    assert not netguard.is_local(host)


def test_guard_in_a_child_process_logs_attempts(tmp_path):
    """The same guard watches the app processes the tests start; prove it reports from there."""
    import os
    import subprocess
    import sys

    from tests.app_fixtures import ROOT

    log = tmp_path / "attempts.log"
    code = ("from tests import netguard; netguard.install(); import socket\n"
            "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept PermissionError:\n    pass")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "NETGUARD_LOG": str(log)},
                   check=True, timeout=60)
    assert "192.0.2.1" in log.read_text()
