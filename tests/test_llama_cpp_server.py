"""llama-cpp-python's own OpenAI-compatible server (`python -m llama_cpp.server`, its `server` extra) serving the
real starter model on another loopback port, as a role's backend: the chat role answers through it end to
end — the UI's path (send, then follow the turn) and REST (NDJSON) — streamed, with stats, while the other
roles stay on the embedded engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.app_fixtures import free_port, stop_process, wait_until_serving
from workspace import api, api_models
from workspace.services import build_services
from workspace.settings import Role, load_settings

ROOT = Path(__file__).resolve().parent.parent
GUARDED_SERVER = ("import runpy, sys; from tests import netguard; netguard.install(); "
                  "sys.argv = ['llama_cpp.server'] + sys.argv[1:]; runpy.run_module('llama_cpp.server', "
                  "run_name='__main__')")


@pytest.fixture(scope="module")
def llama_cpp_server(engine_server, starter_model, tmp_path_factory):
    """The server on the starter model's file, named as the engine names it; its base URL."""
    model_file = engine_server.prepare_model(starter_model)
    port = free_port()
    log_dir = tmp_path_factory.mktemp("llama-cpp-server")
    guard_log = log_dir / "outbound-attempts.log"
    log = open(log_dir / "stdout.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-c", GUARDED_SERVER, "--model", str(model_file), "--model_alias", starter_model,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "2", "--verbose", "False"],
        cwd=ROOT, env={**os.environ, "NETGUARD_LOG": str(guard_log)}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(url, process, timeout_s=180, path="/models", name="llama_cpp.server")
        yield url
    finally:
        stop_process(process)
        log.close()
    attempts = guard_log.read_text() if guard_log.exists() else ""
    assert not attempts, f"llama_cpp.server tried to reach beyond loopback:\n{attempts}"


@pytest.fixture
def services(tmp_path, engine_url, starter_model, llama_cpp_server):
    settings = load_settings(data_dir=tmp_path / "data", ollama={"host": engine_url}, engine={"mode": "never"},
                             models={"chat": starter_model, "coder": starter_model}, chat={"num_predict": 12},
                             openai={"role_urls": {"chat": llama_cpp_server}})
    services = build_services(settings)
    yield services
    services.close()


def test_the_chat_role_answers_through_llama_cpp_server_on_the_uis_path(services, llama_cpp_server, engine_url,
                                                                         starter_model):
    assert services.router.effective(Role.CHAT).host == llama_cpp_server
    assert services.router.effective(Role.CODER).host == engine_url
    chat_id = services.store.create_chat(services.profiles()[0].id).id
    services.chat.send(chat_id, "Say hi.")
    snapshots = list(services.chat.follow(chat_id))
    answer = services.chat.messages(chat_id)[-1]
    assert answer.status == "ok" and answer.content.strip() and answer.model == starter_model
    assert len({s.text for s in snapshots if s.text}) > 1  # it streamed: the text grew in steps
    assert answer.stats["eval_count"] > 0 and answer.stats["total_duration"] > 0
    overview = services.models.overview()
    server = next(b for b in overview["backends"] if b["host"] == llama_cpp_server)
    assert server["kind"] == "openai" and server["healthy"] and server["latency_ms"] is not None
    assert any(m["name"] == starter_model and m["backend"] == llama_cpp_server for m in overview["models"])


def test_the_chat_role_answers_through_llama_cpp_server_over_rest(services):
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api.router(services))
    app.include_router(api_models.router(services))
    chat_id = services.store.create_chat(services.profiles()[0].id).id
    with TestClient(app) as client:
        body = {"chat_id": chat_id, "message": "Say hi.", "stream": True}
        with client.stream("POST", "/api/chat", json=body) as reply:
            lines = [json.loads(line) for line in reply.iter_lines() if line]
    deltas = [line["delta"] for line in lines if "delta" in line]
    done = lines[-1]
    assert done["done"] and done["status"] == "ok" and deltas
    assert "".join(deltas) == done["message"]["content"] and done["message"]["stats"]["eval_count"] > 0
