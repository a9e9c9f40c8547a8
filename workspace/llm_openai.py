"""An OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, LocalAI…) behind the gateway's
streaming interface: `chat_stream` yields the same `Delta`s and one `Final` as an Ollama host does.

The gateway holds one `OpenAIBackend` per base URL (`LLMGateway.add_openai`) and sends a role's chat
here when the role's host is that URL, so chat and pipeline code need not know which kind serves them.
The API key, when there is one, is read from the data folder's `backend-keys.json` (`{base_url: key}`)
at each request and never logged. Failures become the gateway's domain errors, naming the server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import httpx

from workspace.llm import (
    BackendBusy,
    BackendFailed,
    BackendTimeout,
    BackendUnavailable,
    BadRequest,
    Delta,
    Final,
    LLMError,
    ModelNotFound,
    StreamCloser,
    _opening,
    _trace_request,
)
from workspace.settings_file import write_atomically

KEYS_FILE = "backend-keys.json"
# Ollama's option names → the OpenAI request's fields (the rest, such as num_ctx, are the server's own).
OPTIONS = {"num_predict": "max_tokens", "temperature": "temperature", "top_p": "top_p", "seed": "seed", "stop": "stop"}


def read_key(data_dir: Path, base_url: str) -> str | None:
    try:
        keys = json.loads((data_dir / KEYS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    key = keys.get(base_url) if isinstance(keys, dict) else None
    return key if isinstance(key, str) and key else None


def write_key(data_dir: Path, base_url: str, key: str) -> None:
    """Keep `key` for `base_url` (an empty key removes it), readable by this user only."""
    path = data_dir / KEYS_FILE
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        keys = {}
    keys = keys if isinstance(keys, dict) else {}
    if key:
        keys[base_url] = key
    else:
        keys.pop(base_url, None)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(keys, indent=1), mode=0o600)


class OpenAIBackend:
    def __init__(self, base_url: str, data_dir: Path, timeout: httpx.Timeout):
        self.base_url, self.data_dir = base_url.rstrip("/"), data_dir
        self.label = f"the OpenAI-compatible server at {self.base_url}"
        # trust_env=False: never through a proxy from the environment; no kept-alive connections, so a
        # StreamCloser sees each request's own socket (as the Ollama clients do).
        self._client = httpx.Client(timeout=timeout, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0),
                                    event_hooks={"request": [_trace_request]})

    def chat_stream(self, model: str, messages: Sequence[Mapping[str, Any]], *, options: Mapping[str, Any] | None,
                    format: str | dict | None, closer: StreamCloser | None) -> Iterator[Delta | Final]:
        body = self._body(model, messages, options or {}, format)
        headers = self._auth()
        started = time.perf_counter_ns()
        _opening.closer = closer
        try:
            with self._client.stream("POST", self.base_url + "/chat/completions", json=body, headers=headers) as reply:
                if reply.status_code != 200:
                    reply.read()
                    raise self._status_error(reply, model)
                yield from self._events(reply, started)
        except httpx.ConnectError as exc:
            raise BackendUnavailable(f"{self.label} is not reachable: start it, or change openai.role_urls.") from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"{self.label} stopped answering (timed out). Try again.") from exc
        except httpx.HTTPError as exc:
            raise BackendFailed(f"The connection to {self.label} failed: {exc}") from exc
        finally:
            _opening.closer = None
            if closer is not None:
                closer.detach()

    def _auth(self) -> dict[str, str]:
        key = read_key(self.data_dir, self.base_url)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _events(self, reply: httpx.Response, started: int) -> Iterator[Delta | Final]:
        finish, usage, first, chunks = "stop", {}, None, 0
        for line in reply.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                event = json.loads(data)
            except ValueError as exc:
                raise BackendFailed(f"{self.label} sent a reply this app cannot read: {data[:200]}") from exc
            if "error" in event:
                raise BackendFailed(f"{self.label} failed while answering: {event['error']}")
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                text = (choice.get("delta") or {}).get("content")
                if text:
                    first, chunks = first or time.perf_counter_ns(), chunks + 1
                    yield Delta(text)
                finish = choice.get("finish_reason") or finish
        else:
            raise BackendFailed(f"{self.label} ended the answer without its final record.")
        if "completion_tokens" not in usage:  # llama-cpp-python's server sends no usage when streaming:
            usage = {**usage, "completion_tokens": chunks}  # it sends one token per chunk
        yield Final("length" if finish == "length" else "stop", _stats(usage, started, first))

    def _body(self, model: str, messages: Sequence[Mapping[str, Any]], options: Mapping[str, Any],
              format: str | dict | None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": [{"role": m["role"], "content": m["content"]}
                                                            for m in messages],
                                "stream": True, "stream_options": {"include_usage": True}}
        body.update({OPTIONS[k]: v for k, v in options.items() if k in OPTIONS})
        if format == "json":
            body["response_format"] = {"type": "json_object"}
        elif isinstance(format, dict):
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": format}}
        return body

    def _status_error(self, reply: httpx.Response, model: str) -> LLMError:
        try:
            error = reply.json().get("error")
            detail = error.get("message") if isinstance(error, dict) else error
        except ValueError:
            detail = reply.text[:200]
        status = reply.status_code
        if status == 404:
            return ModelNotFound(f"Model {model!r} is not served by {self.label}: {detail}")
        if status in (401, 403):
            return BadRequest(f"{self.label} refused the API key ({status}): set it in the data folder's {KEYS_FILE}.")
        if status in (429, 503):
            return BackendBusy(f"{self.label} is busy; try again in a moment.")
        if 400 <= status < 500:
            return BadRequest(f"{self.label} refused the request: {detail}")
        return BackendFailed(f"{self.label} failed ({status}): {detail}")

    def models(self) -> list[str]:
        """The model ids the server lists (`GET /models`)."""
        try:
            reply = self._client.get(self.base_url + "/models", headers=self._auth())
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"{self.label} is not reachable: start it, or change openai.role_urls.") from exc
        if reply.status_code != 200:
            raise self._status_error(reply, "")
        return [str(m.get("id")) for m in reply.json().get("data", []) if m.get("id")]

    def close(self) -> None:
        self._client.close()


def _stats(usage: Mapping[str, Any], started: int, first: int | None) -> dict[str, int]:
    """Ollama-style stats from the usage record and the times seen here (nanoseconds)."""
    now = time.perf_counter_ns()
    first = first or now
    return {"total_duration": max(1, now - started), "load_duration": 0,
            "prompt_eval_count": int(usage.get("prompt_tokens") or 0), "prompt_eval_duration": max(1, first - started),
            "eval_count": int(usage.get("completion_tokens") or 0), "eval_duration": max(1, now - first)}
