"""Cancel is immediate: a pipeline run waiting on a model server that never answers ends as cancelled, and
the server sees its connection closed (the real gateway over real HTTP, a stalled stub server)."""

from __future__ import annotations

from tests.stub_backend import StalledBackend
from workspace.llm import LLMGateway

LIMIT_S = 60  # only turns a broken Cancel into a failure; nothing waits for it to expire


def test_cancel_cuts_a_stalled_model_stream_at_once(make_scripted):
    with StalledBackend() as stalled:
        scripted = make_scripted(lambda *args: "")
        gateway = LLMGateway(stalled.url)
        scripted.pipeline.gateway = gateway
        scripted.pipeline.router.backend.host = stalled.url
        profile = scripted.store.create_profile("P")
        run = scripted.pipeline.start("Write `f(x)` returning x.\n>>> f(1)\n1", "python", profile.id)
        assert stalled.arrived["/api/chat"].wait(LIMIT_S)
        assert run.cancel()
        assert run.finished.wait(LIMIT_S), "the run waited for the model server"
        assert stalled.left["/api/chat"].wait(LIMIT_S), "the model server's connection stayed open"
        assert run.result["outcome"] == "cancelled"
        assert {s["stage"] for s in run.result["stages"]} == {"coder"}  # the drafts, asked for together
        gateway.close()
