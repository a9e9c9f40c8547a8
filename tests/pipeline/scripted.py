"""A scripted model gateway for deterministic pipeline tests: the same `chat_stream` as `LLMGateway`,
answering from a script instead of a model. Registered like a real model: the backend lists its names."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from workspace.backend import Backend
from workspace.llm import Delta, Final

Script = Callable[[str, list[dict], dict, Any], str]  # (model, messages, options, format) → answer text


@dataclass
class ScriptedGateway:
    script: Script
    calls: list[dict] = field(default_factory=list)
    closed_streams: int = 0
    started: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def chat_stream(self, model: str, messages, *, options=None, format=None, host=None,
                    closer=None) -> Iterator[Delta | Final]:
        with self._lock:
            self.calls.append({"model": model, "messages": list(messages), "options": dict(options or {}),
                               "format": format, "host": host})
        self.started.set()
        text = self.script(model, list(messages), dict(options or {}), format)
        try:
            for start in range(0, len(text), 8):  # a few characters a "token"
                yield Delta(text[start:start + 8])
            yield Final("stop", {"prompt_eval_count": 10, "eval_count": max(1, len(text) // 8)})
        finally:
            with self._lock:
                self.closed_streams += 1

    def stages_called(self, model: str) -> list[dict]:
        return [c for c in self.calls if c["model"] == model]


def scripted_backend(*models: str) -> Backend:
    return Backend("ollama", "http://scripted.invalid", preferred_model=None, _models=list(models))


def system_of(messages: list[dict]) -> str:
    return next((m["content"] for m in messages if m["role"] == "system"), "")


def fenced(code: str, language: str = "python") -> str:
    return f"```{language}\n{code}\n```\n"
