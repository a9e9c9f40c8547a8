"""One chat's slow model server holds up no other chat: per-chat locks, no network call under a lock,
and model details cached (failures briefly, so a down host is not asked on every turn)."""

from __future__ import annotations

import threading

from tests.stub_backend import StalledBackend
from workspace.llm import LLMGateway, ModelNotFound

LIMIT_S = 60  # only turns a hang into a failure


def new_chat(services, title="Chat"):
    return services.store.create_chat(services.store.create_profile("Concurrency").id, title=title).id


def in_thread(fn) -> threading.Event:
    done = threading.Event()

    def run():
        fn()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def test_a_stalled_backend_blocks_no_other_chat(services, engine_url):
    stalled_chat, other_chat = new_chat(services, "stalled"), new_chat(services, "other")
    with StalledBackend(stall=("/api/show",)) as stalled:
        services.backend.host = stalled.url  # /api/show never answers there
        started: list = []
        assert in_thread(lambda: started.append(services.chat.send(stalled_chat, "Hello?"))).wait(LIMIT_S), \
            "send waited for the model server"
        assert stalled.arrived["/api/show"].wait(LIMIT_S)
        # Meanwhile another chat opens, answers and lists, on a backend that works.
        services.backend.host = engine_url
        other: list = []
        assert in_thread(lambda: other.append(services.chat.send(other_chat, "Say hi."))).wait(LIMIT_S)
        assert other[0].finished.wait(LIMIT_S * 2)
        assert [m.status for m in services.chat.messages(other_chat)] == ["ok", "ok"]
        # The stalled chat has its user message stored and its answer pending.
        assert [(m.role, m.status) for m in services.chat.messages(stalled_chat)] == [
            ("user", "ok"), ("assistant", "streaming")]
        assert services.chat.stop(stalled_chat)
    assert started[0].finished.wait(LIMIT_S)
    assert services.chat.messages(stalled_chat)[-1].status == "stopped"


def test_model_info_failures_are_cached_briefly():
    with StalledBackend(stall=()) as backend:  # answers 404 to everything
        gateway = LLMGateway(backend.url)
        for _ in range(3):
            try:
                gateway.model_info("ghost:1b")
            except ModelNotFound:
                pass
            else:
                raise AssertionError("a missing model was reported as present")
        gateway.close()
    assert backend.hits["/api/show"] == 1
