"""Bad input on the wire: the framing battery on raw sockets, and numbers JSON does not have.

Each malformed request is answered with a 4xx or its connection closed, and while it is pending a
normal request on another connection completes (proved by that request's own answer, never by the
clock). The socket timeout below only turns a hang into a failure; nothing waits for it to expire.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import ollama
import pytest

from workspace.engine import EngineServer

HANG_LIMIT_S = 120
SMALL_LIMIT = 64 << 10  # the body limit of the small engine, so a test can cross it cheaply


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=HANG_LIMIT_S)


def send(url: str, data: bytes) -> socket.socket:
    """A connection that sent `data` (the server may close it midway: that is an answer too)."""
    sock = connect(url)
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closing)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def statuses(received: bytes) -> list[int]:
    """The status codes of the responses in `received` (bodies here never start with HTTP/1.1)."""
    return [int(line.split(b" ")[1]) for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def others_are_served(url: str, model: str) -> None:
    """A normal request on its own connection completes, with the real model."""
    answer = ollama.Client(host=url, timeout=HANG_LIMIT_S).generate(
        model, "Hi", options={"temperature": 0, "num_predict": 1})
    assert answer.done


def head(method: str, extra: str) -> bytes:
    return f"{method} /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()


CHUNKED = "Transfer-Encoding: chunked\r\n"
SMUGGLED = b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BAD_FRAMING = {
    "negative chunk size": head("POST", CHUNKED) + b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk size of 1 MB": head("POST", CHUNKED) + b"5;" + b"x" * (1 << 20) + b"\r\nhello\r\n0\r\n\r\n",
    "negative Content-Length": head("POST", "Content-Length: -5\r\n") + SMUGGLED,
    "Content-Length of 22 digits": head("POST", f"Content-Length: {2 ** 70}\r\n") + SMUGGLED,
    "1 MB header line": head("GET", "X-Filler: " + "a" * (1 << 20) + "\r\n"),
}


@pytest.mark.parametrize("data", BAD_FRAMING.values(), ids=BAD_FRAMING.keys())
def test_broken_framing_is_refused_without_blocking_others(engine_url, starter_model, data):
    with send(engine_url, data) as bad:
        others_are_served(engine_url, starter_model)
        received = read_until_closed(bad)
    # One 4xx, or closed without an answer; never a second request read out of the bad one's bytes.
    codes = statuses(received)
    assert len(codes) <= 1 and all(400 <= code < 500 for code in codes), codes


def test_huge_content_length_is_refused_before_any_body_is_read(engine_url, starter_model):
    with send(engine_url, head("POST", f"Content-Length: {10 ** 19 - 1}\r\n")) as bad:
        others_are_served(engine_url, starter_model)
        received = read_until_closed(bad)  # the server closes: it will not read 10 EB
    assert statuses(received) == [413] and b'"error"' in received


def test_a_foreign_host_is_refused_before_its_body_is_read(engine_url, starter_model):
    # 1 MB announced and none sent: the 403 must come from the headers alone.
    request = b"POST /api/chat HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: 1048576\r\n\r\n"
    with send(engine_url, request) as bad:
        others_are_served(engine_url, starter_model)
        assert statuses(read_until_closed(bad)) == [403]


def test_a_partial_request_waits_without_blocking_others(engine_url, starter_model):
    body = b'{"model": "%s", "messages": []}' % starter_model.encode()
    request = head("POST", f"Content-Length: {len(body)}\r\nConnection: close\r\n") + body
    with send(engine_url, request[:40]) as slow:  # slowloris: part of the request line and headers
        others_are_served(engine_url, starter_model)
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.recv(1)  # nothing answered a request that has not arrived
        slow.setblocking(True)
        slow.settimeout(HANG_LIMIT_S)
        slow.sendall(request[40:])  # the rest arrives: the request is served, then the connection closed
        assert statuses(read_until_closed(slow)) == [200]


@pytest.fixture(scope="module")
def small_engine(engine_models_dir, starter_model):
    """A second real engine on the same models, with a body limit a test can cross cheaply."""
    server = EngineServer(engine_models_dir, threads=1, max_body=SMALL_LIMIT)
    server.start()
    yield server
    server.stop()


def small_engine_serves(url: str, model: str) -> None:
    listed = httpx.get(url + "/api/tags", timeout=HANG_LIMIT_S).json()["models"]
    assert model in [m["name"] for m in listed]


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(small_engine, starter_model):
    url = small_engine.url
    # One chunk announcing 2**64-1 bytes, then just past the limit of them: refused at the limit.
    with send(url, head("POST", CHUNKED) + b"ffffffffffffffff\r\n" + b"x" * (SMALL_LIMIT + 1)) as bad:
        small_engine_serves(url, starter_model)
        received = read_until_closed(bad)
    assert statuses(received) == [413] and b'"error"' in received


def test_a_content_length_over_the_limit_is_refused_from_the_header(small_engine, starter_model):
    url = small_engine.url
    with send(url, head("POST", f"Content-Length: {SMALL_LIMIT + 1}\r\n")) as bad:
        small_engine_serves(url, starter_model)
        assert statuses(read_until_closed(bad)) == [413]
    within = httpx.post(url + "/api/show", json={"model": starter_model}, timeout=HANG_LIMIT_S)
    assert within.status_code == 200  # under the limit is served as before


@pytest.mark.parametrize("option", [
    '"temperature": NaN', '"top_p": Infinity', '"repeat_penalty": -Infinity', '"num_predict": 1e999',
    '"seed": NaN'])
@pytest.mark.parametrize("route", ["/api/chat", "/api/generate"])
def test_nan_and_infinity_in_options_are_400(engine_url, starter_model, route, option):
    body = ('{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "prompt": "hi", '
            '"stream": false, "options": {%s}}') % (starter_model, option)
    response = httpx.post(engine_url + route, content=body.encode(), timeout=HANG_LIMIT_S)
    assert response.status_code == 400
    error = response.json()
    assert list(error) == ["error"] and isinstance(error["error"], str) and error["error"]
