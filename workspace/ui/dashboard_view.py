"""What the dashboard page shows, as data: the aggregates as pandas DataFrames for the plots, the runs table,
the headline tiles, a run's detail and the backend status as Markdown/HTML. No gradio here (the page,
`ui/dashboard.py`, puts these into components), so each piece is testable on its own."""

from __future__ import annotations

import html
import time
from typing import Any

import pandas as pd

OUTCOMES = ("passed", "unverified", "failed", "cancelled", "error")
RANGES = {"Last 24 hours": 86_400, "Last 7 days": 7 * 86_400, "Last 30 days": 30 * 86_400, "All time": None}
TABLE_COLUMNS = ["ended", "run_id", "kind", "outcome", "profile", "models", "confidence", "seconds", "tokens", "task"]
STAGE_OUTPUT_CHARS = 4_000


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def plots(stats: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """One DataFrame per plot of the page, from `DashboardService.stats`."""
    volume = [{**v, "time": pd.to_datetime(v["t"], unit="s")} for v in stats["volume"]]
    escalation_time = [{"time": v["time"], "series": series, "runs": v[key]} for v in volume
                       for series, key in (("escalated", "escalated"), ("answer kept", "escalation_kept"))
                       if v["kind"] == "pipeline"]
    percentiles = [{"model": m["model"], "percentile": f"p{q}", "seconds": m[f"p{q}_seconds"]}
                   for m in stats["models"] for q in (50, 90, 99) if m[f"p{q}_seconds"] is not None]
    tokens = [{"model": m["model"], "direction": d, "tokens": m[f"tokens_{d}"]} for m in stats["models"]
              for d in ("in", "out")]
    escalated = [{"outcome": r["outcome"], "runs": n, "escalation": label} for r in stats["escalation"]["by_outcome"]
                 for label, n in (("not escalated", r["runs"] - r["escalated"]),
                                  ("escalated, kept", r["kept"]), ("escalated, not kept", r["escalated"] - r["kept"]))]
    confidence = [{"confidence": f"{c['confidence']}–{100 if c['confidence'] >= 90 else c['confidence'] + 9}",
                   "outcome": c["outcome"],
                   "runs": c["runs"]} for c in stats["confidence"]]
    return {
        "volume": _frame(volume, ["time", "kind", "runs"]),
        "errors": _frame([{"time": v["time"], "errors": v["errors"], "kind": v["kind"]} for v in volume],
                         ["time", "errors", "kind"]),
        "escalation_time": _frame(escalation_time, ["time", "series", "runs"]),
        "escalation": _frame(escalated, ["outcome", "runs", "escalation"]),
        "confidence": _frame(confidence, ["confidence", "outcome", "runs"]),
        "latency": _frame(percentiles, ["model", "percentile", "seconds"]),
        "ttft": _frame([{"model": m["model"], "seconds": m["mean_ttft_seconds"]} for m in stats["models"]
                        if m["mean_ttft_seconds"] is not None], ["model", "seconds"]),
        "tokens": _frame(tokens, ["model", "direction", "tokens"]),
        "speed": _frame([{"model": m["model"], "tokens_per_second": m["tokens_per_second"] or 0}
                         for m in stats["models"]], ["model", "tokens_per_second"]),
        "stages": _frame([{"stage": s["stage"], "seconds": s["mean_seconds"]} for s in stats["stages"]],
                         ["stage", "seconds"]),
    }


def index_note(index: dict[str, Any]) -> str:
    """What the status line adds while the index still catches up with the history files."""
    if index.get("complete", True):
        return ""
    read = index["indexed_bytes"] / max(index["indexed_bytes"] + index["behind_bytes"], 1)
    return f" · still reading the history ({read:.0%} so far): the figures cover what is read"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


TILES = ("Runs", "Escalation rate", "Checks passed", "Median latency", "Errors", "Tokens")
# The filters a click on a tile sets, to show the runs behind its figure (kind, outcome, stage, confidence):
# the runs that escalated, the pipeline runs that passed, the errors; the others stand for every run in the range.
TILE_FILTERS = {"Escalation rate": ("pipeline", "", "escalation", ""), "Checks passed": ("pipeline", "passed", "", ""),
                "Errors": ("", "error", "", "")}
EVERY_RUN = ("", "", "", "")


def tiles(stats: dict[str, Any]) -> list[str]:
    """The headline numbers, one label per tile in `TILES` order ("name\nvalue")."""
    t = stats["tiles"]
    median = "—" if t["median_seconds"] is None else f"{t['median_seconds']:.1f} s"
    values = [f"{t['runs']:,}", _percent(t["escalation_rate"]), _percent(t["check_pass_rate"]), median,
              f"{t['errors']:,}", f"{t['tokens_in'] + t['tokens_out']:,}"]
    return [f"{name}\n{value}" for name, value in zip(TILES, values, strict=True)]


def table(runs: list[dict[str, Any]], profile_names: dict[str, str]) -> pd.DataFrame:
    """The runs table: one row per record, newest first, with the run id a click opens."""
    rows = []
    for r in runs:
        stages = r.get("stages") or []
        task = (r.get("task") or "").strip().splitlines()
        rows.append({
            "ended": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.get("ended_at") or 0)),
            "kind": r.get("kind"), "outcome": r.get("outcome"),
            "profile": profile_names.get(r.get("profile_id") or "", r.get("profile_id") or ""),
            "models": ", ".join(dict.fromkeys(s.get("model_used") for s in stages if s.get("model_used"))),
            "confidence": "" if r.get("confidence") is None else str(r["confidence"]),
            "seconds": round((r.get("ended_at") or 0) - (r.get("started_at") or r.get("ended_at") or 0), 1),
            "tokens": sum((s.get("tokens_in") or 0) + (s.get("tokens_out") or 0) for s in stages),
            "task": (task[0][:80] if task else ""), "run_id": r.get("run_id"),
        })
    return _frame(rows, TABLE_COLUMNS)


