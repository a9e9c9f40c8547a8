"""The Ollama API endpoints over the model registry and the runner, independent of the HTTP server.

Owns what each endpoint answers: field names and shapes the `ollama` client expects, the error
statuses Ollama uses, the load/unload forms of chat and generate, NDJSON chunks with one final `done`
chunk carrying the stats, and the request `model` string echoed unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from workspace.engine.common import ApiError, BadRequest, ClientGone, ModelLoadFailed
from workspace.engine.generation import Generation
from workspace.engine.gguf import GGUFError, GGUFInfo
from workspace.engine.models import ModelEntry, ModelRegistry, ModelUnavailable, rfc3339
from workspace.engine.options import (
    Sampling,
    check_images,
    check_unsupported,
    effective_num_ctx,
    parse_format,
    parse_keep_alive,
    parse_options,
)
from workspace.engine.runner import LoadedModel, Runner

log = logging.getLogger(__name__)
ENGINE_VERSION = "0.12.0-embedded"
_FOREVER = "2318-01-01T00:00:00Z"  # what "never expires" looks like in /api/ps
_LONG_STRING = 1024  # metadata strings longer than this (the chat template) stay out of model_info


class Exchange(Protocol):
    """What an endpoint needs from the HTTP layer."""

    def send_json(self, status: int, body: dict[str, Any]) -> None: ...
    def send_line(self, body: dict[str, Any]) -> None: ...  # NDJSON; raises ClientGone
    def client_gone(self) -> bool: ...


def now_rfc3339() -> str:
    return rfc3339(time.time())


@dataclass
class Job:
    """One chat or generate request, validated."""

    request_model: str
    entry: ModelEntry
    sampling: Sampling
    grammar: Any
    keep_alive_s: float
    stream: bool
    prompt_tokens: Callable[[LoadedModel], list[int]]
    chunk: Callable[[str], dict[str, Any]]  # text delta → the chunk's payload fields
    final_extra: Callable[[LoadedModel, Generation], dict[str, Any]]


class OllamaApi:
    """Endpoint implementations; the HTTP layer routes to them by path and method."""

    def __init__(self, registry: ModelRegistry, runner: Runner):
        self.registry = registry
        self.runner = runner

    # --- metadata endpoints ------------------------------------------------------------------------

    def version(self, ex: Exchange, body: dict) -> None:
        ex.send_json(200, {"version": ENGINE_VERSION})

    def tags(self, ex: Exchange, body: dict) -> None:
        models = []
        for entry in self.registry.entries().values():
            info = self._info_or_none(entry)
            if info is not None:
                models.append({**self._identity(entry), "modified_at": rfc3339(entry.modified_at),
                               "size": entry.size, "details": _details(info)})
        ex.send_json(200, {"models": models})

    def show(self, ex: Exchange, body: dict) -> None:
        entry = self._entry(_model_field(body, accept_name=True))
        info = self._info(entry)
        num_ctx = effective_num_ctx(None, info.context_length)
        parameters = f"num_ctx {num_ctx}"
        ex.send_json(200, {
            "modelfile": f"# Served by the embedded engine\nFROM {entry.path}\nPARAMETER {parameters}\n",
            "parameters": parameters,
            "template": info.chat_template,
            "details": _details(info),
            "model_info": _model_info(info),
            "capabilities": ["completion"],
            "modified_at": rfc3339(entry.modified_at),
        })

    def ps(self, ex: Exchange, body: dict) -> None:
        # context_length is what each request gets; parallel, slots and queued are ours, not Ollama's.
        models = [{
            **self._identity(m.entry), "size": m.memory_size, "details": _details(m.info),
            "expires_at": rfc3339(m.expires_at) if m.expires_at is not None else _FOREVER,
            "size_vram": 0, "context_length": m.num_ctx, "parallel": self.runner.parallel,
            "slots": self.runner.slot_state(m), "queued": self.runner.queued(m.entry.name),
        } for m in self.runner.ps()]
        ex.send_json(200, {"models": models})

    def embed(self, ex: Exchange, body: dict) -> None:
        name = _model_field(body)
        self._entry(name)
        raise ApiError(400, f'"{name}" does not support embeddings')

    # --- chat and generate ---------------------------------------------------------------------

    def chat(self, ex: Exchange, body: dict) -> None:
        name = _model_field(body)
        messages = _messages(body.get("messages"))
        entry = self._entry(name)
        check_unsupported(body, name)
        job = Job(
            name, entry, parse_options(body.get("options")), parse_format(body.get("format")),
            parse_keep_alive(body.get("keep_alive"), self.runner.keep_alive_s),
            body.get("stream") is not False,
            prompt_tokens=lambda model: model.prompter.chat_tokens(messages, model.num_ctx),
            chunk=lambda text: {"message": {"role": "assistant", "content": text}},
            final_extra=lambda model, generation: {},
        )
        if not messages:
            return self._load_or_unload(ex, job)
        self._run(ex, job)

    def generate(self, ex: Exchange, body: dict) -> None:
        name = body.get("model") or ""
        if not isinstance(name, str) or not name:
            raise ApiError(404, "model '' not found")
        entry = self._entry(name)
        check_unsupported(body, name)
        check_images(body.get("images"))
        prompt, raw = _string(body, "prompt"), bool(body.get("raw"))
        if raw and (body.get("system") or body.get("template") or body.get("context")):
            raise BadRequest("raw mode does not support template, system, or context")
        job = Job(
            name, entry, parse_options(body.get("options")), parse_format(body.get("format")),
            parse_keep_alive(body.get("keep_alive"), self.runner.keep_alive_s),
            body.get("stream") is not False,
            prompt_tokens=_generate_prompt(prompt, _string(body, "system"), raw, body.get("context")),
            chunk=lambda text: {"response": text},
            final_extra=lambda model, gen: {} if raw else {
                "context": gen.prompt_tokens + gen.stats.output_tokens},
        )
        if not prompt:
            return self._load_or_unload(ex, job)
        self._run(ex, job)

    def _load_or_unload(self, ex: Exchange, job: Job) -> None:
        if job.keep_alive_s == 0:
            if self.runner.loaded_model(job.entry.name) is not None:
                self.runner.unload(job.entry)
            reason = "unload"
        else:
            with self._using(ex, job):
                pass
            reason = "load"
        ex.send_json(200, {"model": job.request_model, "created_at": now_rfc3339(),
                           **job.chunk(""), "done": True, "done_reason": reason})

    @contextmanager
    def _using(self, ex: Exchange, job: Job) -> Iterator[tuple[LoadedModel, int]]:
        """The model loaded at the job's num_ctx, shared with the other requests running on it."""
        info = self._info(job.entry)
        num_ctx = effective_num_ctx(job.sampling.num_ctx, info.context_length)
        try:
            with self.runner.using(job.entry, num_ctx, ex.client_gone, job.keep_alive_s) as used:
                yield used
        except (ModelUnavailable, ModelLoadFailed) as error:
            raise ApiError(500, str(error)) from error

    def _run(self, ex: Exchange, job: Job) -> None:
        started = time.perf_counter_ns()
        with self._using(ex, job) as (model, load_ns):
            generation = model.generation(
                job.prompt_tokens(model), job.sampling, job.grammar,
                should_stop=lambda: self.runner.stopping or ex.client_gone())
            text = self._deliver(ex, job, generation)
        self._count(job.entry.name, generation)
        if generation.stats.cancelled:
            return  # the client is gone: there is nobody to send the end to
        final = {"model": job.request_model, "created_at": now_rfc3339(), **job.chunk(text),
                 "done": True, **_stats(generation, started, load_ns),
                 **job.final_extra(model, generation)}
        if job.stream:
            ex.send_line(final)
        else:
            ex.send_json(200, final)

    def _deliver(self, ex: Exchange, job: Job, generation: Generation) -> str:
        """Stream deltas (returns "" for the final chunk) or collect the whole text."""
        with closing(iter(generation)) as pieces:
            if not job.stream:
                return "".join(pieces)
            for piece in pieces:
                try:
                    ex.send_line({"model": job.request_model, "created_at": now_rfc3339(),
                                  **job.chunk(piece), "done": False})
                except ClientGone:
                    break  # closing() stops the sampling loop right here
        return ""

    def _count(self, name: str, generation: Generation) -> None:
        counters = self.runner.counters[name]
        counters.generations += 1
        counters.cancelled += int(generation.stats.cancelled)
        counters.prompt_tokens += generation.stats.prompt_eval_count
        counters.generated_tokens += len(generation.stats.output_tokens)

    # --- pull ----------------------------------------------------------------------------------

    def pull(self, ex: Exchange, body: dict) -> None:
        name = _model_field(body, accept_name=True)
        stream = body.get("stream") is not False
        if stream:
            ex.send_line({"status": "pulling manifest"})
        entry = self.registry.find(name)
        if entry is None:
            remedy = self.registry.missing_reason(name) or (
                f"copy a GGUF file into {self.registry.models_dir} to add a model")
            raise ApiError(500, f"pull model manifest: cannot download '{name}', the embedded "
                                f"engine works offline; {remedy}")
        with self.runner.slot(entry, ex.client_gone):
            try:
                self.registry.ensure_file(entry, _pull_progress(ex, entry) if stream else None)
            except ModelUnavailable as error:
                raise ApiError(500, str(error)) from error
        if stream:
            for status in ("verifying sha256 digest", "writing manifest", "success"):
                ex.send_line({"status": status})
        else:
            ex.send_json(200, {"status": "success"})

    # --- helpers -------------------------------------------------------------------------------

    def _entry(self, name: str) -> ModelEntry:
        entry = self.registry.find(name)
        if entry is None:
            reason = self.registry.missing_reason(name)
            raise ApiError(404, f"model '{name}' not found" + (f": {reason}" if reason else ""))
        return entry

    def _info(self, entry: ModelEntry) -> GGUFInfo:
        try:
            return self.registry.info(entry)
        except (GGUFError, OSError) as error:
            raise ApiError(500, f"cannot read model file for '{entry.name}': {error}") from error

    def _info_or_none(self, entry: ModelEntry) -> GGUFInfo | None:
        try:
            return self.registry.info(entry)
        except (GGUFError, OSError) as error:
            log.warning("skipping %s: %s", entry.path, error)
            return None

    @staticmethod
    def _identity(entry: ModelEntry) -> dict[str, Any]:
        return {"name": entry.name, "model": entry.name, "digest": entry.digest}


