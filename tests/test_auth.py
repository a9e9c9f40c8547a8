"""LAN access: loopback needs no login; beyond it, a login created once, stored hashed, rate-limited."""

import json

import pytest

from workspace import auth


@pytest.mark.parametrize("host, needed", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                          ("0.0.0.0", True), ("192.168.1.5", True), ("my-pc.local", True)])
def test_login_is_needed_beyond_loopback(host, needed):
    assert auth.needs_login(host) is needed


def test_credentials_are_created_once_and_stored_hashed(tmp_path):
    credentials, password = auth.load_or_create(tmp_path)
    assert password and credentials.matches(password) and not credentials.matches(password + "x")
    stored = (tmp_path / auth.AUTH_FILE).read_text()
    assert password not in stored and json.loads(stored)["username"] == credentials.username
    again, no_password = auth.load_or_create(tmp_path)
    assert no_password is None and again.matches(password)


def test_failed_logins_are_rate_limited(tmp_path):
    credentials, password = auth.load_or_create(tmp_path)
    now = [0.0]
    gate = auth.Gate(credentials, clock=lambda: now[0])
    assert gate.check(credentials.username, password)
    for _ in range(auth.MAX_FAILURES):
        assert not gate.check(credentials.username, "guess")
    assert not gate.check(credentials.username, password)  # locked, even with the right password
    now[0] += auth.FAILURE_WINDOW_S + 1
    assert gate.check(credentials.username, password)


def test_bearer_header(tmp_path):
    credentials, password = auth.load_or_create(tmp_path)
    gate = auth.Gate(credentials)
    assert gate.check_bearer(f"Bearer {password}")
    assert not gate.check_bearer(None) and not gate.check_bearer(password) and not gate.check_bearer("Bearer ")
