"""The models service: listing, details, loaded state and warm-up against the embedded engine's real
model; pull progress, cancel, a mid-stream error and delete against a stub replaying Ollama's stream."""

from __future__ import annotations

import threading

import pytest

from tests.stub_ollama_pull import DIGEST, StubOllama
from workspace.backend import Backend
from workspace.llm import LLMGateway, ModelNotFound
from workspace.models_service import ModelsError, ModelsService, check_name
from workspace.routing import ModelRouter
from workspace.settings import load_settings


def test_overview_lists_the_engines_models_with_details_and_roles(services, starter_model, engine_url):
    overview = services.models.overview()
    assert overview["backends"][0]["host"] == engine_url and overview["backends"][0]["healthy"]
    model = next(m for m in overview["models"] if m["name"] == starter_model)
    assert "completion" in model["capabilities"] and model["context_length"] > 0 and model["size"] > 0
    assert model["backend"] == engine_url and model["parameter_size"]
    assert overview["roles"]["chat"] == {"model": starter_model, "requested": starter_model, "source": "global",
                                         "host": engine_url, "substituted": False, "backend": "default"}


def test_warm_up_loads_the_model_and_shows_it_loaded(services, starter_model):
    result = services.models.load(starter_model)
    assert result["done_reason"] == "load"
    loaded = next(m for m in services.models.overview()["models"] if m["name"] == starter_model)["loaded"]
    assert loaded is not None and loaded["size"] > 0 and loaded["expires_at"]


def test_pulling_from_the_offline_engine_says_where_models_go(services, engine_models_dir):
    lines = list(services.models.pull("llama3.1:8b"))
    assert lines[-1]["done"] and lines[-1]["status"] == "failed"
    assert "offline" in lines[-1]["error"] and str(engine_models_dir) in lines[-1]["error"]
    assert services.models.pulling() == []


@pytest.mark.parametrize("name", ["", "../etc", "a b", "x:", "/x", "x//y", "a" * 201, "x:y:z"])
def test_bad_names_are_refused_before_anything_is_sent(name):
    with pytest.raises(ModelsError, match="not a model name"):
        check_name(name)


@pytest.mark.parametrize("name", ["qwen2.5-coder:1.5b", "hf.co/org/model:tag", "localhost:5000/ns/m:latest", "m"])
def test_good_names_pass(name):
    assert check_name(name) == name


@pytest.fixture
def stub_models(tmp_path):
    with StubOllama() as stub:
        settings = load_settings(data_dir=tmp_path, ollama={"host": stub.url}, engine={"mode": "never"})
        gateway = LLMGateway(stub.url)
        backend = Backend("ollama", stub.url, preferred_model=None)
        service = ModelsService(settings, gateway, backend, ModelRouter(settings, backend))
        yield stub, service
        gateway.close()


def test_pull_passes_ollamas_progress_through_then_success(stub_models):
    stub, service = stub_models
    lines = list(service.pull("good:1b"))
    progress = [line for line in lines if "completed" in line]
    assert [p["completed"] for p in progress] == [400, 1000] and {p["total"] for p in progress} == {1000}
    assert {p["digest"] for p in progress} == {DIGEST} and lines[0] == {"status": "pulling manifest"}
    assert lines[-1] == {"done": True, "status": "success", "name": "good:1b", "backend": stub.url}
    assert "good:1b" in service.backend.models()  # routing sees the new model at once


def test_an_error_mid_pull_ends_with_its_message(stub_models):
    _, service = stub_models
    lines = list(service.pull("broken:1b"))
    assert lines[-2]["completed"] == 400
    assert lines[-1]["status"] == "failed" and "max retries exceeded" in lines[-1]["error"]
    assert service.pulling() == []


def test_cancel_cuts_a_waiting_pull_and_the_server_sees_it_leave(stub_models):
    stub, service = stub_models
    lines: list[dict] = []
    worker = threading.Thread(target=lambda: lines.extend(service.pull("slow:1b")))
    worker.start()
    assert stub.stalled.wait(30)
    with pytest.raises(ModelsError, match="already being pulled"):
        service.pull("slow:1b")
    assert service.cancel_pull("slow:1b")
    worker.join(30)
    assert lines[-1]["status"] == "cancelled" and lines[-2]["completed"] == 400
    assert stub.left.wait(30) and not service.cancel_pull("slow:1b")


def test_delete_removes_the_model_and_an_unknown_one_is_not_found(stub_models):
    _, service = stub_models
    service.delete("old:1b")
    assert "old:1b" not in service.backend.models()
    with pytest.raises(ModelNotFound):
        service.delete("old:1b")


def test_the_embedded_engine_does_not_delete_but_says_where_its_files_are(tmp_path):
    settings = load_settings(data_dir=tmp_path, engine={"mode": "never"})
    backend = Backend("embedded", "http://127.0.0.1:1", preferred_model=None)
    service = ModelsService(settings, LLMGateway(backend.host), backend, ModelRouter(settings, backend))
    with pytest.raises(ModelsError, match=str(settings.models_dir)):
        service.delete("some:1b")


def test_keep_alive_is_sent_with_the_warm_up(engine_url, starter_model):
    gateway = LLMGateway(engine_url, keep_alive=0.0)  # 0: unload right away, which the server says back
    try:
        assert gateway.load(starter_model) == "unload"
    finally:
        gateway.close()


@pytest.mark.parametrize("value, sent", [("", None), ("300", 300.0), ("-1", -1.0), ("5m", "5m"), ("1h30m", "1h30m")])
def test_keep_alive_setting_takes_seconds_or_durations(tmp_path, value, sent):
    settings = load_settings(data_dir=tmp_path, ollama={"keep_alive": value})
    assert settings.ollama.keep_alive_value() == sent


def test_a_keep_alive_that_is_no_duration_is_refused(tmp_path):
    from workspace.settings import SettingsError
    with pytest.raises(SettingsError, match="keep_alive"):
        load_settings(data_dir=tmp_path, ollama={"keep_alive": "soon"})
