"""One generation on a loaded llama.cpp model: prompt rendering, the token loop, stop handling, stats.

Owns turning chat messages into prompt tokens with the model's own Jinja2 chat template (dropping old
history to fit the context, like Ollama), and a token loop that yields text as it is sampled, stops at
once when asked (a client gone, the server stopping), and counts real tokens and nanosecond timings.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import LlamaGrammar

from workspace.engine.common import BadRequest
from workspace.engine.options import Sampling

ShouldStop = Callable[[], bool]
_WATCH_INTERVAL_S = 0.05


def _strlen_address() -> int | None:
    try:
        libc = ctypes.cdll.msvcrt if os.name == "nt" else ctypes.CDLL(None)
        return ctypes.cast(libc.strlen, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None


class AbortSwitch:
    """Stops a llama_decode midway, so a long prompt evaluation ends soon after its client left.

    llama.cpp polls an abort callback between graph nodes, hundreds of times per decode. A Python
    callback would take the GIL each time, so the callback is C's strlen() over a one-byte flag:
    it returns non-zero ("abort") exactly when the flag is set, without entering Python.
    """

    def __init__(self, ctx):
        self._flag = ctypes.create_string_buffer(2)
        address = _strlen_address()
        self.available = address is not None
        if self.available:
            self._callback = llama_cpp.ggml_abort_callback(address)  # kept alive with the model
            llama_cpp.llama_set_abort_callback(
                ctx, self._callback, ctypes.cast(self._flag, ctypes.c_void_p))

    def is_set(self) -> bool:
        return self._flag.raw[0] != 0

    def set(self) -> None:
        self._flag[0] = b"\x01"

    @contextmanager
    def watching(self, should_stop: ShouldStop, background: bool = True) -> Iterator[None]:
        """While inside, a watcher thread sets the flag once `should_stop()` turns true (checked
        once on entry only when not `background`: a short decode is not worth a thread)."""
        self._flag[0] = b"\x00"
        if should_stop():
            self.set()
        done = threading.Event()

        def watch() -> None:
            while not done.wait(_WATCH_INTERVAL_S):
                if should_stop():
                    self.set()
                    return
        watcher = threading.Thread(target=watch, name="engine-abort-watch", daemon=True)
        if self.available and background:
            watcher.start()
        try:
            yield
        finally:
            done.set()
            self._flag[0] = b"\x00"


class TokenText:
    """Token → bytes, cached. llama-cpp-python's own detokenize uses a 32-byte buffer and returns
    garbage for longer pieces (it slices with the negative 'size needed'), so size it properly."""

    def __init__(self, llm: llama_cpp.Llama):
        self._vocab = llm._model.vocab
        self._cache: dict[int, bytes] = {}

    def piece(self, token: int) -> bytes:
        cached = self._cache.get(token)
        if cached is None:
            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                length = llama_cpp.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
                if length >= 0:
                    break
                size = -length
            cached = self._cache[token] = buffer.raw[:length]
        return cached


class Prompter:
    """Renders messages with the model's chat template and tokenizes them."""

    def __init__(self, llm: llama_cpp.Llama, template: str):
        model = llm._model
        eos, bos = llm.token_eos(), llm.token_bos()
        self._llm = llm
        self._formatter = Jinja2ChatFormatter(
            template=template or _FALLBACK_TEMPLATE,
            eos_token=model.token_get_text(eos) if eos != -1 else "",
            bos_token=model.token_get_text(bos) if bos != -1 else "",
        )

    def tokenize(self, text: str, raw: bool = False) -> list[int]:
        """special=True: template markers such as <|im_start|> become their control tokens. A chat
        template writes its own BOS; a raw prompt gets one if the model's vocabulary wants it."""
        return self._llm.tokenize(text.encode("utf-8"), add_bos=raw, special=True)

    def chat_tokens(self, messages: list[dict[str, Any]], limit: int) -> list[int]:
        """Prompt tokens for a chat; drops the oldest non-system messages (never the last) to fit."""
        kept = list(messages)
        while True:
            tokens = self.tokenize(self._render(kept))
            if len(tokens) < limit:
                return tokens
            droppable = [i for i, m in enumerate(kept[:-1]) if m.get("role") != "system"]
            if not droppable:
                raise BadRequest(
                    f"the input length exceeds the context length ({len(tokens)} tokens, "
                    f"num_ctx {limit})")
            del kept[droppable[0]]

    def _render(self, messages: list[dict[str, Any]]) -> str:
        try:
            return self._formatter(messages=messages).prompt
        except Exception as error:  # a template may raise_exception() on message orders it refuses
            raise BadRequest(f"chat template error: {error}") from error


