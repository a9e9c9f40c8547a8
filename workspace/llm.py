"""LLM gateway: the only module that talks to Ollama (or the embedded engine) through `ollama.Client`.

It streams chat answers as text deltas followed by one final stats record, lists models with their
capabilities and context length (cached), administers them (loaded models, pull with progress, delete,
warm-up), probes health quickly, and translates every transport or
server failure into a few domain errors whose messages tell the user what to do. Errors are
classified by exception type and HTTP status code, never by message text (it changes between versions).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

import httpx
import ollama


class LLMError(Exception):
    """Base of the gateway's domain errors; `str()` is a message meant for the user."""


class BackendUnavailable(LLMError):
    """Nothing answers at the host."""


class ModelNotFound(LLMError):
    """The host answers but does not have the model."""


class BackendBusy(LLMError):
    """The host's queue is full (503)."""


class BackendTimeout(LLMError):
    """The host stopped answering mid-request."""


class BadRequest(LLMError):
    """The host refused the request as invalid (4xx other than 404)."""


class BackendFailed(LLMError):
    """Any other failure reported by the host (5xx, mid-stream error, malformed reply)."""


@dataclass(frozen=True)
class Delta:
    """A piece of the answer as it streams."""

    text: str


@dataclass(frozen=True)
class Final:
    """The last item of a stream: why it ended and the server's stats (nanosecond durations)."""

    done_reason: str
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        eval_ns = self.stats.get("eval_duration", 0)
        return self.stats.get("eval_count", 0) / eval_ns * 1e9 if eval_ns else 0.0


@dataclass(frozen=True)
class ModelInfo:
    name: str
    capabilities: tuple[str, ...]
    context_length: int | None
    parameter_size: str = ""
    quantization: str = ""


