"""Ollama's OpenAI-compatible API (`/v1`) over the native endpoints, the way Ollama's own middleware
does it: translate the request, run the native chat/generate, re-shape what it sends.

Owns both translations. In: messages (string or parts; images only as base64 data URLs), `temperature`
and `top_p` defaulting to 1.0, `max_tokens` → `num_predict`, `stop` (string or list), `seed`, penalties,
`response_format` → `format`. Out: one JSON completion, or server-sent events (a delta per piece, a
finish chunk, a usage chunk when asked, then `data: [DONE]`), errors as
`{"error": {"message", "type", "param", "code"}}`, and `/v1/models` from the model registry.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import TYPE_CHECKING, Any

from workspace.engine.common import BadRequest

if TYPE_CHECKING:
    from workspace.engine.handlers import OllamaApi
    from workspace.engine.models import ModelEntry

_SSE = "text/event-stream"
_FINGERPRINT = "fp_ollama"
_ids = itertools.count(1)
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}


def openai_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": _ERROR_TYPES.get(status, "api_error"),
                      "param": None, "code": None}}


class OpenAIErrors:
    """Wraps the native exchange so errors take OpenAI's shape (see handlers.Exchange)."""

    def __init__(self, inner: Any):
        self._inner = inner

    def client_gone(self) -> bool:
        return self._inner.client_gone()

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        if status != 200:
            body = openai_error(status, str(body.get("error", "")))
        self._inner.send_json(status, body)

    def fail(self, status: int, message: str) -> None:
        if self._inner.streaming:
            self._event(openai_error(status, message))
        else:
            self._inner.send_json(status, openai_error(status, message))

    def _event(self, body: dict[str, Any]) -> None:
        self._inner.send_chunk(b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n", _SSE)


class OpenAIExchange(OpenAIErrors):
    """Re-shapes a native chat (`chat=True`) or generate response into an OpenAI completion."""

    def __init__(self, inner: Any, chat: bool):
        super().__init__(inner)
        self._chat = chat
        self._id = f"{'chatcmpl' if chat else 'cmpl'}-{next(_ids)}"
        self._created = int(time.time())
        self.include_usage = False

    def send_json(self, status: int, body: dict[str, Any]) -> None:
        if status != 200:
            return super().send_json(status, body)
        choice = self._choice(self._text(body), _finish(body))
        if self._chat:
            choice["message"] = choice.pop("delta")
        self._inner.send_json(200, {**self._head(body, chunk=False), "choices": [choice], "usage": _usage(body)})

    def send_line(self, body: dict[str, Any]) -> None:
        if "error" in body:
            return self._event(openai_error(500, str(body["error"])))
        text = self._text(body)
        if text or not body.get("done"):
            self._event({**self._head(body, chunk=True), "choices": [self._choice(text, None)]})
        if not body.get("done"):
            return
        self._event({**self._head(body, chunk=True), "choices": [self._choice(None, _finish(body))]})
        if self.include_usage:
            self._event({**self._head(body, chunk=True), "choices": [], "usage": _usage(body)})
        self._inner.send_chunk(b"data: [DONE]\n\n", _SSE)

    def _text(self, body: dict[str, Any]) -> str:
        return (body.get("message") or {}).get("content", "") if self._chat else body.get("response", "")

    def _head(self, body: dict[str, Any], chunk: bool) -> dict[str, Any]:
        kind = ("chat.completion.chunk" if chunk else "chat.completion") if self._chat else "text_completion"
        return {"id": self._id, "object": kind, "created": self._created, "model": body.get("model", ""),
                "system_fingerprint": _FINGERPRINT}

    def _choice(self, text: str | None, finish: str | None) -> dict[str, Any]:
        if self._chat:
            delta = {} if text is None else {"role": "assistant", "content": text}
            return {"index": 0, "delta": delta, "finish_reason": finish}
        return {"text": text or "", "index": 0, "logprobs": None, "finish_reason": finish}


def _finish(body: dict[str, Any]) -> str:
    return "length" if body.get("done_reason") == "length" else "stop"


def _usage(body: dict[str, Any]) -> dict[str, int]:
    prompt, completion = int(body.get("prompt_eval_count", 0)), int(body.get("eval_count", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


# --- requests ----------------------------------------------------------------------------------------


def _options(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI sampling fields → native options (OpenAI's defaults: temperature and top_p 1.0)."""
    options: dict[str, Any] = {key: 1.0 if body.get(key) is None else body[key]
                               for key in ("temperature", "top_p")}
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
    for value, native in ((max_tokens, "num_predict"), (body.get("seed"), "seed"),
                          (body.get("frequency_penalty"), "frequency_penalty"),
                          (body.get("presence_penalty"), "presence_penalty")):
        if value is not None:
            options[native] = value
    stop = body.get("stop")
    if stop is not None:
        options["stop"] = [stop] if isinstance(stop, str) else stop
    return options


def _format(response_format: Any) -> Any:
    if response_format is None:
        return None
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return "json"
    schema = (response_format.get("json_schema") or {}).get("schema") if kind == "json_schema" else None
    if not isinstance(schema, dict):
        raise BadRequest(f"invalid response_format: {json.dumps(response_format)}")
    return schema


def _messages(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest(f"{json.dumps(raw)} is too short - 'messages'")
    messages: list[dict[str, Any]] = []
    for message in raw:
        if not isinstance(message, dict):
            raise BadRequest("each message must be an object")
        role, content = message.get("role"), message.get("content")
        if content is None or isinstance(content, str):
            messages.append({"role": role, "content": content or ""})
        elif isinstance(content, list):
            for part in content:
                _add_part(messages, role, part)
        else:
            raise BadRequest("invalid message content type")
    return messages


def _add_part(messages: list[dict[str, Any]], role: Any, part: Any) -> None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        messages.append({"role": role, "content": str(part.get("text") or "")})
        return
    if kind != "image_url":
        raise BadRequest(f"invalid message part type: {kind}")
    url = part.get("image_url")
    url = url.get("url") if isinstance(url, dict) else url
    if not isinstance(url, str) or not url.startswith("data:"):
        raise BadRequest("image URLs are not currently supported, please use base64 encoded data instead")
    if not messages or messages[-1]["role"] != role:
        messages.append({"role": role, "content": ""})
    messages[-1].setdefault("images", []).append(url.partition("base64,")[2])


def _prepare(ex: OpenAIExchange, body: dict[str, Any]) -> dict[str, Any]:
    """The native fields both endpoints share; notes on `ex` how the answer is to be sent."""
    stream = body.get("stream") is True
    ex.include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
    return {"model": body.get("model"), "stream": stream, "options": _options(body),
            "format": _format(body.get("response_format"))}


def chat_completions(api: OllamaApi, ex: OpenAIExchange, body: dict[str, Any]) -> None:
    native = _prepare(ex, body)
    api.chat(ex, {**native, "messages": _messages(body.get("messages")), "tools": body.get("tools")})


def completions(api: OllamaApi, ex: OpenAIExchange, body: dict[str, Any]) -> None:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise BadRequest("invalid type for 'prompt' field: a string is required")
    native = _prepare(ex, body)
    api.generate(ex, {**native, "prompt": prompt, "suffix": body.get("suffix")})


def _model_object(entry: ModelEntry) -> dict[str, Any]:
    owner = entry.name.rsplit("/", 1)[0] if "/" in entry.name else "library"
    return {"id": entry.name, "object": "model", "created": int(entry.modified_at), "owned_by": owner}


def list_models(api: OllamaApi, ex: OpenAIErrors, body: dict[str, Any]) -> None:
    ex.send_json(200, {"object": "list", "data": [_model_object(e) for e in api.registry.entries().values()]})


def retrieve_model(api: OllamaApi, ex: OpenAIErrors, name: str) -> None:
    entry = api.registry.find(name)
    if entry is None:
        return ex.send_json(404, {"error": f"model '{name}' not found"})
    ex.send_json(200, _model_object(entry))
