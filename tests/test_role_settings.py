"""A role's global default model and its backend, changed over REST on the real services: saved to the
settings file (comments kept, read back at the next start), applied at once, the override rule kept;
refusals change nothing; an API key stays in the data folder and out of every log and reply; a backend
that is down fails only the role that uses it, naming it."""

from __future__ import annotations

import json
import stat

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loguru import logger

from workspace import api, api_models
from workspace.llm_openai import KEYS_FILE
from workspace.settings import Role, load_settings


@pytest.fixture
def client(services, settings_path):
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api_models.router(services))
    app.include_router(api.router(services))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def chat_turn(client, services, text="Say hi."):
    chat_id = services.store.create_chat(services.profiles()[0].id).id
    reply = client.post("/api/chat", json={"chat_id": chat_id, "message": text})
    assert reply.status_code == 200
    return reply.json()


def test_a_global_default_is_saved_to_the_settings_file_and_applied_at_once(client, services, settings_path,
                                                                             starter_model):
    reply = client.put("/api/models/roles/coder/default", json={"model": starter_model})
    assert reply.status_code == 200
    assert reply.json()["model"] == starter_model and reply.json()["source"] == "global"
    assert services.router.effective(Role.CODER).requested == starter_model
    # The override rule still holds: chat > profile > global.
    assert services.router.effective(Role.CODER, {"coder": "p:1b"}).source == "profile"
    assert services.router.effective(Role.CODER, {"coder": "p:1b"}, {"coder": "c:1b"}).requested == "c:1b"
    text = settings_path.read_text()
    assert f'coder = "{starter_model}"' in text and "# Global default model per role" in text  # comments kept
    assert load_settings().models.coder == starter_model  # what the next start reads
    assert client.put("/api/models/roles/escalation/default", json={"model": ""}).status_code == 200
    assert services.router.effective(Role.ESCALATION).requested == services.router.effective(Role.REVIEWER).requested


@pytest.mark.parametrize("url, body, status, said", [
    ("/api/models/roles/coder/default", {"model": "../etc"}, 400, "not a model name"),
    ("/api/models/roles/chat/default", {"model": ""}, 400, "not a model name"),
    ("/api/models/roles/boss/default", {"model": "x:1b"}, 400, "not a role"),
    ("/api/models/roles/chat/backend", {"kind": "openai", "url": "https://api.example.com/v1"}, 400,
     "prompts would leave"),
    ("/api/models/roles/chat/backend", {"kind": "ollama", "url": "8.8.8.8"}, 400, "prompts would leave"),
    ("/api/models/roles/chat/backend", {"kind": "openai", "url": "ftp://10.0.0.2/v1"}, 400, "not an http"),
    ("/api/models/roles/chat/backend", {"kind": "grpc", "url": "http://10.0.0.2"}, 422, "kind"),
    ("/api/models/roles/chat/backend", {"kind": "ollama", "url": " "}, 400, "Give the Ollama host"),
])
def test_a_refused_change_says_why_and_changes_nothing(client, services, settings_path, url, body, status, said):
    before, roles = settings_path.read_bytes(), services.models.roles()
    reply = client.put(url, json=body)
    assert reply.status_code == status and said in reply.json()["error"]
    assert settings_path.read_bytes() == before and services.models.roles() == roles


