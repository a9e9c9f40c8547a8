"""The dashboard's questions to its index: filters, a page of runs, totals and the aggregates behind the plots.

Every aggregate is one SQL statement over the index (percentiles by window functions), so none of
them parses a history line; the filters apply to all of them alike.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from workspace.dashboard import rollup

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


def parse_confidence(value: str | float | None, name: str) -> float | None:
    """A confidence bound, 0..100 (empty means none)."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 <= number <= 100:
        raise DashboardError(f"`{name}` must be a number from 0 to 100, not {value!r}.")
    return number


@dataclass(frozen=True)
class Filters:
    profile_id: str | None = None
    kind: str | None = None
    model: str | None = None
    outcome: str | None = None
    since: float | None = None
    until: float | None = None
    stage: str | None = None  # runs that had a stage of this name (coder, judge, chat, …)
    confidence_min: float | None = None
    confidence_max: float | None = None

    @classmethod
    def of(cls, profile_id: str | None = None, kind: str | None = None, model: str | None = None,
           outcome: str | None = None, since: str | float | None = None, until: str | float | None = None,
           stage: str | None = None, confidence_min: str | float | None = None,
           confidence_max: str | float | None = None) -> Filters:
        """Checked filters from what a user typed (empty means "any")."""
        if kind and kind not in KINDS:
            raise DashboardError(f"`kind` must be one of {', '.join(KINDS)}, not {kind!r}.")
        if outcome and outcome not in OUTCOMES:
            raise DashboardError(f"`outcome` must be one of {', '.join(OUTCOMES)}, not {outcome!r}.")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        if start is not None and end is not None and start > end:
            raise DashboardError("`since` is after `until`.")
        low = parse_confidence(confidence_min, "confidence_min")
        high = parse_confidence(confidence_max, "confidence_max")
        if low is not None and high is not None and low > high:
            raise DashboardError("`confidence_min` is above `confidence_max`.")
        return cls(profile_id or None, kind or None, model or None, outcome or None, start, end, stage or None,
                   low, high)

    @property
    def beyond_rollups(self) -> bool:
        """Filters the day tables do not key (the aggregates then read the rows)."""
        return self.stage is not None or self.confidence_min is not None or self.confidence_max is not None

    def where(self, joined: bool = False) -> tuple[str, list[Any]]:
        """A WHERE clause over `runs r` and its parameters; `joined`: over `runs r` joined to `run_models rm`, whose
        rows '' (every run) or the model filtered by pick each run once."""
        clauses, params = ["1"], []
        for column in ("profile_id", "kind", "outcome"):
            if getattr(self, column) is not None:
                clauses.append(f"r.{column} = ?")
                params.append(getattr(self, column))
        if joined:
            clauses.append("rm.model = ?")
            params.append(self.model or "")
        elif self.model is not None:
            clauses.append("r.id IN (SELECT run FROM run_models WHERE model = ?)")
            params.append(self.model)
        if self.stage is not None:
            clauses.append("r.id IN (SELECT run FROM stages WHERE stage = ?)")
            params.append(self.stage)
        for bound, op in (("confidence_min", ">="), ("confidence_max", "<=")):
            if getattr(self, bound) is not None:
                clauses.append(f"r.confidence {op} ?")
                params.append(getattr(self, bound))
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
    first = db.execute("SELECT MIN(ended_at) FROM runs").fetchone()[0]
    span = (filters.until or time.time()) - (filters.since or first or time.time())
    bucket = "hour" if span <= HOUR_BUCKETS_UP_TO_S else "day"
    plan = _Plan.of(filters, 3_600 if bucket == "hour" else rollup.DAY)
    return Stats(_tiles(db, plan), bucket, _volume(db, plan, bucket), _confidence(db, plan), _models(db, plan),
                 _stages(db, plan), _escalation(db, plan),
                 {k: v for k, v in filters.__dict__.items() if v is not None})


@dataclass
class _Plan:
    """Whole days inside the range come from the day tables, the rest (edges, or everything) from the rows."""

    roll_where: str
    roll_params: list[Any]
    raw_where: str
    raw_params: list[Any]
    width: int

    @classmethod
    def of(cls, filters: Filters, width: int) -> _Plan:
        raw_where, raw_params = filters.where(joined=True)
        if width != rollup.DAY or filters.beyond_rollups:  # the day tables know no hours, stages or confidences
            return cls("0", [], raw_where, raw_params, width)
        lo = math.ceil(filters.since / rollup.DAY) * rollup.DAY if filters.since is not None else None
        hi = math.floor(filters.until / rollup.DAY) * rollup.DAY if filters.until is not None else None
        if lo is not None and hi is not None and lo >= hi:
            return cls("0", [], raw_where, raw_params, width)
        roll, roll_params = ["run_model = ?"], [filters.model or ""]
        for column in ("profile_id", "kind", "outcome"):
            if getattr(filters, column) is not None:
                roll.append(f"{column} = ?")
                roll_params.append(getattr(filters, column))
        edges, edge_params = [], []
        if lo is not None:
            roll.append("t >= ?")
            edges.append("r.ended_at < ?")
            roll_params.append(lo)
            edge_params.append(lo)
        if hi is not None:
            roll.append("t < ?")
            edges.append("r.ended_at >= ?")
            roll_params.append(hi)
            edge_params.append(hi)
        raw_where = f"{raw_where} AND ({' OR '.join(edges) or '0'})"
        return cls(" AND ".join(roll), roll_params, raw_where, raw_params + edge_params, width)

    def source(self, table: str) -> tuple[str, list[Any]]:
        """`table`'s rows for the whole range: the day table's, and the same grouping of the edge rows."""
        raw, raw_params = rollup.grouped(table, self.raw_where, self.raw_params, self.width)
        whole = f"SELECT * FROM {table} WHERE {self.roll_where}"
        if self.raw_where.endswith("(0)"):  # whole days only: the day table alone (no UNION keeps its order)
            return whole, self.roll_params
        if self.roll_where == "0":
            return raw, raw_params
        return f"{whole} UNION ALL {raw}", self.roll_params + raw_params