def _fence(text: str) -> str:
    ticks = "````" if "```" in text else "```"
    return f"{ticks}\n{text[:STAGE_OUTPUT_CHARS]}\n{ticks}"


def run_detail(record: dict[str, Any]) -> str:
    """A run as Markdown: what was asked, the verdict and its checks, the escalations, each stage with output."""
    started = record.get("started_at") or record.get("ended_at") or 0
    lines = [f"### {record.get('kind', 'run')} {record.get('run_id')} — {record.get('outcome')}",
             f"Started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(started))}, took "
             f"{(record.get('ended_at') or started) - started:.1f} s"
             + (f"; isolation: {record['isolation']}" if record.get("isolation") else "")]
    if record.get("error"):
        lines.append(f"**Error:** {record['error']}")
    if record.get("task"):
        lines += ["#### Task", _fence(record["task"])]
    if record.get("confidence") is not None:
        judge = record.get("judge_score")
        lines += ["#### Verdict", f"Confidence **{record['confidence']}/100** (judge model's own score: "
                                  f"{'not asked' if judge is None else judge})"]
        lines += [f"- {c.get('name')}: {c.get('passed')}/{c.get('total')}" for c in record.get("checks") or []]
        lines += [f"- conflict: {c}" for c in record.get("conflicts") or []]
    if record.get("escalations"):
        lines.append("#### Escalations")
        lines += [f"- round {e.get('round')}: {e.get('reason')} → {e.get('model')}, confidence "
                  f"{e.get('confidence_before')} → {e.get('confidence_after')} "
                  f"({'kept' if e.get('kept') else 'not kept'})" for e in record["escalations"]]
    if record.get("stages"):
        lines += ["#### Stage tree", "```text", stage_tree(record), "```"]
    lines.append("#### Stages")
    for s in record.get("stages") or []:
        ttft = f", first token {s['ttft_s']:.2f} s" if s.get("ttft_s") is not None else ""
        lines.append(f"<details><summary><b>{html.escape(str(s.get('label') or s.get('stage')))}</b> — "
                     f"{html.escape(str(s.get('status')))}, {html.escape(str(s.get('model_used') or '—'))}"
                     f"{' (' + html.escape(str(s['level'])) + ')' if s.get('level') else ''}, "
                     f"{s.get('seconds', 0):.1f} s{ttft}, "
                     f"{s.get('tokens_in', 0)} → {s.get('tokens_out', 0)} tokens</summary>\n")
        if s.get("note"):
            lines.append(f"*{s['note']}*\n")
        lines += [_fence(s.get("output") or ""), "</details>\n"]  # the blank line ends the HTML block
    if record.get("final_code"):
        lines += ["#### Final code", f"```{record.get('language') or ''}\n{record['final_code']}\n```"]
    return "\n".join(lines)


