"""A client that leaves stops the compute; a full queue answers 503; the module runs alone.

Nothing here measures wall-clock time or waits for a timeout: clients leave by closing their connection,
and cancellation is proved by the engine's own counters (a generation asked for hundreds of tokens is
recorded as cancelled after a handful).
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import httpx
import ollama
import pytest

from tests.engine.helpers import free_port, wait_for
from workspace.engine import EngineServer

LONG = {"temperature": 0, "seed": 3, "num_predict": 400}
LONG_PROMPT = [{"role": "user", "content": "Count from 1 to 300, one number per line."}]


def _read_chunks_then_leave(url: str, model: str, chunks: int) -> None:
    request = {"model": model, "messages": LONG_PROMPT, "options": LONG}
    with httpx.Client(base_url=url, timeout=300) as client, \
            client.stream("POST", "/api/chat", json=request) as response:
        lines = response.iter_lines()
        for _ in range(chunks):
            assert '"done":false' in next(lines)
    # leaving both `with` blocks closed the connection mid-stream


def test_closing_a_stream_stops_the_generation(engine_server, engine_url, starter_model):
    before = engine_server.counters(starter_model)
    _read_chunks_then_leave(engine_url, starter_model, chunks=3)
    # The next request is served (it waits for the slot the cancelled generation frees).
    answer = ollama.Client(host=engine_url, timeout=300).chat(
        starter_model, [{"role": "user", "content": "Say yes."}],
        options={"temperature": 0, "num_predict": 4})
    assert answer.done
    after = engine_server.counters(starter_model)
    assert after.cancelled == before.cancelled + 1
    assert after.generations == before.generations + 2
    # 400 tokens were asked for; the engine stopped within a few tokens of the client leaving.
    assert after.generated_tokens - before.generated_tokens < 40


def _send_then_leave(url: str, path: str, request: dict) -> None:
    """Put one whole request on the wire, then close the connection without reading a byte of the answer."""
    address = urlsplit(url)
    body = json.dumps(request).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port)) as sock:
        sock.sendall(head + body)


def test_a_non_streaming_client_that_leaves_stops_the_generation(engine_server, engine_url, starter_model):
    before = engine_server.counters(starter_model)
    _send_then_leave(engine_url, "/api/chat",
                     {"model": starter_model, "messages": LONG_PROMPT, "options": LONG, "stream": False})
    wait_for(lambda: engine_server.counters(starter_model).cancelled > before.cancelled,
              "the cancelled generation to be recorded")
    assert engine_server.counters(starter_model).generated_tokens - before.generated_tokens < 400


def test_leaving_during_a_long_prompt_evaluation_stops_it_midway(engine_server, engine_url, starter_model):
    before = engine_server.counters(starter_model)
    # A fresh nonce first, so no cached prefix shortens the ~2900-token evaluation.
    prompt = f"[{secrets.token_hex(8)}] Summarise this log:\n" + "".join(
        f"line {i}: service ok, latency {i % 97} ms\n" for i in range(200))
    # The client is gone before the first token could be sampled: while the prompt is evaluated at the latest.
    _send_then_leave(engine_url, "/api/generate", {"model": starter_model, "prompt": prompt,
                                                    "options": {"num_predict": 8}})
    wait_for(lambda: engine_server.counters(starter_model).cancelled > before.cancelled,
              "the aborted prompt evaluation to be recorded")
    # Not one token was sampled: the decode of the prompt itself was aborted.
    assert engine_server.counters(starter_model).generated_tokens == before.generated_tokens


@pytest.fixture
def no_queue_engine(engine_models_dir, starter_model):
    """A second engine on the same (verified) models folder, with one slot and no room to queue."""
    server = EngineServer(engine_models_dir, threads=2, max_queue=0, parallel=1)
    server.start()
    yield server
    server.stop()


def test_full_queue_is_503_then_served_again(no_queue_engine, starter_model):
    url = no_queue_engine.url
    request = {"model": starter_model, "messages": LONG_PROMPT, "options": LONG}
    quick = {"model": starter_model, "prompt": "Hi", "stream": False, "options": {"num_predict": 2}}
    with httpx.Client(base_url=url, timeout=300) as first, first.stream("POST", "/api/chat", json=request) as running:
        lines = running.iter_lines()  # keep it: a dropped iterator closes the connection
        next(lines)  # the model is generating now
        busy = httpx.post(url + "/api/generate", json=quick, timeout=60)
        assert busy.status_code == 503
        assert busy.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}
        with pytest.raises(ollama.ResponseError) as caught:
            ollama.Client(host=url).generate(starter_model, "Hi", options={"num_predict": 2})
        assert caught.value.status_code == 503
    wait_for(lambda: no_queue_engine.counters(starter_model).cancelled == 1, "the first stream to stop")
    assert httpx.post(url + "/api/generate", json=quick, timeout=300).status_code == 200


def test_module_runs_alone_and_answers(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "workspace.engine", "--port", str(port), "--models-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def answers() -> bool:
            assert process.poll() is None, process.stdout.read().decode()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/version", timeout=2).status_code == 200
            except httpx.TransportError:
                return False
        wait_for(answers, "the engine process to answer", limit_s=60)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
