"""The gateway turns every failure into a domain error that tells the user what to do.

A closed loopback port stands in for "Ollama is not running"; the engine fixture serves the real
starter model for the errors a live server gives.
"""

import socket
import time

import pytest

from workspace.llm import BackendUnavailable, BadRequest, Delta, Final, LLMGateway, ModelNotFound


@pytest.fixture
def dead_host():
    with socket.socket() as sock:  # bind then close: nothing listens on this port any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_engine_down_streaming_raises_backend_unavailable(dead_host):
    gateway = LLMGateway(dead_host, connect_timeout_s=1)
    with pytest.raises(BackendUnavailable, match=r"not reachable at .*ollama serve"):
        list(gateway.chat_stream("any", [{"role": "user", "content": "hi"}]))


@pytest.mark.parametrize("call", ["list_models", "model_info"])
def test_engine_down_non_streaming_raises_backend_unavailable(dead_host, call):
    gateway = LLMGateway(dead_host, connect_timeout_s=1)
    with pytest.raises(BackendUnavailable, match="not reachable"):
        getattr(gateway, call)(*(["any"] if call == "model_info" else []))


def test_health_is_false_and_quick_when_down(dead_host):
    assert LLMGateway(dead_host).health() is False


def test_empty_model_name_is_a_clear_error(dead_host):
    with pytest.raises(BadRequest, match="No model is set"):
        list(LLMGateway(dead_host).chat_stream(" ", [{"role": "user", "content": "hi"}]))


def test_unknown_model_raises_model_not_found(engine_url):
    gateway = LLMGateway(engine_url)
    with pytest.raises(ModelNotFound, match=r"ollama pull no-such-model"):
        list(gateway.chat_stream("no-such-model", [{"role": "user", "content": "hi"}]))
    with pytest.raises(ModelNotFound):
        gateway.model_info("no-such-model")


def test_stream_yields_deltas_then_final_stats(engine_url, starter_model):
    gateway = LLMGateway(engine_url)
    items = list(gateway.chat_stream(starter_model, [{"role": "user", "content": "Say hello."}],
                                     options={"num_predict": 8, "temperature": 0, "seed": 1}))
    assert all(isinstance(item, Delta) for item in items[:-1]) and isinstance(items[-1], Final)
    final = items[-1]
    assert final.done_reason in ("stop", "length")
    assert final.stats["eval_count"] > 0 and final.stats["eval_duration"] > 0
    assert "".join(item.text for item in items[:-1]).strip()


def test_model_info_reports_context_length_and_is_cached(engine_url, starter_model):
    gateway = LLMGateway(engine_url)
    info = gateway.model_info(starter_model)
    assert info.context_length and info.context_length >= 2048
    assert "completion" in info.capabilities
    assert gateway.model_info(starter_model) is info
    assert starter_model in gateway.list_models()
    assert info in gateway.catalog()  # the list with capabilities reuses the cached details


def test_closing_a_stream_closes_the_http_response_and_stops_the_compute(engine_server, starter_model):
    gateway = LLMGateway(engine_server.url)
    before = engine_server.counters(starter_model)
    stream = gateway.chat_stream(starter_model, [{"role": "user", "content": "Count to 500."}],
                                 options={"num_predict": 1000, "temperature": 0})
    assert isinstance(next(stream), Delta)
    stream.close()
    # The engine notices the closed connection and records the generation as cancelled.
    deadline = time.monotonic() + 60
    while engine_server.counters(starter_model).cancelled == before.cancelled:
        assert time.monotonic() < deadline, "the engine kept generating for a closed stream"
        time.sleep(0.05)
    after = engine_server.counters(starter_model)
    assert after.generated_tokens - before.generated_tokens < 1000
