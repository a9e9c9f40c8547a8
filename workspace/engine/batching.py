"""Continuous batching: several requests on one loaded model share one llama.cpp context, each on its
own sequence, and one decode step carries a token of every sequence that is generating plus prompt
chunks of those still being read.

Owns the slots (one per sequence: the tokens its KV cache holds, the request using it), the choice of
slot for a new request (the idle slot whose cached tokens share the longest prefix with its prompt, so
a chat's next turn evaluates only its new tail), prompt sharing between sequences (a prompt another
sequence already holds, or is reading, is evaluated once: the others copy its cells in the unified KV
cache — several drafts of one task arrive together with the same prompt), the decode loop on one thread, and per-request
sampling (each request has its own sampler chain: grammar, penalties, seed). The request's thread reads
the sampled tokens from a queue and owns text, stop strings and stats (generation.py), as in the
one-at-a-time path; when it stops reading, it `close()`s and the slot is free at the next step.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import llama_cpp
from llama_cpp import _internals as internals

from workspace.engine.generation import AbortSwitch, Generation, make_sampler
from workspace.engine.options import Sampling

log = logging.getLogger(__name__)
_END = -1  # in a request's token queue: no more tokens (finished, failed or the engine stopped)
_POLL_S = 0.05  # how often a waiting reader checks whether its client is still there
MIN_SHARE = 16  # prompt tokens worth waiting a step for, to copy them instead of evaluating them again


@dataclass
class SeqRequest:
    """One generation handed to the batcher; its reader takes tokens from `tokens`."""

    prompt: list[int]
    sampling: Sampling
    grammar: object
    max_tokens: int
    should_stop: Callable[[], bool]
    tokens: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    evaluated: int = 0  # prompt tokens really evaluated (the rest was cached in its slot)
    error: str | None = None
    closed: bool = False
    sampled: int = 0

    def close(self) -> None:
        self.closed = True


@dataclass
class _Slot:
    seq: int
    cached: list[int] = field(default_factory=list)  # exactly the tokens this sequence holds in the KV cache
    request: SeqRequest | None = None
    pending: list[int] = field(default_factory=list)  # prompt tokens still to evaluate
    next_token: int | None = None  # sampled, to be decoded next step
    sampler: object = None
    idle_since: float = 0.0


def _common_prefix(a: list[int], b: list[int]) -> int:
    count = 0
    for x, y in zip(a, b):
        if x != y:
            break
        count += 1
    return count


class Batcher:
    """The decode loop of one loaded model with `parallel` sequences of `n_ctx_seq` tokens each."""

    def __init__(self, llm: llama_cpp.Llama, parallel: int, n_ctx_seq: int, threads: int, n_batch: int = 512):
        params = llama_cpp.llama_context_params.from_buffer_copy(llm.context_params)
        params.n_ctx = n_ctx_seq * parallel
        params.n_batch = params.n_ubatch = n_batch
        params.n_seq_max, params.kv_unified = parallel, True
        params.n_threads = params.n_threads_batch = threads
        self._llm, self.n_ctx_seq, self.parallel, self._n_batch = llm, n_ctx_seq, parallel, n_batch
        self._ctx = internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self.abort = AbortSwitch(self._ctx.ctx)
        self._vocab = llm._model.vocab
        self._slots = [_Slot(seq) for seq in range(parallel)]
        self._incoming: list[SeqRequest] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._forget = False  # set by forget(): the loop empties the idle sequences' caches
        self._thread = threading.Thread(target=self._loop, name="engine-batcher", daemon=True)
        self._thread.start()

    # --- the request side ------------------------------------------------------------------------

    def submit(self, request: SeqRequest) -> None:
        with self._cond:
            self._incoming.append(request)
            self._cond.notify_all()

    def state(self) -> list[dict]:
        """Per slot: whether it serves a request, and how many tokens its cache holds."""
        return [{"id": s.seq, "busy": s.request is not None, "cached_tokens": len(s.cached)}
                for s in self._slots]

    def forget(self) -> None:
        """Empty the caches of the idle sequences at the next step (a benchmark's configurations must not
        reuse each other's prompts)."""
        with self._cond:
            self._forget = True
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.abort.set()
        self._thread.join()
        llama_cpp.llama_batch_free(self._batch)
        self._ctx.close()

    # --- the decode loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._incoming and not self._active() and not self._forget:
                    self._cond.wait(_POLL_S)
                if self._stopping:
                    break
                arrivals, self._incoming = self._incoming, []
                forget, self._forget = self._forget, False
            try:
                # Leavers first: the runner admits a new request as soon as its client's predecessor leaves,
                # which can be before this loop has freed that slot.
                self._drop_leavers()
                if forget:
                    self._empty_idle()
                waiting = [request for request in arrivals if not self._assign(request)]
                if waiting:  # still no free slot (a leaver not yet seen): try again next step, in order
                    with self._cond:
                        self._incoming[:0] = waiting
                if self._active():
                    self._step()
            except Exception as error:  # noqa: BLE001 - the loop must outlive one bad step, its readers must not hang
                log.exception("batched decode step failed")
                self._reset_all(f"internal error: {error}")
        for slot in self._slots:
            self._end(slot, "the engine is stopping")
        for request in self._incoming:
            request.error = "the engine is stopping"
            request.tokens.put(_END)

    def _reset_all(self, error: str) -> None:
        llama_cpp.llama_memory_clear(self._ctx.memory, True)
        for slot in self._slots:
            slot.cached = []
            self._end(slot, error)

    def _empty_idle(self) -> None:
        for slot in self._slots:
            if slot.request is None:
                llama_cpp.llama_memory_seq_rm(self._ctx.memory, slot.seq, -1, -1)
                slot.cached = []

    def _active(self) -> list[_Slot]:
        return [s for s in self._slots if s.request is not None]

    def _assign(self, request: SeqRequest) -> bool:
        """Give the request the idle slot whose cache shares most with its prompt; False when none is idle
        (the runner admits no more requests than slots, but a slot is freed here a step after its client left)."""
        idle = [s for s in self._slots if s.request is None]
        if not idle:
            return False
        slot = max(idle, key=lambda s: (_common_prefix(s.cached, request.prompt), -s.idle_since))
        keep = _common_prefix(slot.cached, request.prompt)
        keep = max(0, min(keep, len(request.prompt) - 1))  # the last prompt token is evaluated again for its logits
        if not llama_cpp.llama_memory_seq_rm(self._ctx.memory, slot.seq, keep, -1):
            keep = 0
            llama_cpp.llama_memory_seq_rm(self._ctx.memory, slot.seq, -1, -1)
        slot.cached, slot.pending = slot.cached[:keep], request.prompt[keep:]
        slot.request, slot.next_token = request, None
        slot.sampler = make_sampler(self._llm, request.sampling, request.grammar)
        request.evaluated = len(slot.pending)
        self._share(slot)
        return True

    def _share(self, slot: _Slot) -> None:
        """Copy from another sequence the cells of prompt tokens it already holds, instead of evaluating them.
        The cache is unified, so the cells are shared, not duplicated; the last prompt token is always
        evaluated for its logits."""
        prompt = slot.cached + slot.pending
        have = length = len(slot.cached)
        donor = None
        for other in self._slots:
            common = min(_common_prefix(other.cached, prompt), len(prompt) - 1) if other is not slot else 0
            if common > length:
                donor, length = other, common
        if donor is None or length - have < MIN_SHARE:
            return
        llama_cpp.llama_memory_seq_cp(self._ctx.memory, donor.seq, slot.seq, have, length)
        slot.cached, slot.pending = prompt[:length], prompt[length:]
        slot.request.evaluated -= length - have

    def _waits_for_another(self, slot: _Slot, reading: list[_Slot]) -> bool:
        """Another sequence ahead of this one is reading the same prompt: wait, then copy its cells."""
        prompt = slot.cached + slot.pending
        ahead = (len(slot.cached), -slot.seq)
        return any(other is not slot and (len(other.cached), -other.seq) > ahead
                   and min(_common_prefix(other.cached + other.pending, prompt), len(prompt) - 1)
                   - len(slot.cached) >= MIN_SHARE for other in reading)

    def _drop_leavers(self) -> None:
        for slot in self._active():
            if slot.request.closed or slot.request.should_stop():
                self._end(slot, None)

    def _end(self, slot: _Slot, error: str | None) -> None:
        request = slot.request
        if request is None:
            return
        request.error = request.error or error
        request.tokens.put(_END)
        slot.request, slot.next_token, slot.pending, slot.sampler = None, None, [], None
        slot.idle_since = time.monotonic()

    def _fill(self) -> list[tuple[_Slot, int, list[int], int]]:
        """The step's batch: each generating slot's last token, then prompt chunks in the room left.
        Returns (slot, first batch index, tokens added, batch index with logits or -1)."""
        batch, plan, used = self._batch, [], 0
        decoding = [s for s in self._active() if not s.pending and s.next_token is not None]
        reading = [s for s in self._active() if s.pending]
        for slot in reading:
            self._share(slot)  # what another sequence read last step
        reading = [s for s in reading if not self._waits_for_another(s, reading)]
        for slot in decoding + reading:
            room = self._n_batch - used
            if room <= 0:
                break
            tokens = [slot.next_token] if not slot.pending else slot.pending[:room]
            finishes = not slot.pending or len(tokens) == len(slot.pending)
            start = len(slot.cached)
            for offset, token in enumerate(tokens):
                index = used + offset
                batch.token[index], batch.pos[index] = token, start + offset
                batch.n_seq_id[index], batch.seq_id[index][0] = 1, slot.seq
                batch.logits[index] = 0
            if finishes:
                batch.logits[used + len(tokens) - 1] = 1
            plan.append((slot, used, tokens, used + len(tokens) - 1 if finishes else -1))
            used += len(tokens)
        batch.n_tokens = used
        return plan

    def _step(self) -> None:
        plan = self._fill()
        if not plan:
            return
        reading = any(len(tokens) > 1 for _, _, tokens, _ in plan)
        requests = [slot.request for slot, *_ in plan]
        # Only a step that reads prompts is long enough to be worth aborting midway, and only when
        # every request in it is leaving (the others' work must not be thrown away).
        watch = (lambda: self._stopping or all(r.closed or r.should_stop() for r in requests)) if reading \
            else (lambda: self._stopping)
        with self.abort.watching(watch, background=reading):
            code = llama_cpp.llama_decode(self._ctx.ctx, self._batch)
        if code != 0:
            return self._failed(plan, code)
        for slot, _, tokens, logits_at in plan:
            slot.cached.extend(tokens)
            if slot.pending:
                slot.pending = slot.pending[len(tokens):]
            if logits_at >= 0:
                self._sample(slot, logits_at)

    def _sample(self, slot: _Slot, index: int) -> None:
        request = slot.request
        token = slot.sampler.sample(self._ctx, index)
        request.sampled += 1
        request.tokens.put(token)
        if llama_cpp.llama_vocab_is_eog(self._vocab, token) or request.sampled >= request.max_tokens:
            self._end(slot, None)  # the reader sees the same end and stops there
        else:
            slot.next_token = token

    def _failed(self, plan: list, code: int) -> None:
        """An aborted or failed decode: the sequences in it lose what this step added."""
        for slot, _, tokens, _ in plan:
            llama_cpp.llama_memory_seq_rm(self._ctx.memory, slot.seq, len(slot.cached), -1)
            stopped = code == 2 and (self._stopping or slot.request.closed or slot.request.should_stop())
            if not stopped:
                log.error("llama_decode returned %d with %d sequences", code, len(plan))
            self._end(slot, None if stopped else f"llama_decode returned {code}")


class BatchedGeneration(Generation):
    """A Generation whose tokens come from the model's batcher instead of `llm.generate`."""

    def __init__(self, batcher: Batcher, *args, **kwargs):
        self._batcher = batcher
        super().__init__(*args, **kwargs)

    def _context_size(self) -> int:
        return self._batcher.n_ctx_seq

    def _tokens(self) -> Iterator[int]:
        request = SeqRequest(
            self.prompt_tokens, self._sampling, self._grammar, self._max_tokens(), self._should_stop)
        self._batcher.submit(request)
        try:
            while True:
                try:
                    token = request.tokens.get(timeout=_POLL_S)
                except queue.Empty:
                    if self._should_stop():
                        return
                    continue
                if token == _END:
                    if request.error:
                        raise RuntimeError(request.error)
                    return
                yield token
        finally:
            request.close()
            self.stats.prompt_eval_count = request.evaluated

    def _guarded(self, tokens: Iterator[int]) -> Iterator[int]:
        return tokens

    def _watching(self) -> AbstractContextManager:
        return nullcontext()  # the batcher aborts a decode only when all its requests are leaving
