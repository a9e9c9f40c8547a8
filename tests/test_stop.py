"""Stop is immediate: it cuts the model's connection from the stopping thread, whatever the server does."""

from __future__ import annotations

import secrets

import pytest

from tests.engine.helpers import wait_for
from tests.stub_backend import StalledBackend

LIMIT_S = 60  # only turns a broken Stop into a failure; nothing waits for it to expire


@pytest.fixture
def stalled():
    with StalledBackend() as backend:
        yield backend


def new_chat(services):
    return services.store.create_chat(services.store.create_profile("Stop").id).id


def test_stop_with_a_stalled_backend_ends_the_turn_and_closes_its_connection(services, stalled):
    services.backend.host = stalled.url  # answers nothing to /api/chat, for as long as it is left alone
    chat_id = new_chat(services)
    turn = services.chat.send(chat_id, "Hello?")
    assert stalled.arrived["/api/chat"].wait(LIMIT_S)
    assert services.chat.stop(chat_id)
    assert turn.finished.wait(LIMIT_S), "the turn waited for the backend"
    assert stalled.left["/api/chat"].wait(LIMIT_S), "the backend's connection stayed open"
    answer = services.chat.messages(chat_id)[-1]
    assert (answer.role, answer.status, answer.error) == ("assistant", "stopped", None)
    assert services.chat.running(chat_id) is None


def test_stop_during_a_long_prompt_evaluation_stops_the_engine_before_any_token(
        make_services, engine_server, starter_model):
    services = make_services(num_predict=8)
    chat_id = new_chat(services)
    before = engine_server.counters(starter_model)
    # A fresh nonce first, so no cached prefix shortens the evaluation.
    prompt = f"[{secrets.token_hex(8)}] Summarise this log:\n" + "".join(
        f"line {i}: service ok, latency {i % 97} ms\n" for i in range(180))
    turn = services.chat.send(chat_id, prompt)
    assert turn.closer.sent.wait(LIMIT_S)
    assert services.chat.stop(chat_id)
    assert turn.finished.wait(LIMIT_S)
    wait_for(lambda: engine_server.counters(starter_model).cancelled > before.cancelled,
             "the engine to record the cancelled evaluation")
    # Not one token was sampled: Stop reached the engine while it was still reading the prompt.
    assert engine_server.counters(starter_model).generated_tokens == before.generated_tokens
    assert services.chat.messages(chat_id)[-1].status == "stopped"
    assert services.chat.running(chat_id) is None
