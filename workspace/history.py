"""Run history: one JSON line per pipeline run, study answer and chat answer, in rotating files.

A loguru sink of its own writes `<data>/logs/runs.jsonl` (rotated by size into `runs.<time>.jsonl`,
the oldest files beyond the retention count deleted), line-buffered, so a record is on disk the
moment its run ends. The dashboard reads these files; nothing else is kept about a run.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from loguru import logger

from workspace.store.storage import atomic_write_bytes

FILE_NAME = "runs.jsonl"


class RunHistory:
    def __init__(self, logs_dir: Path, *, rotation: str = "10 MB", retention: int = 10):
        self.logs_dir = Path(logs_dir)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self._pending = self.logs_dir / "pending"  # runs that started and have not ended
        self._key = uuid.uuid4().hex  # several services in one process (tests) keep their own files
        self._handler = logger.add(
            str(self.logs_dir / FILE_NAME), level=0, format="{extra[history_line]}", rotation=rotation,
            retention=retention, encoding="utf-8", buffering=1, catch=True,
            filter=lambda record: record["extra"].get("history_sink") == self._key,
        )

    def begin(self, run_id: str, started: dict[str, Any]) -> None:
        """Note a run that started (its task and target), durably, before any model is called."""
        self._pending.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self._pending / f"{run_id}.json", json.dumps(started, ensure_ascii=False).encode())

    def end(self, run_id: str, record: dict[str, Any]) -> None:
        """Write the run's record, then forget its pending note."""
        self.write(record)
        (self._pending / f"{run_id}.json").unlink(missing_ok=True)

    def recover(self) -> int:
        """Runs the app stopped in the middle of (a crash, a kill) become records with outcome 'error'."""
        recovered = 0
        for path in sorted(self._pending.glob("*.json")) if self._pending.is_dir() else []:
            try:
                started = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                started = {}
            started = started if isinstance(started, dict) else {}
            self.write({**started, "run_id": path.stem, "ended_at": path.stat().st_mtime, "stages": [],
                        "outcome": "error", "error": "The app stopped while this run was going on."})
            path.unlink(missing_ok=True)
            recovered += 1
        return recovered

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (it also shows as one INFO line in the app's own log)."""
        line = json.dumps(record, ensure_ascii=False, default=str, separators=(",", ":"))
        logger.bind(history_sink=self._key, history_line=line).info(
            "{} run {} ended: {}", record.get("kind"), record.get("run_id"), record.get("outcome"))

    def files(self) -> list[Path]:
        """The history files, newest first."""
        return sorted(self.logs_dir.glob("runs*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)

    def close(self) -> None:
        try:
            logger.remove(self._handler)
        except ValueError:
            pass  # already removed


TURN_OUTCOMES = {"ok": "unverified", "stopped": "cancelled", "failed": "error"}  # an answer runs no checks


def first_token_seconds(stats: dict[str, int]) -> float | None:
    """Time to the first token by the server's own clock: loading the model plus reading the prompt."""
    if not stats.get("prompt_eval_duration") and not stats.get("load_duration"):
        return None  # no final stats (a stopped or failed answer)
    return round((stats.get("load_duration", 0) + stats.get("prompt_eval_duration", 0)) / 1e9, 4)


def turn_record(chat: Any, message_id: str, model: Any, started_at: float, result: Any) -> dict[str, Any]:
    """The history record of one chat or study answer: one stage, the model that wrote it."""
    ended = time.time()
    stats = result.stats or {}
    stage = {"stage": chat.kind, "model_asked": model.requested, "model_used": model.model, "level": model.source,
             "host": model.host, "tokens_in": stats.get("prompt_eval_count", 0),
             "tokens_out": stats.get("eval_count", 0), "seconds": round(ended - started_at, 3), "status": result.status,
             "ttft_s": first_token_seconds(stats)}
    return {"run_id": message_id, "kind": chat.kind, "profile_id": chat.profile_id, "chat_id": chat.id,
            "started_at": started_at, "ended_at": ended, "stages": [stage], "confidence": None, "checks": [],
            "escalations": [], "outcome": TURN_OUTCOMES.get(result.status, "error"), "error": result.error}