class StreamCloser:
    """Cuts one model stream's connection at once, from any thread.

    Closing the iterator only works between items; a stream that is waiting (a long prompt evaluation,
    a stalled server) blocks in a socket read. Shutting the socket down wakes that read, ends the stream
    on the reading thread, and tells the server its client left, so it stops computing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self.closed = False
        self.sent = threading.Event()  # the request is on the wire (the server has it to act on)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self._cut()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's `trace` extension: note the socket this request connects, and when it is sent."""
        if event.endswith("connect_tcp.complete") and info.get("return_value") is not None:
            with self._lock:
                self._socket = info["return_value"].get_extra_info("socket")
                if self.closed:
                    self._cut()
        elif event.endswith("send_request_body.complete"):
            self.sent.set()

    def detach(self) -> None:
        """The stream is over: forget the socket before its owner closes it (its number may be reused)."""
        with self._lock:
            self._socket = None

    def _cut(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:  # already gone
                pass


# The closer of the stream this thread is about to open, picked up by the client's request hook.
_opening = threading.local()


def _trace_request(request: httpx.Request) -> None:
    closer = getattr(_opening, "closer", None)
    _opening.closer = None
    if closer is not None:
        request.extensions = {**request.extensions, "trace": closer.trace}


STAT_KEYS = (
    "total_duration",
    "load_duration",
    "prompt_eval_count",
    "prompt_eval_duration",
    "eval_count",
    "eval_duration",
)


INFO_FAILURE_TTL_S = 10.0  # a failed /api/show is not asked again for this long (a down host answers slowly)


class LLMGateway:
    """One `ollama.Client` per host, a short connect timeout and a long read timeout."""

    def __init__(self, default_host: str, *, connect_timeout_s: float = 3.0, read_timeout_s: float = 600.0,
                 keep_alive: str | float | None = None):
        self.default_host = default_host
        self.keep_alive = keep_alive  # how long a server keeps a model loaded after a request; None: its default
        self._timeout = httpx.Timeout(read_timeout_s, connect=connect_timeout_s)
        self._clients: dict[str, ollama.Client] = {}
        self._info_cache: dict[tuple[str, str], ModelInfo] = {}
        self._info_failures: dict[tuple[str, str], tuple[float, LLMError]] = {}
        self._openai: dict[str, Any] = {}  # base URL → OpenAIBackend (workspace/llm_openai.py)
        self._lock = threading.Lock()

    def add_openai(self, base_url: str, data_dir: Any) -> None:
        """Serve `base_url` (an OpenAI-compatible server) through the same interface as an Ollama host."""
        from workspace.llm_openai import OpenAIBackend  # it builds on this module's types

        self._openai.setdefault(base_url, OpenAIBackend(base_url, data_dir, self._timeout))

    def openai(self, host: str) -> Any | None:
        """The OpenAI-compatible backend at `host`, or None when `host` is an Ollama host."""
        return self._openai.get(host)

    def _client(self, host: str | None) -> ollama.Client:
        host = host or self.default_host
        with self._lock:
            if host not in self._clients:
                # trust_env=False: never route a local model call through a proxy from the environment.
                # No kept-alive connections: each request connects anew, so a StreamCloser sees its socket.
                self._clients[host] = ollama.Client(
                    host=host, timeout=self._timeout, trust_env=False,
                    limits=httpx.Limits(max_keepalive_connections=0),
                    event_hooks={"request": [_trace_request]})
            return self._clients[host]

    def chat_stream(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        options: Mapping[str, Any] | None = None,
        format: str | dict | None = None,
        host: str | None = None,
        closer: StreamCloser | None = None,
    ) -> Iterator[Delta | Final]:
        """Yield `Delta`s then one `Final`. Closing the iterator closes the HTTP response; so does
        `closer.close()`, from any thread, even while the stream waits for the server."""
        host = host or self.default_host
        if not model.strip():
            raise BadRequest("No model is set for this role: choose one in settings, the profile or the chat.")
        if host in self._openai:
            yield from self._openai[host].chat_stream(model, messages, options=options, format=format, closer=closer)
            return
        with _translated(host, model):
            chunks = self._client(host).chat(
                model=model, messages=list(messages), stream=True, options=dict(options or {}), format=format,
                keep_alive=self.keep_alive,
            )
            _opening.closer = closer  # the request goes out on the first iteration, in this thread
            try:
                for chunk in chunks:
                    if chunk.message.content:
                        yield Delta(chunk.message.content)
                    if chunk.done:
                        stats = {key: int(getattr(chunk, key) or 0) for key in STAT_KEYS}
                        yield Final(chunk.done_reason or "stop", stats)
                        return
            finally:
                _opening.closer = None
                if closer is not None:
                    closer.detach()
                chunks.close()
        raise BackendFailed(f"The model server at {host} ended the answer without its final record.")

    def chat(self, model: str, messages: Sequence[Mapping[str, Any]], **kwargs: Any) -> tuple[str, Final]:
        """The whole answer at once (still streamed underneath, so errors are the same)."""
        parts: list[str] = []
        final = Final("stop")
        for item in self.chat_stream(model, messages, **kwargs):
            if isinstance(item, Delta):
                parts.append(item.text)
            else:
                final = item
        return "".join(parts), final

    def list_models(self, host: str | None = None) -> list[str]:
        host = host or self.default_host
        with _translated(host, None):
            return [entry.model for entry in self._client(host).list().models if entry.model]

    def catalog(self, host: str | None = None) -> list[ModelInfo]:
        """Every model at `host` with its capabilities and context length (details cached per model)."""
        return [self.model_info(name, host) for name in self.list_models(host)]

    def model_info(self, model: str, host: str | None = None) -> ModelInfo:
        """Capabilities and context length from `/api/show`, cached per host and model (failures briefly)."""
        host = host or self.default_host
        if host in self._openai:  # the OpenAI API tells neither; the chat keeps its own context size
            return ModelInfo(model, ("completion",), None)
        key = (host, model)
        if key in self._info_cache:
            return self._info_cache[key]
        failed = self._info_failures.get(key)
        if failed is not None and time.monotonic() < failed[0]:
            raise failed[1]
        try:
            with _translated(host, model):
                shown = self._client(host).show(model)
        except LLMError as exc:
            self._info_failures[key] = (time.monotonic() + INFO_FAILURE_TTL_S, exc)
            raise
        self._info_failures.pop(key, None)
        info = ModelInfo(
            name=model,
            capabilities=tuple(shown.capabilities or ()),
            context_length=_context_length(shown.modelinfo or {}),
            parameter_size=(shown.details.parameter_size or "") if shown.details else "",
            quantization=(shown.details.quantization_level or "") if shown.details else "",
        )
        self._info_cache[key] = info
        return info

    def installed(self, host: str | None = None) -> list[dict[str, Any]]:
        """`/api/tags`: each model's name, size on disk and details."""
        host = host or self.default_host
        with _translated(host, None):
            entries = self._client(host).list().models
        return [{"name": e.model, "size": e.size or 0, **_details(e.details)} for e in entries if e.model]

    def loaded(self, host: str | None = None) -> list[dict[str, Any]]:
        """`/api/ps`: the models in memory now, with their memory use and when they unload."""
        host = host or self.default_host
        with _translated(host, None):
            entries = self._client(host).ps().models
        return [{"name": e.model, "size": e.size or 0, "size_vram": e.size_vram or 0,
                 "expires_at": e.expires_at.isoformat() if e.expires_at else None,
                 "context_length": e.context_length} for e in entries if e.model]

    def pull(self, model: str, host: str | None = None, closer: StreamCloser | None = None
             ) -> Iterator[dict[str, Any]]:
        """Ollama's pull progress lines (`status`, `digest`, `total`, `completed`) as they come; an error
        mid-stream raises. `closer.close()` cancels from any thread."""
        host = host or self.default_host
        with _translated(host, model, action="pull"):
            lines = self._client(host).pull(model, stream=True)
            _opening.closer = closer
            try:
                for line in lines:
                    yield line.model_dump(exclude_none=True)
            finally:
                _opening.closer = None
                if closer is not None:
                    closer.detach()
                lines.close()

    def delete(self, model: str, host: str | None = None) -> None:
        host = host or self.default_host
        with _translated(host, model):
            self._client(host).delete(model)
        self._forget(host, model)

    def load(self, model: str, host: str | None = None) -> str:
        """Warm-up: Ollama's empty chat request loads the model (kept for `keep_alive`); the done reason."""
        host = host or self.default_host
        with _translated(host, model):
            reply = self._client(host).chat(model=model, messages=[], keep_alive=self.keep_alive)
        return reply.done_reason or "load"

    def version(self, host: str | None = None, timeout_s: float = 0.8) -> tuple[str | None, float | None]:
        """The server's version and the round trip in milliseconds; (None, None) when it does not answer."""
        url = (host or self.default_host).rstrip("/") + "/api/version"
        started = time.perf_counter()
        try:
            reply = httpx.get(url, timeout=timeout_s, trust_env=False)
            latency_ms = (time.perf_counter() - started) * 1000
            return (str(reply.json().get("version", "")) if reply.status_code == 200 else None), latency_ms
        except (httpx.HTTPError, ValueError):
            return None, None

    def _forget(self, host: str, model: str) -> None:
        with self._lock:
            self._info_cache.pop((host, model), None)

    def health(self, host: str | None = None, timeout_s: float = 0.8) -> bool:
        """True when an Ollama-compatible server answers at `host`, within `timeout_s`."""
        url = (host or self.default_host).rstrip("/") + "/api/version"
        try:
            return httpx.get(url, timeout=timeout_s, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def server_status(self, host: str | None = None, timeout_s: float = 0.8) -> dict[str, Any]:
        """`/api/version` and `/api/ps` of a server: {"up", "version", "loaded": [model names]}."""
        base = (host or self.default_host).rstrip("/")
        try:
            version = httpx.get(base + "/api/version", timeout=timeout_s, trust_env=False)
            loaded = httpx.get(base + "/api/ps", timeout=timeout_s, trust_env=False)
        except httpx.HTTPError:
            return {"up": False, "version": None, "loaded": []}
        if version.status_code != 200:
            return {"up": False, "version": None, "loaded": []}
        models = loaded.json().get("models", []) if loaded.status_code == 200 else []
        return {"up": True, "version": version.json().get("version"),
                "loaded": [m.get("model") or m.get("name") for m in models if isinstance(m, dict)]}

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client._client.close()
            self._clients.clear()
            for other in self._openai.values():
                other.close()


def _details(details: Any) -> dict[str, str]:
    if details is None:
        return {"family": "", "parameter_size": "", "quantization": ""}
    return {"family": details.family or "", "parameter_size": details.parameter_size or "",
            "quantization": details.quantization_level or ""}


def _context_length(model_info: Mapping[str, Any]) -> int | None:
    for key, value in model_info.items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


class _translated:
    """Context manager mapping client/transport exceptions to domain errors (the one place it happens)."""

    def __init__(self, host: str, model: str | None, action: str = ""):
        self.host, self.model, self.action = host, model, action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, (LLMError, GeneratorExit)) or not isinstance(exc, Exception):
            return False
        if self.action == "pull" and isinstance(exc, ollama.ResponseError) and exc.status_code in (-1, 500):
            # A failure the server reports while pulling (unknown model, offline engine, broken download).
            raise BackendFailed(f"Pulling {self.model!r} at {self.host} failed: {exc.error}") from exc
        raise translate_error(exc, self.host, self.model) from exc


def translate_error(exc: Exception, host: str, model: str | None) -> LLMError:
    if isinstance(exc, (ConnectionError, httpx.ConnectError)):
        return BackendUnavailable(
            f"Ollama is not reachable at {host}: start it with `ollama serve`, or check the host in settings."
        )
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(f"The model server at {host} stopped answering (timed out). Try again.")
    if isinstance(exc, ollama.ResponseError):
        return _from_status(exc, host, model)
    if isinstance(exc, httpx.HTTPError):
        return BackendFailed(f"The connection to the model server at {host} failed: {exc}")
    return BackendFailed(f"The model server at {host} sent a reply this app cannot read: {exc}")


def _from_status(exc: ollama.ResponseError, host: str, model: str | None) -> LLMError:
    status = exc.status_code
    if status == 404:
        return ModelNotFound(f"Model {model!r} is not installed at {host}: run `ollama pull {model}`.")
    if status == 503:
        return BackendBusy(f"The model server at {host} is busy; try again in a moment.")
    if 400 <= status < 500:
        return BadRequest(f"The model server at {host} refused the request: {exc.error}")
    if status == -1:
        return BackendFailed(f"The model failed while answering: {exc.error}")
    return BackendFailed(f"The model server at {host} failed ({status}): {exc.error}")
