"""The official `openai` client against the engine's OpenAI-compatible API (/v1), real starter model.

Structure only, never the model's words: roles, finish reasons, usage arithmetic, JSON that parses
and validates, a stop string that does not appear, OpenAI-shaped errors.
"""

from __future__ import annotations

import json

import httpx
import jsonschema
import openai
import pytest

FEW = {"temperature": 0, "seed": 7, "max_tokens": 6}


@pytest.fixture
def client(engine_url):
    with openai.OpenAI(base_url=engine_url + "/v1", api_key="ollama", max_retries=0, timeout=300) as client:
        yield client


def hi() -> list[dict]:
    return [{"role": "user", "content": "Say hi."}]


def test_chat_completion(client, starter_model):
    completion = client.chat.completions.create(model=starter_model, messages=hi(), **FEW)
    assert completion.object == "chat.completion" and completion.model == starter_model
    (choice,) = completion.choices
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streamed_chat_completion(client, starter_model):
    chunks = list(client.chat.completions.create(
        model=starter_model, messages=hi(), stream=True, stream_options={"include_usage": True}, **FEW))
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    *deltas, finish, usage = chunks
    assert deltas and all(d.choices[0].delta.role == "assistant" and d.choices[0].finish_reason is None
                          for d in deltas)
    assert finish.choices[0].finish_reason in ("stop", "length") and not finish.choices[0].delta.content
    assert usage.choices == [] and usage.usage.completion_tokens > 0


def test_json_schema_output_parses_and_validates(client, starter_model):
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
              "additionalProperties": False}
    completion = client.chat.completions.create(
        model=starter_model, messages=[{"role": "user", "content": "Is water wet? Answer as JSON."}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}},
        temperature=0, seed=1, max_tokens=48)
    jsonschema.validate(json.loads(completion.choices[0].message.content), schema)
    assert completion.choices[0].finish_reason == "stop"


def test_stop_sequence(client, starter_model):
    completion = client.chat.completions.create(
        model=starter_model, messages=[{"role": "user", "content": "Count from 1 to 10, separated by commas."}],
        stop=[","], temperature=0, seed=1, max_tokens=24)
    choice = completion.choices[0]
    assert "," not in choice.message.content and choice.finish_reason == "stop"


def test_text_completion(client, starter_model):
    completion = client.completions.create(model=starter_model, prompt="Say hi.", **FEW)
    assert completion.object == "text_completion" and isinstance(completion.choices[0].text, str)
    assert completion.choices[0].finish_reason in ("stop", "length") and completion.usage.completion_tokens > 0


def test_models_are_listed_and_retrieved(client, starter_model):
    listed = client.models.list().data
    assert starter_model in [m.id for m in listed] and all(m.object == "model" for m in listed)
    model = client.models.retrieve(starter_model)
    assert model.id == starter_model and model.owned_by == "library" and model.created > 0


def test_unknown_model_is_an_openai_404(client, engine_url):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model:1b", messages=hi())
    assert caught.value.status_code == 404 and caught.value.type == "not_found_error"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model:1b")
    body = httpx.get(engine_url + "/v1/models/no-such-model:1b", timeout=60).json()
    assert body == {"error": {"message": "model 'no-such-model:1b' not found", "type": "not_found_error",
                              "param": None, "code": None}}


def test_bad_requests_are_openai_400s(client, starter_model):
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model=starter_model, messages=[])
    assert empty.value.type == "invalid_request_error" and "too short" in empty.value.message
    url_image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    with pytest.raises(openai.BadRequestError, match="base64"):
        client.chat.completions.create(model=starter_model, messages=[{"role": "user", "content": [url_image]}])