_FALLBACK_TEMPLATE = (  # ChatML, for GGUF files without a template of their own
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass
class GenerationStats:
    """What the final `done` chunk reports, in tokens and nanoseconds."""

    prompt_eval_count: int = 0
    prompt_eval_ns: int = 0
    eval_count: int = 0
    eval_ns: int = 0
    done_reason: str = "stop"
    cancelled: bool = False
    output_tokens: list[int] = field(default_factory=list)


def _held_back(text: str, stops: list[str]) -> int:
    """How many trailing characters could be the start of a stop sequence (so not sent yet)."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


def _seed(sampling: Sampling) -> int:
    return sampling.seed if sampling.seed >= 0 else random.getrandbits(32)


def make_sampler(llm: llama_cpp.Llama, s: Sampling, grammar: LlamaGrammar | None):
    """A request's own sampler chain (penalties, grammar, then greedy or top-k/p... with its seed),
    built the way `llm.generate` builds it, for a sequence decoded in a shared batch."""
    llm.set_seed(_seed(s))
    return llm._init_sampler(
        top_k=s.top_k, top_p=s.top_p, min_p=s.min_p, typical_p=s.typical_p, temp=s.temperature,
        repeat_penalty=s.repeat_penalty, presence_penalty=s.presence_penalty,
        frequency_penalty=s.frequency_penalty, grammar=grammar)


def _to_evaluate(llm: llama_cpp.Llama, tokens: list[int]) -> int:
    """How many prompt tokens `llm.generate` will really evaluate: it keeps the context's cached
    prefix (the previous prompt and answer) and evaluates the rest, replaying one token when the
    whole prompt is cached (it needs fresh logits), none when the cache ends exactly there."""
    cached = int(llm.n_tokens)
    if cached == 0:
        return len(tokens)
    common = 0
    for have, want in zip(llm.input_ids[:cached].tolist(), tokens):
        if have != want:
            break
        common += 1
    if common == len(tokens):
        return 0 if cached == len(tokens) and not llm._requires_eval else 1
    return len(tokens) - common


class Generation:
    """Iterate to get text pieces as they are sampled; `stats` is complete once iteration ends.

    Closing the iterator early (the client left) stops sampling and marks the generation cancelled.
    """

    def __init__(self, llm: llama_cpp.Llama, text: TokenText, abort: AbortSwitch,
                 prompt_tokens: list[int], sampling: Sampling, grammar: LlamaGrammar | None,
                 should_stop: ShouldStop):
        self._llm, self._text, self._abort = llm, text, abort
        self.prompt_tokens = prompt_tokens
        self._sampling, self._grammar = sampling, grammar
        self._should_stop = should_stop
        self.stats = GenerationStats()

    def _context_size(self) -> int:
        return self._llm.n_ctx()

    def _max_tokens(self) -> int:
        room = self._context_size() - len(self.prompt_tokens)
        wanted = self._sampling.num_predict
        return room if wanted < 0 else min(wanted, room)

    def _tokens(self) -> Iterator[int]:
        s = self._sampling
        self.stats.prompt_eval_count = _to_evaluate(self._llm, self.prompt_tokens)
        self._llm.set_seed(_seed(s))
        return self._llm.generate(
            self.prompt_tokens, top_k=s.top_k, top_p=s.top_p, min_p=s.min_p, typical_p=s.typical_p,
            temp=s.temperature, repeat_penalty=s.repeat_penalty,
            presence_penalty=s.presence_penalty, frequency_penalty=s.frequency_penalty,
            grammar=self._grammar,
        )

    def _guarded(self, tokens: Iterator[int]) -> Iterator[int]:
        """The token stream, ending quietly when the abort switch stopped a decode."""
        try:
            yield from tokens
        except RuntimeError:  # llama-cpp-python: "llama_decode returned 2" (aborted)
            if not self._abort.is_set():
                raise

    def __iter__(self) -> Iterator[str]:
        stats, max_tokens = self.stats, self._max_tokens()
        started = self._first_ns = time.perf_counter_ns()
        self._finished = max_tokens <= 0
        stats.done_reason = "length" if self._finished else "stop"
        tokens = self._tokens() if max_tokens > 0 else iter(())
        try:
            with self._watching():
                yield from self._texts(self._guarded(tokens), max_tokens)
        finally:
            getattr(tokens, "close", lambda: None)()
            ended = time.perf_counter_ns()
            stats.cancelled = not self._finished
            stats.prompt_eval_ns = max(1, self._first_ns - started)
            stats.eval_ns = max(1, ended - self._first_ns)
            stats.eval_count = max(1, stats.eval_count)

    def _watching(self) -> AbstractContextManager:
        return self._abort.watching(self._should_stop)

    def _texts(self, tokens: Iterator[int], max_tokens: int) -> Iterator[str]:
        """Text as tokens arrive, holding back what may begin a stop sequence; sets _finished."""
        stats, stops, vocab = self.stats, self._sampling.stop, self._llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        for token in tokens:
            if stats.eval_count == 0:
                self._first_ns = time.perf_counter_ns()  # the prompt is evaluated by now
            stats.eval_count += 1
            if llama_cpp.llama_vocab_is_eog(vocab, token):
                self._finished = True
                break
            stats.output_tokens.append(token)
            pending += decoder.decode(self._text.piece(token))
            cut = min((i for i in (pending.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                pending, self._finished = pending[:cut], True
                break
            ready = len(pending) - _held_back(pending, stops)
            if ready > 0:
                yield pending[:ready]
                pending = pending[ready:]
            if len(stats.output_tokens) >= max_tokens:
                stats.done_reason, self._finished = "length", True
                break
            if self._should_stop():
                return
        if self._finished:
            pending += decoder.decode(b"", final=True)
            if pending:
                yield pending
