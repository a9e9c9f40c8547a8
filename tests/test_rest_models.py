"""The models API end to end against the running app and its embedded engine's real model."""

from __future__ import annotations

import json

import httpx
import pytest

from workspace.settings import Role


@pytest.fixture
def api(running_app):
    url, _ = running_app
    with httpx.Client(base_url=url + "/api", timeout=120) as client:
        yield client


def test_models_lists_backends_models_and_roles(api, starter_model):
    overview = api.get("/models").json()
    assert overview["backends"][0]["kind"] == "embedded" and overview["backends"][0]["healthy"]
    model = next(m for m in overview["models"] if m["name"] == starter_model)
    assert {"name", "backend", "capabilities", "context_length", "size", "loaded"} <= model.keys()
    assert set(overview["roles"]) == {role.value for role in Role}


def test_warm_up_loads_the_model(api, starter_model):
    reply = api.post(f"/models/{starter_model}/load")
    assert reply.status_code == 200 and reply.json()["done_reason"] == "load"
    model = next(m for m in api.get("/models").json()["models"] if m["name"] == starter_model)
    assert model["loaded"] is not None


def test_names_with_slashes_and_colons_reach_the_backend(api):
    reply = api.post("/models/hf.co/org/model:tag/load")
    assert reply.status_code == 404 and "hf.co/org/model:tag" in reply.json()["error"]


def test_pull_on_the_embedded_engine_streams_a_clear_offline_message(api, engine_models_dir):
    with api.stream("POST", "/models/pull", json={"name": "llama3.1:8b"}) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in reply.iter_lines() if line]
    assert lines[-1]["done"] is True and lines[-1]["status"] == "failed"
    assert "offline" in lines[-1]["error"] and str(engine_models_dir) in lines[-1]["error"]


@pytest.mark.parametrize("call", [
    lambda api: api.post("/models/pull", json={"name": "../etc/passwd"}),
    lambda api: api.delete("/models/bad name"),
    lambda api: api.post("/models/x:y:z/load"),
])
def test_bad_names_are_a_clear_400(api, call):
    reply = call(api)
    assert reply.status_code == 400 and "not a model name" in reply.json()["error"]


def test_deleting_from_the_embedded_engine_points_to_its_folder(api, engine_models_dir):
    reply = api.delete("/models/hf.co/org/model:tag")
    assert reply.status_code == 400 and str(engine_models_dir) in reply.json()["error"]


def test_cancelling_a_pull_that_does_not_run_says_so(api):
    assert api.post("/models/pull/cancel", json={"name": "good:1b"}).json() == {"name": "good:1b",
                                                                                 "cancelled": False}
