"""A role on an OpenAI-compatible server: the embedded engine's real `/v1` API as that server, next to the
engine's Ollama API as the main backend; a down server fails only its roles, naming itself."""

from __future__ import annotations

import json

import pytest

from workspace.llm import Delta, Final
from workspace.llm_openai import KEYS_FILE, read_key
from workspace.services import build_services
from workspace.settings import Role, SettingsError, load_settings


@pytest.fixture
def services_with(tmp_path, engine_url, starter_model):
    built = []

    def make(role_urls):
        settings = load_settings(data_dir=tmp_path / "data", ollama={"host": engine_url}, engine={"mode": "never"},
                                 models={"chat": starter_model, "coder": starter_model}, chat={"num_predict": 16},
                                 openai={"role_urls": role_urls})
        built.append(build_services(settings))
        return built[-1]

    yield make
    for services in built:
        services.close()


def answer_of(services, text="Say hi."):
    chat_id = services.store.create_chat(services.profiles()[0].id).id
    services.chat.send(chat_id, text)
    snapshots = list(services.chat.follow(chat_id))
    return snapshots, services.chat.messages(chat_id)[-1]


def test_a_role_on_an_openai_compatible_server_chats_with_streaming_and_stats(services_with, engine_url,
                                                                               starter_model):
    services = services_with({"chat": engine_url + "/v1"})
    assert services.router.effective(Role.CHAT).host == engine_url + "/v1"
    snapshots, answer = answer_of(services)
    assert answer.status == "ok" and answer.content.strip() and answer.model == starter_model
    assert answer.stats["eval_count"] > 0 and answer.stats["prompt_eval_count"] > 0 and len(snapshots) > 1
    kinds = {type(item) for item in services.gateway.chat_stream(starter_model, [{"role": "user", "content": "Hi"}],
                                                                  options={"num_predict": 4}, host=engine_url + "/v1")}
    assert kinds == {Delta, Final}
    overview = services.models.overview()
    server = next(b for b in overview["backends"] if b["host"] == engine_url + "/v1")
    assert server["kind"] == "openai" and server["healthy"]
    assert any(m["name"] == starter_model and m["backend"] == server["host"] for m in overview["models"])


def test_a_down_server_fails_only_its_roles_and_names_itself(services_with, unused_port_url, engine_url,
                                                              starter_model):
    down = unused_port_url + "/v1"
    services = services_with({"chat": down})
    _, answer = answer_of(services)
    assert answer.status == "failed" and down in answer.error
    coder = services.router.effective(Role.CODER)
    assert coder.host == engine_url
    text, final = services.gateway.chat(coder.model, [{"role": "user", "content": "Hi"}], options={"num_predict": 4},
                                        host=coder.host)
    assert final.stats["eval_count"] > 0
    server = next(b for b in services.models.overview()["backends"] if b["host"] == down)
    assert not server["healthy"] and down in server["error"]


def test_a_remote_base_url_is_refused_unless_allowed(tmp_path):
    with pytest.raises(SettingsError, match="prompts would leave"):
        load_settings(data_dir=tmp_path, openai={"role_urls": {"reviewer": "https://api.example.com/v1"}})
    allowed = load_settings(data_dir=tmp_path, openai={"role_urls": {"reviewer": "https://api.example.com/v1"},
                                                       "allow_remote": True})
    assert allowed.openai.role_urls[Role.REVIEWER] == "https://api.example.com/v1"


@pytest.mark.parametrize("url", ["http://10.0.0.7:8000/v1", "http://gpu-box.local:8000/v1", "http://[::1]:8000/v1",
                                 "http://localhost:1234/v1", "http://192.168.1.20/v1"])
def test_lan_and_loopback_base_urls_are_accepted(tmp_path, url):
    assert load_settings(data_dir=tmp_path, openai={"role_urls": {"judge": url}}).openai.role_urls[Role.JUDGE] == url


def test_api_keys_are_read_from_the_data_folder(tmp_path):
    assert read_key(tmp_path, "http://10.0.0.7:8000/v1") is None
    (tmp_path / KEYS_FILE).write_text(json.dumps({"http://10.0.0.7:8000/v1": "sk-local"}))
    assert read_key(tmp_path, "http://10.0.0.7:8000/v1") == "sk-local"