def _dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _over(db: sqlite3.Connection, plan: _Plan, table: str, select: str) -> list[dict[str, Any]]:
    """`select` (reading `FROM src`) over `table`'s rows for the plan's range."""
    source, params = plan.source(table)
    return _dicts(db.execute(select.replace("FROM src", f"FROM ({source})"), params))


def _tiles(db: sqlite3.Connection, plan: _Plan) -> dict[str, Any]:
    row = _over(db, plan, "run_days",
                "SELECT COALESCE(SUM(runs), 0) AS runs, "
                "COALESCE(SUM(CASE WHEN kind = 'pipeline' THEN runs END), 0) AS pipeline_runs, "
                "COALESCE(SUM(CASE WHEN kind = 'pipeline' THEN escalated END), 0) AS escalated, "
                "COALESCE(SUM(checks_passed), 0) AS checks_passed, COALESCE(SUM(checks_total), 0) AS checks_total, "
                "COALESCE(SUM(CASE WHEN outcome = 'error' THEN runs END), 0) AS errors, "
                "COALESCE(SUM(tokens_in), 0) AS tokens_in, COALESCE(SUM(tokens_out), 0) AS tokens_out FROM src")[0]
    latency = _over(db, plan, "run_bins", "SELECT bin, SUM(n) AS n FROM src WHERE metric = 'seconds' "
                                          "GROUP BY bin ORDER BY bin")
    row["median_seconds"] = rollup.percentile([(r["bin"], r["n"]) for r in latency], 0.5)
    row["escalation_rate"] = round(row["escalated"] / row["pipeline_runs"], 4) if row["pipeline_runs"] else None
    row["check_pass_rate"] = round(row["checks_passed"] / row["checks_total"], 4) if row["checks_total"] else None
    return row


def _volume(db: sqlite3.Connection, plan: _Plan, bucket: str) -> list[dict[str, Any]]:
    """Runs, errors and escalations per hour or day and kind."""
    fmt = "%Y-%m-%d %H:00" if bucket == "hour" else "%Y-%m-%d"
    return _over(db, plan, "run_days",
                 f"SELECT strftime('{fmt}', t, 'unixepoch') AS time, t, kind, SUM(runs) AS runs, "
                 "SUM(CASE WHEN outcome = 'error' THEN runs ELSE 0 END) AS errors, SUM(escalated) AS escalated, "
                 "SUM(kept) AS escalation_kept FROM src GROUP BY t, kind ORDER BY t")


def _confidence(db: sqlite3.Connection, plan: _Plan) -> list[dict[str, Any]]:
    """How many runs had each confidence (in tens) per outcome: was the confidence right?"""
    return _over(db, plan, "run_bins", "SELECT bin AS confidence, outcome, SUM(n) AS runs FROM src "
                                       "WHERE metric = 'confidence' GROUP BY bin, outcome ORDER BY bin")


def _models(db: sqlite3.Connection, plan: _Plan) -> list[dict[str, Any]]:
    """Per model used: calls, tokens, tokens per second, latency percentiles and time to first token."""
    rows = _over(db, plan, "stage_days",
                 "SELECT model, SUM(calls) AS calls, SUM(tokens_in) AS tokens_in, SUM(tokens_out) AS tokens_out, "
                 "ROUND(SUM(tokens_out) / NULLIF(SUM(seconds), 0), 2) AS tokens_per_second, "
                 "ROUND(SUM(ttft_sum) / NULLIF(SUM(ttft_n), 0), 3) AS mean_ttft_seconds FROM src "
                 "WHERE model != '' GROUP BY model ORDER BY calls DESC")
    histograms: dict[str, list[tuple[int, int]]] = {}
    for r in _over(db, plan, "stage_bins", "SELECT model, bin, SUM(n) AS n FROM src GROUP BY model, bin ORDER BY bin"):
        histograms.setdefault(r["model"], []).append((r["bin"], r["n"]))
    for row in rows:
        for q in (50, 90, 99):
            row[f"p{q}_seconds"] = rollup.percentile(histograms.get(row["model"], []), q / 100)
    return rows


def _stages(db: sqlite3.Connection, plan: _Plan) -> list[dict[str, Any]]:
    return _over(db, plan, "stage_days",
                 "SELECT stage, SUM(calls) AS calls, ROUND(SUM(seconds) / SUM(calls), 3) AS mean_seconds, "
                 "ROUND(SUM(seconds), 3) AS total_seconds, SUM(failed) AS failed FROM src "
                 "GROUP BY stage ORDER BY total_seconds DESC")


def _escalation(db: sqlite3.Connection, plan: _Plan) -> dict[str, Any]:
    """How often the pipeline escalated and how often the escalation's answer was kept, per final outcome."""
    rows = _over(db, plan, "run_days", "SELECT outcome, SUM(runs) AS runs, SUM(escalated) AS escalated, "
                                       "SUM(kept) AS kept FROM src WHERE kind = 'pipeline' GROUP BY outcome")
    escalated = sum(r["escalated"] for r in rows)
    kept = sum(r["kept"] for r in rows)
    return {"by_outcome": rows, "escalated": escalated, "kept": kept,
            "changed_rate": round(kept / escalated, 4) if escalated else None}
