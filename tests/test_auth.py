"""LAN access: loopback needs no login; beyond it, a login created once, stored hashed, rate-limited."""

import json

import pytest

from workspace import auth


@pytest.mark.parametrize("host, needed", [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                          ("0.0.0.0", True), ("192.168.1.5", True), ("my-pc.local", True)])
def test_login_is_needed_beyond_loopback(host, needed):
    assert auth.needs_login(host) is needed
    assert auth.needs_login(host, forced=True) is True  # the setting: LAN mode on loopback
    assert auth.needs_login(host, forced=False) is needed  # never off beyond loopback


def test_credentials_are_created_once_and_stored_hashed(tmp_path):
    credentials, password = auth.load_or_create(tmp_path)
    assert password and credentials.matches(password) and not credentials.matches(password + "x")
    stored = (tmp_path / auth.AUTH_FILE).read_text()
    assert password not in stored and json.loads(stored)["username"] == credentials.username
    again, no_password = auth.load_or_create(tmp_path)
    assert no_password is None and again.matches(password)


def test_failed_logins_are_limited_per_client_in_a_sliding_window():
    now = [0.0]
    limiter = auth.ClientLimiter(clock=lambda: now[0])
    for _ in range(auth.MAX_FAILURES):
        assert limiter.retry_after("10.0.0.9") == 0
        limiter.failed("10.0.0.9")
        now[0] += 1
    wait = limiter.retry_after("10.0.0.9")
    assert 0 < wait <= auth.FAILURE_WINDOW_S
    assert limiter.retry_after("10.0.0.2") == 0  # never a global lockout
    now[0] += wait
    assert limiter.retry_after("10.0.0.9") == 0  # the oldest failure left the window


def test_the_limiter_remembers_a_bounded_number_of_clients():
    limiter = auth.ClientLimiter()
    for n in range(auth.MAX_TRACKED_CLIENTS + 100):
        limiter.retry_after(f"fd00::{n:x}")  # asking does not add an entry
        limiter.failed(f"fd00::{n:x}")
    assert len(limiter._failures) == auth.MAX_TRACKED_CLIENTS


def test_bearer_header_and_its_cache(tmp_path):
    import asyncio

    gate, password = auth.Gate.for_data_dir(tmp_path)
    run = asyncio.run
    assert run(gate.bearer_ok(f"Bearer {password}")) and run(gate.bearer_ok(f"Bearer {password}"))
    assert gate.hash_checks == 1  # the second call was answered from the cache
    assert password.encode() not in b"".join(gate._valid_tokens)  # the cache keeps keyed digests only
    assert not run(gate.bearer_ok(None)) and not run(gate.bearer_ok(password)) and not run(gate.bearer_ok("Bearer "))
    assert not run(gate.bearer_ok("Bearer wrong-token"))


def test_a_new_password_is_picked_up_and_ends_the_old_one(tmp_path):
    import asyncio

    gate, old = auth.Gate.for_data_dir(tmp_path)
    ended = []
    gate.on_change(lambda: ended.append(True))
    assert asyncio.run(gate.bearer_ok(f"Bearer {old}"))
    auth.set_password(tmp_path, "a-new-password-1")
    assert not asyncio.run(gate.bearer_ok(f"Bearer {old}"))  # the cached old token is gone
    assert asyncio.run(gate.bearer_ok("Bearer a-new-password-1")) and ended == [True]


def test_a_short_password_is_refused(tmp_path):
    with pytest.raises(ValueError):
        auth.set_password(tmp_path, "short")
    assert not (tmp_path / auth.AUTH_FILE).exists()


def test_the_password_check_runs_off_the_event_loop(tmp_path):
    import asyncio
    import threading

    gate, _ = auth.Gate.for_data_dir(tmp_path)
    started, release = threading.Event(), threading.Event()

    def held_check(username, password):  # stands in for scrypt: holds until the loop shows it is free
        started.set()
        return release.wait(10)

    gate.check = held_check

    async def scenario():
        login = asyncio.create_task(gate.login("workspace", "anything"))
        bearer = asyncio.create_task(gate.bearer_ok("Bearer anything"))
        await asyncio.to_thread(started.wait, 10)
        release.set()  # only reachable while both checks wait in worker threads
        return await login, await bearer

    assert asyncio.run(scenario()) == (True, True)
