"""The escalation rounds of a code pipeline run: below the confidence threshold, or on a conflict the task's
examples cannot settle, the escalation model tries again with the findings, a bounded number of rounds; each
attempt is run and judged, and the run never ends on a worse candidate than an earlier round's.

A mixin of the orchestrator's `_Run` (`code.py`), which owns the pool, the judge and the models these rounds use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workspace.pipeline.checks import CandidateCheck
from workspace.pipeline.stages import Candidate, Escalation
from workspace.pipeline.verdict import Verdict, confidence

if TYPE_CHECKING:
    from workspace.pipeline.code import PipelineConfig, RoleModels
    from workspace.pipeline.context import RunContext
    from workspace.pipeline.pool import CandidatePool

SAME_MODEL_ROUNDS = 1  # escalation rounds when the escalation model is the coder's own


class EscalationRounds:
    """The rounds after the judge (and the trail line of a round 1 made before it). The run supplies the state
    below and `_judge`, `_add`, `_findings`, `_later_budget`, `_settled` and `nothing_to_weigh`."""

    ctx: RunContext
    config: PipelineConfig
    models: RoleModels
    pool: CandidatePool
    task: str
    language: str
    on: frozenset[str]
    early: dict | None
    conflicts: list[dict]

    def _escalate(self, best: Candidate, verdict: Verdict) -> tuple[Candidate, Verdict, list[dict]]:
        trail = [self._early_trail(best, verdict)] if self.early is not None else []
        threshold = self.config.confidence_threshold
        same = self.models.escalation.model == self.models.coder.model
        # The coder's own model repairs its code poorly (arXiv 2306.09896): one round with the findings, not more.
        rounds = min(self.config.max_rounds, SAME_MODEL_ROUNDS) if same else self.config.max_rounds
        first = len(trail) + 1  # round 1 may have been made earlier (beside the review, or fresh)
        for round_no in range(first, rounds + 1):
            reason = self._escalation_reason(verdict, threshold, round_no == first, best.check)
            if not reason:
                break
            attempt = Escalation().attempt(self.ctx, self.models.escalation, self.task, self.language, best,
                                           self._findings(best), round_no, self._later_budget(), same)
            self._add([attempt])
            self.conflicts = []  # the escalation was given them; the new verdict stands on its own checks
            contender = self.pool.best() if self.pool.rank_key(attempt) > self.pool.rank_key(best) else attempt
            contender, new_verdict = self._judge(contender, self._settled(), f"judge (round {round_no})")
            kept = self._better(contender, new_verdict, best, verdict)
            trail.append({"round": round_no, "reason": reason, "model": self.models.escalation.model,
                          "level": self.models.escalation.source, "same_as_coder": same,
                          "candidate": attempt.label, "confidence_before": verdict.confidence,
                          "confidence_after": new_verdict.confidence, "kept": kept})
            if kept:
                best, verdict = contender, new_verdict
            elif self.pool.repeats_earlier(attempt):
                trail[-1]["stopped"] = ("the attempt behaves like an earlier candidate on every probe: another round "
                                        "would most likely repeat it")
                break
        return best, verdict, trail

    def _early_trail(self, best: Candidate, verdict: Verdict) -> dict:
        attempt = self.pool.by_label("escalation 1")
        kept = best is attempt
        return {"round": 1, "reason": self.early["reason"], "model": self.models.escalation.model,
                "level": self.models.escalation.source, "same_as_coder": self.early["same"],
                "candidate": attempt.label, "confidence_before": self.early["before"],
                "confidence_after": verdict.confidence if kept else confidence(self.pool.signals(attempt, None)),
                "kept": kept, "note": self.early["note"]}

    def _better(self, new: Candidate, new_verdict: Verdict, old: Candidate, old_verdict: Verdict) -> bool:
        """Whether the new candidate beats the old on the same footing: with both judge scores when the judge
        scored both, else on the checks alone (a judge skipped as moot must not make a candidate look worse)."""
        if new_verdict.judge_score is not None and old_verdict.judge_score is not None:
            return new_verdict.confidence > old_verdict.confidence
        return confidence(self.pool.signals(new, None)) > confidence(self.pool.signals(old, None))

    def _escalation_reason(self, verdict: Verdict, threshold: int, first: bool, check: CandidateCheck) -> str:
        if "escalation" not in self.on or self.nothing_to_weigh(check):
            return ""
        still_open = [c for c in verdict.conflicts if c.get("open")]
        if first and still_open:
            return (f"the coder's and the reviewer's versions disagree on {len(still_open)} input(s) and the task's "
                    "examples do not tell which is right")
        if check.parses and not check.executed:
            # Nothing could run the code: the judge's word is all there is (the formula's prior keeps a verdict
            # resting on it alone below 70, so the confidence cannot decide).
            score = verdict.judge_score
            return "" if score is not None and score >= threshold else (
                f"nothing could run this code and the judge's score ({score if score is not None else 'none'}) "
                f"is below the threshold {threshold}")
        if verdict.confidence < threshold:
            return f"confidence {verdict.confidence} is below the threshold {threshold}"
        return ""