def _pull_progress(ex: Exchange, entry: ModelEntry) -> Callable[[int, int], None]:
    """Report assembly progress as pull progress lines, about every 5%."""
    last = [-1]

    def report(done: int, total: int) -> None:
        step = done * 20 // max(total, 1)
        if step != last[0]:
            last[0] = step
            ex.send_line({"status": f"pulling {entry.digest[:12]}", "digest": f"sha256:{entry.digest}",
                          "total": total, "completed": done})
    return report


def _stats(generation: Generation, started_ns: int, load_ns: int) -> dict[str, Any]:
    stats = generation.stats
    return {
        "done_reason": stats.done_reason,
        "total_duration": max(1, time.perf_counter_ns() - started_ns),
        "load_duration": max(1, load_ns),
        "prompt_eval_count": max(1, stats.prompt_eval_count),
        "prompt_eval_duration": stats.prompt_eval_ns,
        "eval_count": stats.eval_count,
        "eval_duration": stats.eval_ns,
    }


def _details(info: GGUFInfo) -> dict[str, Any]:
    return {"parent_model": "", "format": "gguf", "family": info.architecture,
            "families": [info.architecture], "parameter_size": info.parameter_size,
            "quantization_level": info.quantization}


def _model_info(info: GGUFInfo) -> dict[str, Any]:
    shown = {k: v for k, v in info.metadata.items()
             if not (isinstance(v, str) and len(v) > _LONG_STRING)}
    shown.update({key: [] for key in info.skipped_arrays})  # like Ollama without `verbose`
    shown.setdefault("general.parameter_count", info.parameter_count)
    return shown


