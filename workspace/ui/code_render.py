"""Pure formatting for the Code tab: the stage list, each stage's output, the verdict card, the trail.

No gradio here, so these functions are tested as plain Python. They read the pipeline's events and
result dicts (the same shapes the REST API returns).
"""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

STATUS_MARK = {"running": "…", "done": "✓", "skipped": "–", "failed": "✗", "cancelled": "■"}
OUTCOME_WORDS = {
    "passed": "Passed: the checks back this code",
    "failed": "Failed: a check this code should pass did not",
    "unverified": "Unverified: no check with an expected value backs this code",
    "cancelled": "Cancelled",
    "error": "Failed",
}


def stage_list(stages: Sequence[Mapping[str, Any]]) -> str:
    """One line per stage: mark, label, model and where it came from, time, note."""
    if not stages:
        return "*No run yet: describe a task and press Run.*"
    rows = ["| | stage | model (from) | tokens in/out | time | note |", "|---|---|---|---|---|---|"]
    for s in stages:
        model = f"`{s['model_used']}` ({s['level']})" if s.get("model_used") else ""
        if s.get("model_used") and s.get("model_asked") and s["model_asked"] != s["model_used"]:
            model += f" — fallback for `{s['model_asked']}`"
        tokens = f"{s.get('tokens_in', 0)}/{s.get('tokens_out', 0)}" if s.get("status") == "done" else ""
        seconds = f"{s['seconds']:.1f} s" if s.get("status") in ("done", "failed") else ""
        note = _cell(s.get("note", ""))
        rows.append(f"| {STATUS_MARK.get(s['status'], '?')} | {s['label']} | {model} | {tokens} | {seconds} | {note} |")
    return "\n".join(rows)


def stage_outputs(outputs: Mapping[str, str], running: str | None = None) -> str:
    """Each stage's streamed output in its own folded panel (the running one open)."""
    blocks = []
    for label, text in outputs.items():
        opened = " open" if label == running else ""
        body = html.escape(text[-20_000:]) or "…"
        blocks.append(f"<details{opened}><summary>{html.escape(label)}</summary>\n\n<pre><code>{body}</code></pre>\n"
                      "</details>")
    return "\n".join(blocks) or "*Stage outputs appear here as they stream.*"


def verdict_card(result: Mapping[str, Any] | None) -> str:
    if not result:
        return ""
    verdict = result["verdict"]
    judge = verdict["judge_score"]
    lines = [f"### Confidence {verdict['confidence']}/100",
             f"**{OUTCOME_WORDS.get(result['outcome'], result['outcome'])}** (escalation threshold "
             f"{result.get('threshold', '?')}). Judge model's own score: "
             f"{judge if judge is not None else 'not asked'}. Rests on {verdict.get('basis') or 'the checks'}."]
    if result.get("outcome_reason") and result["outcome"] != "error":
        lines.append(f"\nWhy: {_cell(result['outcome_reason'])}.")
    if result.get("entry_how"):
        lines.append(f"\nFunction checked: {_cell(result['entry_how'])}.")
    if result.get("error") and result["outcome"] == "error":
        lines.append(f"\n**Error:** {result['error']}")
    if verdict["checks"]:
        lines += ["", "| check | result | detail |", "|---|---|---|"]
        for c in verdict["checks"]:
            mark = "✓" if c["passed"] == c["total"] else "✗"
            lines.append(f"| {_cell(c['name'])} | {mark} {c['passed']}/{c['total']} | {_cell(c['detail'])} |")
    if verdict["conflicts"]:
        lines += ["", "**Conflicts** (coder and reviewer disagree):", "", "| input | coder | reviewer | leans |",
                  "|---|---|---|---|"]
        lines += [f"| `{_cell(c['input'])}` | `{_cell(c['coder'])}` | `{_cell(c['reviewer'])}` | {c['leans']} |"
                  for c in verdict["conflicts"]]
    if verdict["issues"]:
        lines += ["", "**Issues the judge raised:**", *[f"- {_cell(i)}" for i in verdict["issues"]]]
    isolation = result.get("isolation") or {}
    if isolation:
        lines += ["", f"<details><summary>Sandbox: {isolation.get('kind')}</summary>\n\n"
                  + "\n".join(f"- {g}" for g in isolation.get("guarantees", [])) + "\n</details>"]
    lines += ["", f"<details><summary>How the confidence is computed</summary>\n\n{verdict['formula']}\n</details>"]
    return "\n".join(lines)


def escalation_trail(result: Mapping[str, Any] | None) -> str:
    if not result:
        return ""
    rounds = result.get("escalations") or []
    if not rounds:
        return "**Escalation:** none needed." if result["outcome"] not in ("cancelled", "error") else ""
    lines = ["**Escalation trail**", ""]
    for r in rounds:
        same = " (the coder's own model, given the findings)" if r["same_as_coder"] else ""
        # A round made early (its own attempt, or beside the review) competes with what came after it.
        verdict = ("kept" if r["kept"] else "another candidate was chosen" if r.get("note")
                   else "not better, earlier answer kept")
        how = "".join(f"; {r[key]}" for key in ("note", "stopped") if r.get(key))
        lines.append(f"{r['round']}. {r['reason']} → `{r['model']}`{same}: confidence "
                     f"{r['confidence_before']} → {r['confidence_after']}, {verdict}{how}")
    return "\n".join(lines)


def _cell(text: Any) -> str:
    """Table-safe text: one line, no pipes, HTML escaped, not too long."""
    flat = " ".join(str(text or "").split()).replace("|", "\\|")
    return html.escape(flat[:300] + ("…" if len(flat) > 300 else ""), quote=False)
