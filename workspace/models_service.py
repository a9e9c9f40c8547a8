"""Model administration: what each backend has and has loaded, which role runs which model, and pull,
delete and warm-up of models by name.

The REST API (workspace/api_models.py) and the Models tab (workspace/ui/models.py) call this service;
it talks to the servers only through the gateway. A pull runs as the caller iterates it and can be
cancelled from another thread by name; after a pull or a delete the backend's model list is refreshed,
so routing and fallbacks see the change at once.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from typing import Any, Iterator

from workspace.backend import Backend
from workspace.llm import LLMError, LLMGateway, StreamCloser
from workspace.routing import ModelRouter
from workspace.settings import Settings, is_private_host

MAX_NAME = 200
# Ollama's `[host[:port]/][namespace/]model[:tag]`: every part starts with a letter or digit, so no `..`.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME = re.compile(rf"^(?:{_PART}(?::[0-9]+)?/)*{_PART}(?::{_PART})?$")


class ModelsError(Exception):
    """A request about models that cannot be done as asked (bad name, unsupported by the backend)."""


def check_name(name: str) -> str:
    """`name` when it is a model name Ollama accepts, else a ModelsError saying what is wrong."""
    name = name.strip()
    if not name or len(name) > MAX_NAME or not _NAME.match(name):
        raise ModelsError(f"{name[:80]!r} is not a model name: use `model[:tag]`, e.g. `qwen2.5-coder:1.5b` "
                          "or `hf.co/org/model:tag`.")
    return name


class ModelsService:
    def __init__(self, settings: Settings, gateway: LLMGateway, backend: Backend, router: ModelRouter):
        self.settings, self.gateway, self.backend, self.router = settings, gateway, backend, router
        self._pulls: dict[str, StreamCloser] = {}
        self._lock = threading.Lock()

    # --- what there is ---------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """`{"backends", "models", "roles"}` as `GET /api/models` returns it."""
        backends, models = [], []
        for host in self.hosts():
            if self.gateway.openai(host) is not None:
                entry, found = self._openai_backend(host)
                backends.append(entry)
                models += found
                continue
            version, latency_ms = self.gateway.version(host)
            entry = {"host": host, "kind": self._kind(host), "healthy": version is not None,
                     "version": version, "latency_ms": round(latency_ms, 1) if latency_ms is not None else None}
            if version is not None:
                try:
                    models += self._models_at(host)
                except LLMError as exc:
                    entry.update(healthy=False, error=str(exc))
            backends.append(entry)
        return {"backends": backends, "models": models, "roles": self.roles()}

    def hosts(self) -> list[str]:
        """The backend chosen at start, then each other host a role is set to."""
        hosts = [self.backend.host]
        for host in [*self.settings.ollama.role_hosts.values(), *self.settings.openai.role_urls.values()]:
            if host not in hosts:
                hosts.append(host)
        return hosts

    def roles(self, profile_overrides: dict | None = None, chat_overrides: dict | None = None) -> dict[str, Any]:
        """Per role, the model that runs and why: the model asked for, the level it came from, the fallback."""
        return {item.role.value: {"model": item.model, "requested": item.requested, "source": item.source,
                                  "host": item.host, "substituted": item.substituted}
                for item in self.router.all_roles(profile_overrides, chat_overrides)}

    def _models_at(self, host: str) -> list[dict[str, Any]]:
        loaded = {entry["name"]: entry for entry in self.gateway.loaded(host)}
        models = []
        for entry in self.gateway.installed(host):
            try:
                info = self.gateway.model_info(entry["name"], host)
                capabilities, context_length = list(info.capabilities), info.context_length
            except LLMError:  # listed but unreadable: still shown, without its details
                capabilities, context_length = [], None
            models.append({**entry, "backend": host, "capabilities": capabilities,
                           "context_length": context_length, "loaded": loaded.get(entry["name"])})
        return models

    def _openai_backend(self, host: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        entry: dict[str, Any] = {"host": host, "kind": "openai", "healthy": True, "version": None, "latency_ms": None,
                                 "remote": not is_private_host(urllib.parse.urlsplit(host).hostname or "")}
        started = time.perf_counter()
        try:
            names = self.gateway.openai(host).models()
        except LLMError as exc:
            return {**entry, "healthy": False, "error": str(exc)}, []
        entry["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return entry, [{"name": name, "size": 0, "family": "", "parameter_size": "", "quantization": "",
                        "backend": host, "capabilities": ["completion"], "context_length": None, "loaded": None}
                       for name in names]

    def _kind(self, host: str) -> str:
        return self.backend.kind if host == self.backend.host else "ollama"

    # --- changes -------------------------------------------------------------------------------

    def pull(self, name: str, host: str | None = None) -> Iterator[dict[str, Any]]:
        """Ollama's progress lines passed through, then `{"done": true, "status": "success" | "cancelled" |
        "failed", ...}`. Checks the name before anything is sent; one pull per name at a time."""
        name, host = check_name(name), host or self.backend.host
        closer = StreamCloser()
        with self._lock:
            if name in self._pulls:
                raise ModelsError(f"{name} is already being pulled.")
            self._pulls[name] = closer
        return self._pulling(name, host, closer)

    def _pulling(self, name: str, host: str, closer: StreamCloser) -> Iterator[dict[str, Any]]:
        try:
            last: dict[str, Any] = {}
            for line in self.gateway.pull(name, host, closer):
                last = line
                yield line
            if last.get("status") == "success":
                yield {"done": True, "status": "success", "name": name, "backend": host}
            elif closer.closed:  # the cut connection may read as a plain end of the stream
                yield {"done": True, "status": "cancelled", "name": name, "backend": host}
            else:
                yield {"done": True, "status": "failed", "name": name, "backend": host,
                       "error": f"The pull of {name!r} at {host} ended before it succeeded."}
        except LLMError as exc:
            if closer.closed:
                yield {"done": True, "status": "cancelled", "name": name, "backend": host}
            else:
                yield {"done": True, "status": "failed", "name": name, "backend": host,
                       "error": self._pull_error(str(exc))}
        finally:
            with self._lock:
                self._pulls.pop(name, None)
            self.backend.refresh(self.gateway)

    def _pull_error(self, message: str) -> str:
        if self.backend.kind == "embedded" and str(self.settings.models_dir) not in message:
            message += f" The embedded engine works offline: put .gguf files in {self.settings.models_dir}."
        return message

    def pulling(self) -> list[str]:
        with self._lock:
            return list(self._pulls)

    def cancel_pull(self, name: str) -> bool:
        """Cut the pull of `name` (its download stops; Ollama resumes it if pulled again); False if none runs."""
        with self._lock:
            closer = self._pulls.get(name.strip())
        if closer is None:
            return False
        closer.close()
        return True

    def delete(self, name: str, host: str | None = None) -> None:
        name, host = check_name(name), host or self.backend.host
        if host == self.backend.host and self.backend.kind == "embedded":
            raise ModelsError(f"The embedded engine does not delete models: remove the model's file from "
                              f"{self.settings.models_dir}.")
        self.gateway.delete(name, host)
        self.backend.refresh(self.gateway)

    def load(self, name: str, host: str | None = None) -> dict[str, Any]:
        """Warm-up: load `name` now so its first answer does not wait for a cold load."""
        name, host = check_name(name), host or self.backend.host
        reason = self.gateway.load(name, host)
        return {"name": name, "backend": host, "done_reason": reason, "keep_alive": self.settings.ollama.keep_alive}
