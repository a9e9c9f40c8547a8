"""The dashboard's API end to end: the running app (embedded engine, real starter model) answers a chat turn,
a pipeline run and a study question, and each shows up in `/api/dashboard/history` with its fields; the
filters, paging, one run's detail, the aggregates, the backend status and the Gradio endpoint agree.
Asserts structure and counts, never model text."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.test_app import client_for

ADD_TASK = "Write a Python function `add(a, b)` that returns a + b.\n>>> add(2, 3)\n5\n"
STAGE_FIELDS = {"stage", "status", "model_asked", "model_used", "level", "host", "tokens_in", "tokens_out", "seconds"}


@pytest.fixture(scope="module")
def activity(running_app):
    """One chat turn, one pipeline run and one study answer in a profile of their own."""
    url, _ = running_app
    with httpx.Client(base_url=url + "/api", timeout=600) as api:
        before = time.time()
        profile = api.post("/profiles", json={"name": "Dashboard"}).json()["id"]
        chat = api.post(f"/profiles/{profile}/chats", json={"title": "Chat"}).json()["id"]
        message = api.post("/chat", json={"chat_id": chat, "message": "Say OK."}).json()
        run = api.post("/code", json={"task": ADD_TASK, "profile_id": profile}).json()
        study = api.post("/study", json={"topic": "What is a tuple? One sentence.", "profile_id": profile}).json()
        yield {"api": api, "url": url, "profile": profile, "chat": chat, "message": message, "run": run,
               "study": study, "before": before, "after": time.time()}


def history(api, **params) -> dict:
    response = api.get("/dashboard/history", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_kind_of_run_is_in_the_history_with_its_fields(activity):
    api, profile = activity["api"], activity["profile"]
    got = history(api, profile_id=profile)
    assert got["total"] == 3 and got["skipped_lines"] == 0
    by_kind = {r["kind"]: r for r in got["runs"]}
    assert [r["kind"] for r in got["runs"]] == ["study", "pipeline", "chat"]  # newest first
    chat, pipeline, study = by_kind["chat"], by_kind["pipeline"], by_kind["study"]
    assert chat["run_id"] == activity["message"]["id"] and chat["chat_id"] == activity["chat"]
    assert study["chat_id"] == activity["study"]["chat_id"]
    for record in (chat, study):
        assert record["outcome"] == "unverified" and len(record["stages"]) == 1
        stage = record["stages"][0]
        assert STAGE_FIELDS <= set(stage) and stage["tokens_out"] > 0
        assert stage["ttft_s"] is not None and stage["ttft_s"] > 0  # from the model's final stats
    assert pipeline["run_id"] == activity["run"]["run_id"] and pipeline["outcome"] == activity["run"]["outcome"]
    assert {"task", "final_code", "confidence", "checks", "escalations", "isolation", "judge_score"} <= set(pipeline)
    assert pipeline["checks"]
    assert all(STAGE_FIELDS | {"label", "output", "ttft_s"} <= set(s) for s in pipeline["stages"])
    answered = [s for s in pipeline["stages"] if s["tokens_out"] > 0]
    assert answered and all(s["ttft_s"] > 0 for s in answered)  # each model stage's first token, by the run's clock
    for record in got["runs"]:
        assert activity["before"] <= record["started_at"] <= record["ended_at"] <= activity["after"]


def test_filters_and_paging(activity):
    api, profile = activity["api"], activity["profile"]
    run_id = activity["run"]["run_id"]
    assert [r["run_id"] for r in history(api, profile_id=profile, kind="pipeline")["runs"]] == [run_id]
    model = activity["message"]["model"]
    assert history(api, profile_id=profile, model=model)["total"] == 3
    assert history(api, profile_id=profile, model="no-such-model:1b")["total"] == 0
    assert history(api, profile_id=profile, outcome="unverified")["total"] == 2
    assert [r["run_id"] for r in history(api, profile_id=profile, stage="coder")["runs"]] == [run_id]
    assert history(api, profile_id=profile, stage="chat")["total"] == 1
    assert [r["run_id"] for r in history(api, profile_id=profile, confidence_min=0, confidence_max=100)["runs"]] \
        == [run_id]  # only the pipeline run has a confidence
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(activity["before"] - 1))
    assert history(api, profile_id=profile, since=iso)["total"] == 3
    assert history(api, profile_id=profile, until=str(activity["before"] - 1))["total"] == 0
    pages = [history(api, profile_id=profile, limit=1, offset=i) for i in range(4)]
    assert [len(p["runs"]) for p in pages] == [1, 1, 1, 0] and all(p["total"] == 3 for p in pages)
    assert [p["runs"][0]["kind"] for p in pages[:3]] == ["study", "pipeline", "chat"]


def test_bad_filters_are_a_clear_4xx(activity):
    api = activity["api"]
    for params in [{"kind": "poem"}, {"outcome": "great"}, {"since": "last tuesday"}, {"since": "10", "until": "5"},
                   {"confidence_min": "high"}, {"confidence_max": "150"}]:
        response = api.get("/dashboard/history", params=params)
        assert response.status_code == 400 and response.json()["error"]
    assert api.get("/dashboard/history", params={"limit": 0}).status_code == 422
    assert api.get("/dashboard/stats", params={"kind": "poem"}).status_code == 400
    assert api.get("/dashboard/runs/no-such-run").status_code == 404


def test_run_detail_stats_and_backend(activity):
    api, profile = activity["api"], activity["profile"]
    detail = api.get(f"/dashboard/runs/{activity['run']['run_id']}").json()
    assert detail["task"] == ADD_TASK and detail["stages"][0]["output"]
    stats = api.get("/dashboard/stats", params={"profile_id": profile}).json()
    assert stats["tiles"]["runs"] == 3 and stats["tiles"]["pipeline_runs"] == 1 and stats["index"]["complete"]
    assert sum(v["runs"] for v in stats["volume"]) == 3
    model = activity["message"]["model"]
    row = next(m for m in stats["models"] if m["model"] == model)
    assert row["calls"] >= 3 and row["p50_seconds"] > 0 and row["mean_ttft_seconds"] > 0
    pipeline_only = api.get("/dashboard/stats", params={"profile_id": profile, "kind": "pipeline"}).json()
    assert all(m["mean_ttft_seconds"] > 0 for m in pipeline_only["models"])  # pipeline stages record it too
    assert {s["stage"] for s in stats["stages"]} >= {"chat", "study", "coder"}
    backend = api.get("/dashboard/backend").json()
    assert backend["kind"] == "embedded" and backend["up"] is True and backend["version"]
    assert model in backend["installed"] and backend["roles"] and all(r["up"] for r in backend["roles"])


def test_gradio_endpoint_gives_the_same_history(activity):
    client = client_for(activity["url"])
    got = client.predict(5, 0, activity["profile"], "", "", "", "", "", api_name="/dashboard_history")
    assert got["total"] == 3 and [r["kind"] for r in got["runs"]] == ["study", "pipeline", "chat"]
    coder_runs = client.predict(5, 0, activity["profile"], "", "", "", "", "", "coder", "", "",
                                api_name="/dashboard_history")
    assert [r["kind"] for r in coder_runs["runs"]] == ["pipeline"]  # the stage filter, as REST has it