def _model_field(body: dict, accept_name: bool = False) -> str:
    name = body.get("model") or (body.get("name") if accept_name else None)
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("model is required")
    return name


def _string(body: dict, key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"json: cannot unmarshal {type(value).__name__} into field {key} of type string")
    return value


def _messages(raw: Any) -> list[dict[str, Any]]:
    """Validated chat messages: role lowercased, content a string, images checked then dropped."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise BadRequest("messages must be a list of objects")
    messages = []
    for message in raw:
        role, content = message.get("role"), message.get("content") or ""
        if not isinstance(role, str) or not isinstance(content, str):
            raise BadRequest("each message needs a string role and string content")
        check_images(message.get("images"))
        messages.append({"role": role.lower(), "content": content})
    return messages


def _generate_prompt(prompt: str, system: str, raw: bool, context: Any) -> Callable:
    if context is not None and not (isinstance(context, list) and all(isinstance(t, int) for t in context)):
        raise BadRequest("context must be a list of token ids")

    def tokens(model: LoadedModel) -> list[int]:
        if raw:
            found = model.prompter.tokenize(prompt, raw=True)
        else:
            messages = ([{"role": "system", "content": system}] if system else []) + [
                {"role": "user", "content": prompt}]
            found = model.prompter.chat_tokens(messages, model.num_ctx)
        found = list(context or []) + found
        if len(found) >= model.num_ctx:
            raise BadRequest(f"the input length exceeds the context length ({len(found)} tokens, "
                             f"num_ctx {model.num_ctx})")
        return found
    return tokens
