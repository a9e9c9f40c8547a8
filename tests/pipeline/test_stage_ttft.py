"""Time to first token per pipeline stage: `RunContext.generate` records it when the first token arrives (a
stage stopped before any token has none), a run's history record carries it for every stage that called a
model, and the dashboard's per-model aggregates show it. Scripted model, real pipeline, history and index."""

from __future__ import annotations

import threading

import pytest

from tests.pipeline.scripted import ScriptedGateway, fenced
from workspace.dashboard.service import DashboardService
from workspace.llm import LLMError
from workspace.pipeline.context import RunContext
from workspace.routing import EffectiveModel, Role

MODEL = EffectiveModel(Role("coder"), "s-coder", "s-coder", "global", "http://scripted.invalid", False)


def test_generate_records_the_first_token_once():
    context = RunContext(ScriptedGateway(lambda *_: "some answer text that spans tokens"), emit=lambda _: None)
    record = context.open_stage("coder", "coder #1", MODEL)
    assert record.ttft_s is None
    context.generate(record, [{"role": "user", "content": "hi"}], options={}, stop_at_block=False)
    first = record.ttft_s
    assert first is not None and first >= 0 and context.close_stage(record, "done").as_dict()["ttft_s"] == first


def test_a_stage_that_fails_before_its_first_token_has_none():
    class Failing(ScriptedGateway):
        def chat_stream(self, *args, **kwargs):
            raise LLMError("the model server went away")
            yield  # a generator, like the real one

    context = RunContext(Failing(lambda *_: ""), emit=lambda _: None, cancel=threading.Event())
    record = context.open_stage("coder", "coder #1", MODEL)
    with pytest.raises(LLMError):
        context.generate(record, [{"role": "user", "content": "hi"}], options={})
    assert record.ttft_s is None


def test_each_model_stage_of_a_run_carries_ttft_into_the_history_and_the_dashboard(make_scripted):
    scripted = make_scripted(lambda *_: fenced("def add(a, b):\n    return a - b"))  # wrong: later stages run
    profile = scripted.store.create_profile("P")
    run = scripted.pipeline.start("Write `add(a, b)`.\n>>> add(2, 3)\n5\n", "python", profile.id)
    assert run.finished.wait(120)
    called = [s for s in run.result["stages"] if s["status"] == "done" and s["model_used"]]
    assert called and all(s["ttft_s"] is not None and s["ttft_s"] >= 0 for s in called)
    assert all(s["ttft_s"] is None for s in run.result["stages"] if s["status"] == "skipped")
    dashboard = DashboardService(scripted.data_dir / "logs")
    try:
        stages = dashboard.run(run.run_id)["stages"]
        assert [s["ttft_s"] for s in stages] == [s["ttft_s"] for s in run.result["stages"]]
        models = {m["model"]: m for m in dashboard.stats(profile_id=profile.id)["models"]}
        for name in {s["model_used"] for s in called}:
            assert models[name]["mean_ttft_seconds"] is not None
    finally:
        dashboard.close()