def test_a_key_an_environment_variable_sets_is_not_edited_in_the_file(client, settings_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE_MODELS__CODER", "env:1b")
    before = settings_path.read_bytes()
    reply = client.put("/api/models/roles/coder/default", json={"model": "x:1b"})
    assert reply.status_code == 400 and "WORKSPACE_MODELS__CODER" in reply.json()["error"]
    assert settings_path.read_bytes() == before


def test_a_role_on_an_openai_server_chosen_over_rest_answers_and_its_key_is_never_shown(
        client, services, settings_path, engine_url, starter_model):
    logged: list[str] = []
    sink = logger.add(logged.append, level="TRACE")
    secret = "sk-local-7f3a9c"
    try:
        reply = client.put("/api/models/roles/chat/backend",
                           json={"kind": "openai", "url": engine_url + "/v1/", "api_key": secret})
        answer = chat_turn(client, services)
        overview = client.get("/api/models").text
    finally:
        logger.remove(sink)
    assert reply.status_code == 200 and reply.json()["host"] == engine_url + "/v1" and not reply.json()["remote"]
    assert reply.json()["backend"] == "openai"
    assert answer["status"] == "ok" and answer["content"].strip() and answer["stats"]["eval_count"] > 0
    assert load_settings().openai.role_urls[Role.CHAT] == engine_url + "/v1"
    keys = services.settings.data_dir / KEYS_FILE
    assert json.loads(keys.read_text()) == {engine_url + "/v1": secret}
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    for shown in (reply.text, json.dumps(answer), overview, settings_path.read_text(), *logged):
        assert secret not in shown
    back = client.put("/api/models/roles/chat/backend", json={"kind": "default"})
    assert back.json()["host"] == engine_url and Role.CHAT not in load_settings().openai.role_urls


def test_two_backends_one_down_only_its_role_fails_and_names_it(client, services, unused_port_url, engine_url,
                                                                 starter_model):
    down = unused_port_url
    assert client.put("/api/models/roles/chat/backend", json={"kind": "ollama", "url": down}).status_code == 200
    assert client.put("/api/models/roles/coder/default", json={"model": starter_model}).status_code == 200
    failed = chat_turn(client, services)
    assert failed["status"] == "failed" and down in failed["error"]
    coder = services.router.effective(Role.CODER)
    assert coder.host == engine_url
    _, final = services.gateway.chat(coder.model, [{"role": "user", "content": "Hi"}], options={"num_predict": 4},
                                     host=coder.host)
    assert final.stats["eval_count"] > 0
    backends = {b["host"]: b for b in client.get("/api/models").json()["backends"]}
    assert not backends[down]["healthy"] and backends[engine_url]["healthy"]
    client.put("/api/models/roles/chat/backend", json={"kind": "default"})
    assert chat_turn(client, services)["status"] == "ok"


def test_a_remote_backend_is_taken_only_when_allowed_and_said_to_receive_the_prompts(client, services):
    services.settings.openai.allow_remote = True
    reply = client.put("/api/models/roles/reviewer/backend", json={"kind": "openai", "url": "https://api.example.com/v1"})
    assert reply.status_code == 200 and reply.json()["remote"] is True
    assert services.router.effective(Role.REVIEWER).host == "https://api.example.com/v1"


def test_choosing_a_default_can_warm_it_up_and_a_failed_warm_up_still_saves(client, services, settings_path,
                                                                             starter_model, unused_port_url):
    reply = client.put("/api/models/roles/coder/default", json={"model": starter_model, "load": True}).json()
    assert reply["warm_up"] == "load"
    loaded = next(m for m in client.get("/api/models").json()["models"] if m["name"] == starter_model)["loaded"]
    assert loaded is not None
    client.put("/api/models/roles/study/backend", json={"kind": "ollama", "url": unused_port_url})
    reply = client.put("/api/models/roles/study/default", json={"model": starter_model, "load": True})
    assert reply.status_code == 200 and unused_port_url in reply.json()["warm_up_error"]
    assert load_settings().models.study == starter_model


def test_a_role_on_an_openai_server_takes_that_servers_model_ids(client, services, engine_url):
    client.put("/api/models/roles/judge/backend", json={"kind": "openai", "url": engine_url + "/v1"})
    reply = client.put("/api/models/roles/judge/default", json={"model": "/models/Qwen2.5-7B.gguf", "load": True})
    assert reply.status_code == 200 and reply.json()["requested"] == "/models/Qwen2.5-7B.gguf"
    assert "loads its models itself" in reply.json()["warm_up_error"]
    assert client.put("/api/models/roles/judge/default", json={"model": "two words"}).status_code == 400
