"""Loaded llama.cpp models and who may use them: up to `parallel` requests at once per model, a
bounded queue in arrival order beyond them, lazy loading, keep-alive expiry, a cap on loaded models,
and per-model counters.

Owns every Llama object's lifetime. Generations share a model (with `parallel` > 1 their tokens are
decoded together by the model's Batcher; with 1 they run one at a time on `llm.generate`); loading,
reloading and unloading need it alone: nothing frees a model another thread is using.

A request asking a `num_ctx` other than the loaded model's waits in line until the requests running on
that model have finished, then the model is reloaded at its size (as a reload always was): every
request gets the context it asked for, and a prompt that does not fit it is a 400, never cut short.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import llama_cpp

from workspace.engine.batching import BatchedGeneration, Batcher
from workspace.engine.common import (
    ModelCounters,
    ModelLoadFailed,
    RequestAbandoned,
    ServerBusy,
)
from workspace.engine.generation import AbortSwitch, Generation, Prompter, ShouldStop, TokenText
from workspace.engine.gguf import GGUFInfo
from workspace.engine.models import ModelEntry, ModelRegistry

log = logging.getLogger(__name__)
native_log = logging.getLogger("workspace.engine.llama_cpp")
IsGone = Callable[[], bool]
# llama-cpp-python points the whole process's stdout/stderr at /dev/null while it loads a model
# (verbose=False). Two loads at once could restore each other's saved descriptors and leave
# stdout muted for good, so loads run one at a time, process-wide.
_LOAD_LOCK = threading.Lock()
_native_log_callback = None
_WAIT_POLL_S = 0.1  # how often a queued request checks whether its client is still there
_STOP_GRACE_S = 10.0
_TOKENIZER_CTX = 64


@dataclass
class LoadedModel:
    """A model in memory, its context size, and when it should be unloaded."""

    entry: ModelEntry
    info: GGUFInfo
    llm: llama_cpp.Llama
    num_ctx: int
    prompter: Prompter
    text: TokenText
    abort: AbortSwitch
    memory_size: int
    batcher: Batcher | None = None  # None: one generation at a time on llm.generate
    expires_at: float | None = None  # wall clock; None = kept loaded forever
    last_used: float = field(default_factory=time.monotonic)

    def generation(self, prompt_tokens: list[int], sampling, grammar, should_stop: ShouldStop) -> Generation:
        if self.batcher is not None:
            return BatchedGeneration(self.batcher, self.llm, self.text, self.abort, prompt_tokens, sampling,
                                     grammar, should_stop)
        return Generation(self.llm, self.text, self.abort, prompt_tokens, sampling, grammar, should_stop)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self.llm.close()


def _route_native_logs() -> None:
    """Send llama.cpp's own log lines to logging instead of raw stderr (an aborted decode, for
    one, logs an ERROR line although stopping it was the point)."""
    global _native_log_callback
    if _native_log_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def forward(level: int, text: bytes, _user_data) -> None:
        native_log.log(logging.INFO if level == 3 else logging.DEBUG, "%s",
                       text.decode("utf-8", errors="replace").rstrip())

    _native_log_callback = forward  # ctypes needs the callback kept alive
    llama_cpp.llama_log_set(forward, None)


def _kv_cache_bytes(info: GGUFInfo, num_ctx: int) -> int:
    """Rough f16 KV-cache size, so /api/ps reports more than the file size."""
    arch, meta = info.architecture, info.metadata
    layers = int(meta.get(f"{arch}.block_count", 0) or 0)
    heads = int(meta.get(f"{arch}.attention.head_count", 1) or 1)
    kv_heads = int(meta.get(f"{arch}.attention.head_count_kv", heads) or heads)
    head_dim = int(meta.get(f"{arch}.embedding_length", 0) or 0) // heads
    return 2 * 2 * layers * num_ctx * kv_heads * head_dim


class Runner:
    """Admits requests per model (shared up to `parallel`, or alone to load and unload), queues a
    bounded number of waiters in arrival order, and manages loaded models."""

    def __init__(self, registry: ModelRegistry, threads: int | None = None, max_queue: int = 16,
                 keep_alive_s: float = 300, max_loaded: int = 3, parallel: int = 1):
        self.registry = registry
        self.parallel = max(1, parallel)
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.max_queue = max_queue
        self.keep_alive_s = keep_alive_s
        self.max_loaded = max(1, max_loaded)
        self.counters: dict[str, ModelCounters] = defaultdict(ModelCounters)
        self._cond = threading.Condition()
        self._busy: set[str] = set()  # models held alone (loading, unloading, pulling)
        self._users: dict[str, int] = defaultdict(int)  # generations sharing each model
        self._lines: dict[str, deque] = defaultdict(deque)  # waiting requests per model, in arrival order
        self._waiting = 0
        self._loaded: dict[str, LoadedModel] = {}
        self._stopping = False
        self._reaper: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        _route_native_logs()
        self._reaper = threading.Thread(target=self._reap_loop, name="engine-keepalive", daemon=True)
        self._reaper.start()

    def stop(self) -> None:
        """Cancel what runs (generations poll `stopping`), wait for it briefly, free every model."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            deadline = time.monotonic() + _STOP_GRACE_S
            while (self._busy or any(self._users.values())) and time.monotonic() < deadline:
                self._cond.wait(_WAIT_POLL_S)
            leftovers = [m for name, m in self._loaded.items() if not self._in_use(name)]
            for model in leftovers:
                del self._loaded[model.entry.name]
        for model in leftovers:
            model.close()

    @property
    def stopping(self) -> bool:
        return self._stopping

    # --- slots -----------------------------------------------------------------------------------

    def _in_use(self, name: str) -> bool:
        return name in self._busy or self._users[name] > 0

    def _wait_turn(self, name: str, is_gone: IsGone, can_enter: Callable[[], bool]) -> None:
        """Return (holding the lock) once it is this request's turn and `can_enter()`; a request
        that cannot enter at once waits in line behind earlier ones (or gets a 503 if the line is full)."""
        if self._stopping:
            raise RequestAbandoned("the engine is stopping")
        line = self._lines[name]
        if not line and can_enter():
            return
        if self._waiting >= self.max_queue:
            raise ServerBusy("server busy, please try again.  maximum pending requests exceeded")
        ticket = object()
        line.append(ticket)
        self._waiting += 1
        try:
            while line[0] is not ticket or not can_enter():
                self._cond.wait(_WAIT_POLL_S)
                if self._stopping or is_gone():
                    raise RequestAbandoned("client went away while queued")
        finally:
            self._waiting -= 1
            line.remove(ticket)
            self._cond.notify_all()

    def _acquire(self, name: str, is_gone: IsGone) -> None:
        with self._cond:
            self._wait_turn(name, is_gone, lambda: not self._in_use(name))
            self._busy.add(name)

    def _release(self, name: str) -> None:
        with self._cond:
            self._busy.discard(name)
            self._cond.notify_all()

    def _claim_idle(self, name: str) -> LoadedModel | None:
        """Hold a loaded, idle model alone (to unload it), or None if it is in use."""
        with self._cond:
            if self._in_use(name) or name not in self._loaded:
                return None
            self._busy.add(name)
            return self._loaded[name]

    @contextmanager
    def slot(self, entry: ModelEntry, is_gone: IsGone) -> Iterator[None]:
        """Hold the model alone: wait in line (or 503), release even on errors."""
        self._acquire(entry.name, is_gone)
        try:
            yield
        finally:
            self._release(entry.name)

    @contextmanager
    def using(self, entry: ModelEntry, num_ctx: int, is_gone: IsGone,
              keep_alive_s: float) -> Iterator[tuple[LoadedModel, int]]:
        """Share the model loaded at `num_ctx` with at most `parallel` - 1 other requests, loading or
        reloading it first if needed: yields (model, load nanoseconds); afterwards applies keep_alive."""
        name = entry.name

        def fits() -> bool:
            model = self._loaded.get(name)
            return model is not None and model.num_ctx == num_ctx

        with self._cond:
            self._wait_turn(name, is_gone, lambda: name not in self._busy and (
                self._users[name] < self.parallel if fits() else self._users[name] == 0))
            ready = fits()
            if ready:
                self._users[name] += 1
            else:
                self._busy.add(name)  # alone, to load it
        load_ns = 0
        if not ready:
            try:
                _, load_ns = self.ensure_loaded(entry, num_ctx)
            finally:
                with self._cond:  # alone → shared (or out, if the load failed)
                    self._busy.discard(name)
                    self._users[name] += int(fits())
                    self._cond.notify_all()
        try:
            yield self._loaded[name], load_ns
        finally:
            self._leave(entry, keep_alive_s)

    def _leave(self, entry: ModelEntry, keep_alive_s: float) -> None:
        """A request is done: its keep_alive sets the expiry (the last to finish wins, as in Ollama);
        an expired model is unloaded by the last request out, or by the reaper once idle."""
        name = entry.name
        with self._cond:
            self._users[name] -= 1
            model = self._loaded.get(name)
            if model is not None:
                model.last_used = time.monotonic()
                model.expires_at = None if keep_alive_s < 0 else time.time() + keep_alive_s
            last_out = model is not None and not self._in_use(name) and (
                keep_alive_s == 0 or self._stopping)
            if last_out:
                self._busy.add(name)
            self._cond.notify_all()
        if last_out:
            try:
                self._unload_held(name)
            finally:
                self._release(name)

    def queued(self, name: str) -> int:
        with self._cond:
            return len(self._lines.get(name, ()))

    def slot_state(self, model: LoadedModel) -> list[dict]:
        if model.batcher is not None:
            return model.batcher.state()
        return [{"id": 0, "busy": self._users[model.entry.name] > 0, "cached_tokens": int(model.llm.n_tokens)}]

    # --- loading ---------------------------------------------------------------------------------

    def loaded_model(self, name: str) -> LoadedModel | None:
        return self._loaded.get(name)

    def ensure_loaded(self, entry: ModelEntry, num_ctx: int) -> tuple[LoadedModel, int]:
        """(model, load nanoseconds); call while holding the slot. A different num_ctx reloads."""
        current = self._loaded.get(entry.name)
        if current is not None and current.num_ctx == num_ctx:
            return current, 0
        started = time.perf_counter_ns()
        if current is not None:
            self._unload_held(entry.name)
        self._evict_for_one_more(entry.name)
        model = self._load(entry, num_ctx)
        with self._cond:
            self._loaded[entry.name] = model
        self.counters[entry.name].loads += 1
        return model, time.perf_counter_ns() - started

    def _load(self, entry: ModelEntry, num_ctx: int) -> LoadedModel:
        path = self.registry.ensure_file(entry)  # may assemble; raises ModelUnavailable
        info = self.registry.info(entry)
        try:
            with _LOAD_LOCK:
                # Batched: the Llama object only tokenizes (a token-sized context of its own); the
                # batcher's context holds `parallel` sequences of num_ctx tokens each.
                own_ctx = num_ctx if self.parallel == 1 else _TOKENIZER_CTX
                llm = llama_cpp.Llama(
                    model_path=str(path), n_ctx=own_ctx, n_batch=min(512, own_ctx),
                    n_threads=self.threads, n_threads_batch=self.threads, verbose=False)
                batcher = Batcher(llm, self.parallel, num_ctx, self.threads) if self.parallel > 1 else None
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelLoadFailed(f"model failed to load: {error}") from error
        log.info("loaded %s (num_ctx %d x %d sequences, %d threads)", entry.name, num_ctx, self.parallel,
                 self.threads)
        return LoadedModel(
            entry=entry, info=info, llm=llm, num_ctx=num_ctx,
            prompter=Prompter(llm, info.chat_template), text=TokenText(llm), abort=AbortSwitch(llm.ctx),
            memory_size=entry.size + _kv_cache_bytes(info, num_ctx * self.parallel), batcher=batcher)

    def _unload_held(self, name: str) -> None:
        with self._cond:
            model = self._loaded.pop(name, None)
        if model is not None:
            model.close()
            log.info("unloaded %s", name)

    def _evict_for_one_more(self, keep: str) -> None:
        """Unload least recently used idle models so one more fits under the cap."""
        others = sorted((m for n, m in self._loaded.items() if n != keep), key=lambda m: m.last_used)
        excess = len(others) + 1 - self.max_loaded
        for model in others:
            if excess <= 0:
                break
            if self._claim_idle(model.entry.name) is not None:
                try:
                    self._unload_held(model.entry.name)
                    excess -= 1
                finally:
                    self._release(model.entry.name)
        # If every other model is busy we go over the cap for a while rather than wait.

    def unload(self, entry: ModelEntry) -> None:
        """Unload now (waits for a running generation of that model to end)."""
        with self.slot(entry, lambda: False):
            self._unload_held(entry.name)

    def ps(self) -> list[LoadedModel]:
        with self._cond:
            models = list(self._loaded.values())
        far = float("inf")
        return sorted(models, key=lambda m: m.expires_at if m.expires_at is not None else far,
                      reverse=True)

    # --- keep-alive ------------------------------------------------------------------------------

    def _reap_loop(self) -> None:
        while not self._stopping:
            now = time.time()
            for model in list(self._loaded.values()):
                if model.expires_at is not None and model.expires_at <= now:
                    self._unload_if_still_expired(model.entry.name, now)
            with self._cond:
                self._cond.wait(0.5)

    def _unload_if_still_expired(self, name: str, now: float) -> None:
        model = self._claim_idle(name)
        if model is None:
            return
        try:
            if model.expires_at is not None and model.expires_at <= now:
                self._unload_held(name)
        finally:
            self._release(name)
