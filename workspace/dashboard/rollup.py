"""Per-day totals kept beside the index's rows, so the dashboard's aggregates read hundreds of rows, not 100,000.

Each table sums runs (or stages) by day, kind, profile and outcome, once for all runs (`run_model` '') and
once per model a run used (`run_model` that model), so a filter by model reads its own rows too (a run that
used three models counts in each). Latencies and confidences are kept as histograms (a latency bin is
`round(ln(seconds) * BINS_PER_E)`, about 22 % wide, so a percentile is exact to about ±11 %). The same
grouping SQL fills the tables as rows arrive, takes a deleted file's rows back out, and sums the rows of a
partial day at the edges of a time range. The grouping SQL reads `runs r` joined to `run_models rm`.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

DAY = 86_400
BINS_PER_E = 5

SCHEMA = """
CREATE TABLE run_days(run_model TEXT NOT NULL, t INTEGER NOT NULL, kind TEXT NOT NULL,
                      profile_id TEXT NOT NULL, outcome TEXT NOT NULL,
                      runs INTEGER NOT NULL, escalated INTEGER NOT NULL, kept INTEGER NOT NULL,
                      checks_passed INTEGER NOT NULL, checks_total INTEGER NOT NULL, tokens_in INTEGER NOT NULL,
                      tokens_out INTEGER NOT NULL, PRIMARY KEY (run_model, t, kind, profile_id, outcome)) WITHOUT ROWID;
CREATE TABLE run_bins(run_model TEXT NOT NULL, t INTEGER NOT NULL, kind TEXT NOT NULL,
                      profile_id TEXT NOT NULL, outcome TEXT NOT NULL,
                      metric TEXT NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL,
                      PRIMARY KEY (run_model, metric, bin, t, kind, profile_id, outcome)) WITHOUT ROWID;
CREATE TABLE stage_days(run_model TEXT NOT NULL, t INTEGER NOT NULL, kind TEXT NOT NULL,
                        profile_id TEXT NOT NULL, outcome TEXT NOT NULL,
                        model TEXT NOT NULL, stage TEXT NOT NULL, calls INTEGER NOT NULL, seconds REAL NOT NULL,
                        tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, ttft_sum REAL NOT NULL,
                        ttft_n INTEGER NOT NULL, failed INTEGER NOT NULL,
                        PRIMARY KEY (run_model, t, kind, profile_id, outcome, model, stage)) WITHOUT ROWID;
CREATE TABLE stage_bins(run_model TEXT NOT NULL, t INTEGER NOT NULL, kind TEXT NOT NULL,
                        profile_id TEXT NOT NULL, outcome TEXT NOT NULL,
                        model TEXT NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL,
                        PRIMARY KEY (run_model, model, bin, t, kind, profile_id, outcome)) WITHOUT ROWID;
"""

_KEY = ("rm.model AS run_model, CAST(r.ended_at / {w} AS INTEGER) * {w} AS t, r.kind, "
        "COALESCE(r.profile_id, '') AS profile_id, r.outcome")
_RM = "runs r CROSS JOIN run_models rm ON rm.run = r.id"  # CROSS: SQLite keeps runs (the range) outermost
RUNS = (f"SELECT {_KEY}, COUNT(*) AS runs, SUM(r.escalations > 0) AS escalated, SUM(r.escalation_kept) AS kept, "
        "SUM(r.checks_passed) AS checks_passed, SUM(r.checks_total) AS checks_total, SUM(r.tokens_in) AS tokens_in, "
        f"SUM(r.tokens_out) AS tokens_out FROM {_RM} WHERE {{where}} GROUP BY 1, 2, 3, 4, 5")
RUN_BINS = (f"SELECT run_model, t, kind, profile_id, outcome, metric, bin, COUNT(*) AS n FROM ("
            f"SELECT {_KEY}, 'seconds' AS metric, r.sbin AS bin FROM {_RM} WHERE {{where}} UNION ALL "
            f"SELECT {_KEY}, 'confidence', MIN(CAST(r.confidence / 10 AS INTEGER) * 10, 90) FROM {_RM} "
            "WHERE {where} AND r.confidence IS NOT NULL) GROUP BY 1, 2, 3, 4, 5, 6, 7")
STAGES = (f"SELECT {_KEY}, s.model, s.stage, COUNT(*) AS calls, SUM(s.seconds) AS seconds, "
          "SUM(s.tokens_in) AS tokens_in, SUM(s.tokens_out) AS tokens_out, COALESCE(SUM(s.ttft), 0) AS ttft_sum, "
          f"COUNT(s.ttft) AS ttft_n, SUM(s.status = 'failed') AS failed FROM {_RM} CROSS JOIN stages s ON s.run = r.id "
          "WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7")
STAGE_BINS = (f"SELECT {_KEY}, s.model, s.sbin AS bin, COUNT(*) AS n FROM {_RM} CROSS JOIN stages s ON s.run = r.id "
              "WHERE {where} AND s.model != '' GROUP BY 1, 2, 3, 4, 5, 6, 7")

# table, its grouping SQL, how many times that SQL takes the WHERE parameters, its key columns, its sums
TABLES: dict[str, tuple[str, int, tuple[str, ...], tuple[str, ...]]] = {
    "run_days": (RUNS, 1, ("run_model", "t", "kind", "profile_id", "outcome"),
                 ("runs", "escalated", "kept", "checks_passed", "checks_total", "tokens_in", "tokens_out")),
    "run_bins": (RUN_BINS, 2, ("run_model", "t", "kind", "profile_id", "outcome", "metric", "bin"), ("n",)),
    "stage_days": (STAGES, 1, ("run_model", "t", "kind", "profile_id", "outcome", "model", "stage"),
                   ("calls", "seconds", "tokens_in", "tokens_out", "ttft_sum", "ttft_n", "failed")),
    "stage_bins": (STAGE_BINS, 1, ("run_model", "t", "kind", "profile_id", "outcome", "model", "bin"), ("n",)),
}


def grouped(table: str, where: str, params: list[Any], width: int) -> tuple[str, list[Any]]:
    """The rows of `runs r` (joined to `run_models rm`) matching `where`, grouped as `table` keeps them, by
    buckets of `width` seconds."""
    sql, times, _, _ = TABLES[table]
    return sql.format(w=width, where=where), params * times


def apply(db: sqlite3.Connection, where: str, params: list[Any], sign: int) -> None:
    """Add (sign 1) or take back (sign -1) the runs matching `where` (over `runs r`, `run_models rm`)."""
    for table, (_, _, keys, sums) in TABLES.items():
        sql, args = grouped(table, where, params, DAY)
        columns = ", ".join(keys) + ", " + ", ".join(f"{sign} * {c}" for c in sums)
        updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in sums)
        db.execute(f"INSERT INTO {table} SELECT {columns} FROM ({sql}) WHERE true "
                   f"ON CONFLICT({', '.join(keys)}) DO UPDATE SET {updates}", args)
        if sign < 0:
            db.execute(f"DELETE FROM {table} WHERE {sums[0]} <= 0")


def seconds_bin(seconds: float) -> int:
    return round(math.log(max(seconds, 0.001)) * BINS_PER_E)


def percentile(histogram: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile (0..1) of a latency histogram [(bin, count)] sorted by bin, as seconds."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    seen = 0
    for bin_, n in histogram:
        seen += n
        if seen >= q * total:
            return round(math.exp(bin_ / BINS_PER_E), 3)
    return round(math.exp(histogram[-1][0] / BINS_PER_E), 3)
