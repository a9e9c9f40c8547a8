"""What the stages of one run share: the model gateway, the cancel switch, the event sink, the stage records.

`RunContext.generate` is the one place a stage calls a model: it streams the answer into `delta`
events, stops reading as soon as the answer's code block closes (the chatter after it costs tokens),
records which model ran and why (the override level), and honours Cancel between tokens.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from workspace.llm import Delta, Final, LLMError, StreamCloser
from workspace.pipeline.codetext import complete_block
from workspace.routing import EffectiveModel

Emit = Callable[[dict], None]


class Cancelled(Exception):
    """The user pressed Cancel; the run ends as `cancelled`."""


@dataclass
class StageRecord:
    """One stage of a run, as the trail, the history and the API show it."""

    stage: str  # coder | tests | reviewer | judge | escalation
    label: str  # "coder #2", "escalation 1", …
    status: str = "running"  # running | done | skipped | failed | cancelled
    model_asked: str = ""
    model_used: str = ""
    level: str = ""  # chat | profile | global: where the model came from
    host: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    started: float = 0.0  # seconds since the run began
    note: str = ""
    output: str = ""
    ttft_s: float | None = None  # request to first token, as the run waited for it (queue, load, prompt)

    def as_dict(self, with_output: bool = True) -> dict:
        data = dict(self.__dict__)
        if not with_output:
            data.pop("output")
        data["seconds"], data["started"] = round(self.seconds, 3), round(self.started, 3)
        return data


@dataclass
class RunContext:
    gateway: Any  # LLMGateway, or a scripted double with the same chat_stream
    emit: Emit
    cancel: threading.Event = field(default_factory=threading.Event)
    began: float = field(default_factory=time.monotonic)
    records: list[StageRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _open_streams: set[StreamCloser] = field(default_factory=set)

    def cancel_now(self) -> None:
        """Cancel from any thread: every model stream of the run is cut at once, whatever it is waiting for."""
        self.cancel.set()
        with self._lock:
            streams = list(self._open_streams)
        for closer in streams:
            closer.close()

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def open_stage(self, stage: str, label: str, model: EffectiveModel | None = None) -> StageRecord:
        record = StageRecord(stage, label, started=time.monotonic() - self.began)
        if model is not None:
            record.model_asked, record.model_used = model.requested, model.model
            record.level, record.host = model.source, model.host
        with self._lock:
            self.records.append(record)
        self.emit({"event": "stage", **record.as_dict(with_output=False)})
        return record

    def close_stage(self, record: StageRecord, status: str, note: str = "") -> StageRecord:
        record.status = status
        record.note = "; ".join(filter(None, [record.note, note]))  # e.g. "read only as far as needed; …"
        if status != "skipped":
            record.seconds = time.monotonic() - self.began - record.started
        self.emit({"event": "stage", **record.as_dict(with_output=False)})
        return record

    def skip(self, stage: str, label: str, reason: str) -> StageRecord:
        return self.close_stage(self.open_stage(stage, label), "skipped", reason)

    def generate(self, record: StageRecord, messages: Sequence[Mapping[str, str]], *, options: Mapping[str, Any],
                 format: dict | None = None, stop_at_block: bool = True,
                 enough: Callable[[str], bool] | None = None) -> str:
        """Stream one model answer into `record` (and delta events); returns its text.

        Reading stops early once the code block closes (`stop_at_block`) or `enough(text)` says so."""
        self.check_cancel()
        parts: list[str] = []
        closer = StreamCloser()
        with self._lock:
            self._open_streams.add(closer)
        asked = time.monotonic()
        stream = self.gateway.chat_stream(record.model_used, messages, options=options, format=format,
                                          host=record.host or None, closer=closer)
        try:
            for item in stream:
                self.check_cancel()
                if isinstance(item, Final):
                    record.tokens_in = item.stats.get("prompt_eval_count", 0)
                    record.tokens_out = item.stats.get("eval_count", len(parts))
                    break
                if isinstance(item, Delta) and item.text:
                    if not parts and record.ttft_s is None:  # by our clock: a stream cut early has no server stats
                        record.ttft_s = round(time.monotonic() - asked, 4)
                    parts.append(item.text)
                    self.emit({"event": "delta", "stage": record.stage, "label": record.label, "text": item.text})
                    text = "".join(parts)
                    if (stop_at_block and complete_block(text)) or (enough is not None and enough(text)):
                        record.tokens_out, record.tokens_in = len(parts), _estimate_tokens(messages)
                        record.note = "; ".join(filter(None, [record.note, "read only as far as needed"]))
                        break
        except LLMError:
            self.check_cancel()  # a stream cut by Cancel ends the run as cancelled, not failed
            raise
        finally:
            with self._lock:
                self._open_streams.discard(closer)
            close = getattr(stream, "close", None)
            if close:
                close()  # closes the HTTP response: the server stops generating
        record.output = "".join(parts)
        return record.output


def _estimate_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """The prompt's size when the server's count is not known (the stream was closed early): ~3.5 chars a token."""
    return sum(len(m.get("content", "")) for m in messages) * 2 // 7 + 4 * len(messages)
