"""The dashboard's questions to its index: filters, a page of runs, totals and the aggregates behind the plots.

Every aggregate is one SQL statement over the index (percentiles by window functions), so none of
them parses a history line; the filters apply to all of them alike.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

KINDS = ("pipeline", "chat", "study")
OUTCOMES = ("passed", "unverified", "failed", "cancelled", "error")
MAX_LIMIT = 500
HOUR_BUCKETS_UP_TO_S = 3 * 86_400  # a shorter range is plotted by the hour, a longer one by the day


class DashboardError(ValueError):
    """A filter the dashboard cannot apply (the REST API answers 400)."""


class UnknownRun(LookupError):
    """No run with this id in the history (the REST API answers 404)."""


def parse_time(value: str | float | None, name: str) -> float | None:
    """Unix seconds or ISO 8601 (a date, or a time; without a zone it is UTC) as Unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DashboardError(f"`{name}` must be Unix seconds or an ISO 8601 date/time, not {value!r}.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@dataclass(frozen=True)
class Filters:
    profile_id: str | None = None
    kind: str | None = None
    model: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None

    @classmethod
    def of(cls, profile_id: str | None = None, kind: str | None = None, model: str | None = None,
           outcome: str | None = None, since: str | float | None = None, until: str | float | None = None) -> Filters:
        """Checked filters from what a user typed (empty means "any")."""
        if kind and kind not in KINDS:
            raise DashboardError(f"`kind` must be one of {', '.join(KINDS)}, not {kind!r}.")
        if outcome and outcome not in OUTCOMES:
            raise DashboardError(f"`outcome` must be one of {', '.join(OUTCOMES)}, not {outcome!r}.")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        if start is not None and end is not None and start > end:
            raise DashboardError("`since` is after `until`.")
        return cls(profile_id or None, kind or None, model or None, outcome or None, start, end)

    def where(self) -> tuple[str, list[Any]]:
        """A WHERE clause over `runs r` and its parameters."""
        clauses, params = ["1"], []
        for column in ("profile_id", "kind", "outcome"):
            if getattr(self, column) is not None:
                clauses.append(f"r.{column} = ?")
                params.append(getattr(self, column))
        if self.model is not None:
            clauses.append("r.id IN (SELECT run FROM stages WHERE model = ?)")
            params.append(self.model)
        if self.since is not None:
            clauses.append("r.ended_at >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("r.ended_at <= ?")
            params.append(self.until)
        return " AND ".join(clauses), params


@dataclass
class PageRows:
    rows: list[tuple[int, int, str]]  # (ino, pos, run_id) newest first
    total: int


def page(db: sqlite3.Connection, filters: Filters, limit: int, offset: int) -> PageRows:
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise DashboardError(f"`limit` must be 1..{MAX_LIMIT} and `offset` 0 or more.")
    where, params = filters.where()
    total = db.execute(f"SELECT COUNT(*) FROM runs r WHERE {where}", params).fetchone()[0]
    rows = db.execute(f"SELECT r.ino, r.pos, r.run_id FROM runs r WHERE {where} ORDER BY r.ended_at DESC, r.id DESC "
                      "LIMIT ? OFFSET ?", [*params, limit, offset]).fetchall()
    return PageRows(rows, total)


def locate(db: sqlite3.Connection, run_id: str) -> tuple[int, int]:
    """(ino, pos) of a run's line (the latest, should a run id appear twice)."""
    row = db.execute("SELECT ino, pos FROM runs WHERE run_id = ? ORDER BY id DESC LIMIT 1", (run_id,)).fetchone()
    if row is None:
        raise UnknownRun(f"No run {run_id!r} in the history.")
    return row


@dataclass
class Stats:
    tiles: dict[str, Any]
    bucket: str  # hour | day
    volume: list[dict[str, Any]] = field(default_factory=list)
    confidence: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    stages: list[dict[str, Any]] = field(default_factory=list)
    escalation: dict[str, Any] = field(default_factory=dict)
    filters: dict[str, Any] = field(default_factory=dict)


def stats(db: sqlite3.Connection, filters: Filters) -> Stats:
    where, params = filters.where()
    tiles = _tiles(db, where, params)
    span = (filters.until or time.time()) - (filters.since or tiles.pop("first_at") or time.time())
    tiles.pop("first_at", None)
    bucket = "hour" if span <= HOUR_BUCKETS_UP_TO_S else "day"
    return Stats(tiles, bucket, _volume(db, where, params, bucket), _confidence(db, where, params),
                 _models(db, where, params), _stages(db, where, params), _escalation(db, where, params),
                 {k: v for k, v in filters.__dict__.items() if v is not None})


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _tiles(db: sqlite3.Connection, where: str, params: list) -> dict[str, Any]:
    row = _dicts(db.execute(
        "SELECT COUNT(*) AS runs, COALESCE(SUM(kind = 'pipeline'), 0) AS pipeline_runs, "
        "COALESCE(SUM(kind = 'pipeline' AND escalations > 0), 0) AS escalated, "
        "COALESCE(SUM(checks_passed), 0) AS checks_passed, COALESCE(SUM(checks_total), 0) AS checks_total, "
        "COALESCE(SUM(outcome = 'error'), 0) AS errors, COALESCE(SUM(tokens_in), 0) AS tokens_in, "
        f"COALESCE(SUM(tokens_out), 0) AS tokens_out, MIN(ended_at) AS first_at FROM runs r WHERE {where}", params))[0]
    median = db.execute(f"SELECT seconds FROM runs r WHERE {where} ORDER BY seconds LIMIT 1 OFFSET ?",
                        [*params, row["runs"] // 2]).fetchone()
    row["median_seconds"] = median[0] if median else None
    row["escalation_rate"] = round(row["escalated"] / row["pipeline_runs"], 4) if row["pipeline_runs"] else None
    row["check_pass_rate"] = round(row["checks_passed"] / row["checks_total"], 4) if row["checks_total"] else None
    return row


def _volume(db: sqlite3.Connection, where: str, params: list, bucket: str) -> list[dict[str, Any]]:
    """Runs, errors and escalations per hour or day and kind."""
    fmt = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    return _dicts(db.execute(
        f"SELECT strftime('{fmt}', ended_at, 'unixepoch') AS time, kind, COUNT(*) AS runs, "
        "SUM(outcome = 'error') AS errors, SUM(escalations > 0) AS escalated, SUM(escalation_kept) AS escalation_kept "
        f"FROM runs r WHERE {where} GROUP BY time, kind ORDER BY time", params))


def _confidence(db: sqlite3.Connection, where: str, params: list) -> list[dict[str, Any]]:
    """How many runs had each confidence (in tens) per outcome: was the confidence right?"""
    return _dicts(db.execute(
        "SELECT MIN(CAST(confidence / 10 AS INTEGER) * 10, 90) AS confidence, outcome, COUNT(*) AS runs "
        f"FROM runs r WHERE {where} AND confidence IS NOT NULL GROUP BY 1, outcome ORDER BY 1", params))


def _models(db: sqlite3.Connection, where: str, params: list) -> list[dict[str, Any]]:
    """Per model used: calls, tokens, tokens per second, latency percentiles and time to first token."""
    return _dicts(db.execute(
        "WITH s AS (SELECT s.model, s.seconds, s.tokens_in, s.tokens_out, s.ttft, "
        "ROW_NUMBER() OVER (PARTITION BY s.model ORDER BY s.seconds) AS rn, "
        "COUNT(*) OVER (PARTITION BY s.model) AS n "
        f"FROM stages s JOIN runs r ON r.id = s.run WHERE s.model != '' AND {where}) "
        "SELECT model, MAX(n) AS calls, SUM(tokens_in) AS tokens_in, SUM(tokens_out) AS tokens_out, "
        "ROUND(SUM(tokens_out) / NULLIF(SUM(seconds), 0), 2) AS tokens_per_second, "
        "MIN(CASE WHEN rn >= 0.5 * n THEN seconds END) AS p50_seconds, "
        "MIN(CASE WHEN rn >= 0.9 * n THEN seconds END) AS p90_seconds, "
        "MIN(CASE WHEN rn >= 0.99 * n THEN seconds END) AS p99_seconds, "
        "ROUND(AVG(ttft), 3) AS mean_ttft_seconds FROM s GROUP BY model ORDER BY calls DESC", params))


def _stages(db: sqlite3.Connection, where: str, params: list) -> list[dict[str, Any]]:
    return _dicts(db.execute(
        "SELECT s.stage, COUNT(*) AS calls, ROUND(AVG(s.seconds), 3) AS mean_seconds, "
        "ROUND(SUM(s.seconds), 3) AS total_seconds, SUM(s.status = 'failed') AS failed "
        f"FROM stages s JOIN runs r ON r.id = s.run WHERE {where} GROUP BY s.stage ORDER BY total_seconds DESC",
        params))


def _escalation(db: sqlite3.Connection, where: str, params: list) -> dict[str, Any]:
    """How often the pipeline escalated and how often the escalation's answer was kept, per final outcome."""
    rows = _dicts(db.execute(
        "SELECT outcome, COUNT(*) AS runs, SUM(escalations > 0) AS escalated, SUM(escalation_kept) AS kept "
        f"FROM runs r WHERE {where} AND kind = 'pipeline' GROUP BY outcome", params))
    escalated = sum(r["escalated"] for r in rows)
    return {"by_outcome": rows, "escalated": escalated, "kept": sum(r["kept"] for r in rows),
            "changed_rate": round(sum(r["kept"] for r in rows) / escalated, 4) if escalated else None}