TREE_BAR = 24


def stage_tree(record: dict[str, Any]) -> str:
    """The run's stages as a tree (grouped by kind of stage, in the order they ran) with a time bar each: where
    in the run it started and how long it took, its model, time to first token and status. Plain text."""
    stages = record.get("stages") or []
    total = max([(s.get("started") or 0) + (s.get("seconds") or 0) for s in stages]
                + [(record.get("ended_at") or 0) - (record.get("started_at") or record.get("ended_at") or 0), 1e-9])
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in stages:
        groups.setdefault(str(s.get("stage") or "?"), []).append(s)
    width = max(len(str(s.get("label") or s.get("stage"))) for s in stages)
    lines = [f"{record.get('kind', 'run')} {record.get('run_id')} — {record.get('outcome')}, {total:.1f} s"]
    for g, (name, members) in enumerate(groups.items()):
        last_group = g == len(groups) - 1
        lines.append(f"{'└─' if last_group else '├─'} {name}")
        for k, s in enumerate(members):
            start, took = s.get("started") or 0, s.get("seconds") or 0
            lo = min(int(start / total * TREE_BAR), TREE_BAR - 1)
            hi = max(lo + 1, min(round((start + took) / total * TREE_BAR), TREE_BAR))
            bar = "·" * lo + "█" * (hi - lo) + "·" * (TREE_BAR - hi)
            ttft = f", first token {s['ttft_s']:.2f} s" if s.get("ttft_s") is not None else ""
            branch = "   " if last_group else "│  "
            lines.append(f"{branch}{'└─' if k == len(members) - 1 else '├─'} "
                         f"{str(s.get('label') or s.get('stage')):<{width}} [{bar}] {start:6.1f} +{took:5.1f} s  "
                         f"{s.get('status')}  {s.get('model_used') or '—'}{ttft}")
    return "\n".join(lines)


def confidence_bounds(text: str) -> tuple[str, str]:
    """("40", "59") from what the confidence box holds ("40-59", "40–59", "70"); empty strings for none."""
    parts = [p.strip() for p in text.replace("–", "-").split("-", 1)] if text and text.strip() else []
    return (parts[0], parts[-1]) if parts else ("", "")


def picked_confidence(values: list[Any]) -> str:
    """The confidence box's text for bars picked in the confidence plot (labelled "40–49")."""
    lows = [int(str(v).replace("–", "-").split("-")[0]) for v in values if str(v)[:1].isdigit()]
    return f"{min(lows)}-{100 if max(lows) >= 90 else max(lows) + 9}" if lows else ""  # the top bar holds 100


def backend(status: dict[str, Any]) -> str:
    """The backend as Markdown: which server, its version, models installed and loaded, each role's host."""
    if not status:
        return "No backend."
    up = "up" if status["up"] else "**not answering**"
    lines = [f"**{status['label']}** — {up}, version {status.get('version') or '?'}",
             f"- Installed: {', '.join(status['installed']) or 'none'}",
             f"- Loaded now (`/api/ps`): {', '.join(m for m in status['loaded'] if m) or 'none'}",
             "", "| Role | Model | Host | Health |", "|---|---|---|---|"]
    lines += [f"| {r['role']} | {r['model']} | {r['host']} | {'up' if r['up'] else 'down'} |" for r in status["roles"]]
    return "\n".join(lines)


def time_range(choice: str, since: str, until: str, now: float | None = None) -> tuple[Any, Any]:
    """(since, until) for the service: a preset range counts back from now; "Custom" takes the two boxes."""
    if choice in RANGES:
        seconds = RANGES[choice]
        return ((now or time.time()) - seconds if seconds else None), None
    return since.strip() or None, until.strip() or None
