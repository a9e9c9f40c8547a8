"""A finished run in the shapes the world sees: the API result, the chat message, the history record."""

from __future__ import annotations

from typing import Any

from workspace.pipeline.code import PipelineConfig, PipelineOutcome
from workspace.pipeline.context import RunContext
from workspace.pipeline.sandbox import Sandbox
from workspace.pipeline.verdict import FORMULA

HISTORY_TEXT_CHARS = 4_000  # task and stage outputs kept in a history record


def result_of(run: Any, ctx: RunContext, outcome: PipelineOutcome | None, error: str | None, sandbox: Sandbox,
              config: PipelineConfig, *, ended_at: float) -> dict[str, Any]:
    """The result object of `POST /api/code` (and the Gradio endpoint, the UI, the chat, the history)."""
    verdict = outcome.verdict.as_dict() if outcome else {"confidence": 0, "checks": [], "conflicts": [],
                                                          "issues": [], "judge_score": None, "basis": "",
                                                          "formula": FORMULA}
    final_stage = _stage_of(ctx, outcome.final.label) if outcome else None
    return {
        "run_id": run.run_id, "task": run.task, "language": run.language, "profile_id": run.profile_id,
        "chat_id": run.chat_id, "final_code": outcome.final.code if outcome else "",
        "final_candidate": outcome.final.label if outcome else None, "entry": outcome.entry if outcome else None,
        "model": final_stage.model_used if final_stage else None,
        "verdict": verdict, "stages": [r.as_dict() for r in ctx.records],
        "escalations": outcome.escalations if outcome else [], "candidates": outcome.candidates if outcome else [],
        "outcome": ("cancelled" if error == "cancelled" else "error") if error else outcome.outcome,
        "outcome_reason": error if error else outcome.reason, "entry_how": outcome.entry_how if outcome else "",
        "error": error, "threshold": config.confidence_threshold,
        "isolation": {"kind": sandbox.isolation, "guarantees": list(sandbox.guarantees)},
        "started_at": run.started_at, "ended_at": ended_at, "seconds": round(ended_at - run.started_at, 3),
    }


def _stage_of(ctx: RunContext, label: str) -> Any:
    return next((r for r in ctx.records if r.label == label), None)


def history_record(result: dict[str, Any]) -> dict[str, Any]:
    """One line of the run history (the schema the dashboard reads), outputs cut to a readable size."""
    stages = [{**s, "output": s["output"][:HISTORY_TEXT_CHARS]} for s in result["stages"]]
    verdict = result["verdict"]
    return {
        "run_id": result["run_id"], "kind": "pipeline", "profile_id": result["profile_id"],
        "chat_id": result["chat_id"], "started_at": result["started_at"], "ended_at": result["ended_at"],
        "stages": stages, "confidence": verdict["confidence"], "checks": verdict["checks"],
        "judge_score": verdict["judge_score"], "conflicts": verdict["conflicts"],
        "escalations": result["escalations"], "outcome": result["outcome"], "error": result["error"],
        "outcome_reason": result.get("outcome_reason", ""),
        "task": result["task"][:HISTORY_TEXT_CHARS], "language": result["language"],
        "final_code": result["final_code"][:HISTORY_TEXT_CHARS], "isolation": result["isolation"]["kind"],
    }


def chat_answer(result: dict[str, Any]) -> str:
    """The run as the assistant's message in a chat: the final code, then the verdict in brief."""
    if result["outcome"] in ("cancelled", "error") and not result["final_code"]:
        return f"*The code pipeline {'was cancelled' if result['outcome'] == 'cancelled' else 'failed'}.*"
    verdict = result["verdict"]
    lines = [f"```{result['language']}\n{result['final_code']}\n```", "",
             f"**Confidence {verdict['confidence']}/100 — {result['outcome']}** "
             f"(threshold {result['threshold']}; judge model's own score: "
             f"{verdict['judge_score'] if verdict['judge_score'] is not None else 'not asked'})"]
    if result.get("outcome_reason"):
        lines.append(f"*{result['outcome_reason']}*")
    lines += [f"- {c['name']}: {c['passed']}/{c['total']}" for c in verdict["checks"]]
    if result["escalations"]:
        lines.append(f"- escalated {len(result['escalations'])} time(s)")
    return "\n".join(lines)
