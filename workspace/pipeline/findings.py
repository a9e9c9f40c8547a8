"""What the checks found about a candidate, as the verdict's `checks` list and as text the models read."""

from __future__ import annotations

from typing import Any, Sequence

from workspace.pipeline.checks import Probes

MAX_DETAILS = 3


def describe(candidate: Any, probes: Probes, group: int, compared: int) -> list[dict]:
    """The verdict's checks for one candidate: name, passed, total and a short detail each."""
    check = candidate.check
    if not check.parses:
        return [_row("parses", 0, 1, check.error or "syntax error")]
    rows = [_row("parses", 1, 1, check.note if not check.executed else "")]
    if not check.executed:
        return rows
    if check.error:
        rows.append(_row("runs", 0, 1, check.error))
    if check.examples:
        failing = [f"{e['call']} should be {e['expected']}, got {e['got']}" for e in check.examples if not e["passed"]]
        ran_as = ([f"run against {check.ran_as}(): the examples call {probes.entry}(), which this code does not "
                   "define"] if check.ran_as else [])
        rows.append(_row("examples from the task", check.examples_passed, len(check.examples),
                         "; ".join(ran_as + failing[:MAX_DETAILS])))
    if check.tests:
        failing = [f"{t['test']} — {t['detail']}" for t in check.tests if not t["passed"]]
        rows.append(_row("pipeline's own tests (model-written, indicative)", check.tests_passed, len(check.tests),
                         "; ".join(failing[:MAX_DETAILS])))
    if compared >= 2:
        rows.append(_row("agreement between candidates", group, compared,
                         f"{group} of {compared} candidates give the same outputs on {len(probes.inputs)} inputs"))
    rows.append(_row("terminates within the limits", int(check.terminated), 1,
                     "" if check.terminated else "a call ran past its time budget or the sandbox stopped it"))
    return rows


def conflicts_text(conflicts: Sequence[dict]) -> str:
    """Coder/reviewer disagreements as lines the judge can weigh."""
    return "\n".join(f"- {c['input']}: coder gives {c['coder']}, reviewer gives {c['reviewer']}" for c in conflicts)


def _row(name: str, passed: int, total: int, detail: str) -> dict:
    return {"name": name, "passed": passed, "total": total, "detail": detail}
