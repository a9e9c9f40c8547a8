"""The official `ollama` client (0.6.3) against the engine, as the app uses it."""

from __future__ import annotations

import json

import jsonschema
import ollama
import pytest
from pydantic import BaseModel

QUICK = {"temperature": 0, "seed": 7, "num_predict": 12}


class Pet(BaseModel):
    name: str
    legs: int


@pytest.fixture
def client(engine_url):
    return ollama.Client(host=engine_url, timeout=300)


def test_list_show_and_ps(client, starter_model):
    (model,) = [m for m in client.list().models if m.model == starter_model]
    assert model.digest and model.size == 491_400_064 and model.modified_at is not None
    assert model.details.family == "qwen2" and model.details.quantization_level == "Q4_K_M"
    shown = client.show(starter_model)
    assert shown.capabilities == ["completion"] and shown.modelinfo["qwen2.context_length"] == 32768
    assert shown.details.format == "gguf" and shown.template
    client.generate(starter_model, "")  # load
    (running,) = [m for m in client.ps().models if m.model == starter_model]
    assert running.name == starter_model and running.expires_at is not None and running.context_length


def test_streaming_chat(client, starter_model):
    chunks = list(client.chat(starter_model, [{"role": "user", "content": "Say hi."}],
                              stream=True, options=QUICK))
    assert all(not c.done for c in chunks[:-1]) and chunks[-1].done
    final = chunks[-1]
    assert final.done_reason in ("stop", "length") and final.message.role == "assistant"
    assert final.eval_count > 0 and final.prompt_eval_count > 0 and final.eval_duration > 0
    assert "".join(c.message.content or "" for c in chunks).strip()


def test_schema_output_parses_and_validates(client, starter_model):
    schema = Pet.model_json_schema()
    response = client.chat(
        starter_model, [{"role": "user", "content": "Describe a cat as JSON with name and legs."}],
        format=schema, options={"temperature": 0, "seed": 1, "num_predict": 48})
    data = json.loads(response.message.content)
    jsonschema.validate(data, schema)
    assert response.done_reason == "stop"


def test_format_json_gives_json(client, starter_model):
    response = client.generate(starter_model, "List two fruits as a JSON object.", format="json",
                               options={"temperature": 0, "seed": 1, "num_predict": 48})
    assert isinstance(json.loads(response.response), (dict, list))


def test_unknown_model_raises_404(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("no-such-model:1b", [{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as streamed:
        next(iter(client.generate("no-such-model:1b", "hi", stream=True)))
    assert streamed.value.status_code == 404


def test_pull_of_the_installed_starter_reports_success(client, starter_model):
    statuses = [p.status for p in client.pull(starter_model, stream=True)]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
