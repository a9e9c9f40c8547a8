"""The code pipeline's orchestrator: coder drafts → checks → reviewer → judge → escalation, as a cascade.

The cheapest signals come first and settle what they can (S*, arXiv 2502.14382; the cascade of
arXiv 2405.15842). The greedy draft runs on the task's own examples and on variants of them (`inputs.py`,
no model call); when it passes every example nothing else is asked. When it fails one and the escalation
model is a stronger one, that model writes its own version first (escalation round 1), which settles the run
when it passes every example. Otherwise the sampled drafts are asked for at once (the engine decodes them in
one batch) and candidates are ranked by the examples they pass, then by how many others give the same
outputs, then by the pipeline's own asserts; when the best passes every example and most of the drafts that
do agree with it, the costlier stages are skipped (the trail says so). Otherwise the reviewer improves the
best one (and, on the coder's own model, one more draft and the escalation's one attempt are made in that
batch), the judge scores the result when a score could change what happens next, and a low confidence or a
conflict escalates to another model, a bounded number of rounds, never ending on a worse candidate,
stopping when an attempt repeats an earlier candidate.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from workspace.pipeline.checks import Probes, differences
from workspace.pipeline.codetext import extract_examples
from workspace.pipeline.context import RunContext
from workspace.pipeline.entry import EntryChoice, find_entry
from workspace.pipeline.escalation_rounds import EscalationRounds
from workspace.pipeline.findings import conflicts_text
from workspace.pipeline.inputs import variant_inputs
from workspace.pipeline.outcome import outcome_of
from workspace.pipeline.pool import CandidatePool
from workspace.pipeline.sandbox import Sandbox
from workspace.pipeline.stages import Budget, Candidate, Coder, Escalation, Judge, Reviewer, TestWriter
from workspace.pipeline.unexampled import WithoutExamples
from workspace.pipeline.verdict import Verdict, confidence, judge_range
from workspace.routing import EffectiveModel

LATER_SLACK = 160  # tokens allowed past twice the longest candidate (see _later_budget)
SIGNALS = frozenset({"examples", "agreement", "tests", "reviewer", "judge", "escalation", "early_stop"})


@dataclass(frozen=True)
class PipelineConfig:
    drafts: int = 3
    confidence_threshold: int = 70
    max_rounds: int = 2  # escalation rounds in all, round 1 included when it comes early (fresh or beside the review)
    budget: Budget = Budget()
    signals: frozenset[str] = SIGNALS  # the benchmark turns each off to see what it earns


@dataclass(frozen=True)
class RoleModels:
    coder: EffectiveModel
    reviewer: EffectiveModel
    judge: EffectiveModel
    escalation: EffectiveModel

    def all(self) -> list[EffectiveModel]:
        return [self.coder, self.reviewer, self.judge, self.escalation]


@dataclass
class PipelineOutcome:
    final: Candidate
    verdict: Verdict
    outcome: str  # passed | unverified | failed
    entry: str | None
    reason: str = ""  # why that outcome, in words
    entry_how: str = ""  # how the function the checks call was found
    escalations: list[dict] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)


class CodePipeline:
    def __init__(self, sandbox: Sandbox, config: PipelineConfig = PipelineConfig()):
        self.sandbox, self.config = sandbox, config

    def run(self, ctx: RunContext, task: str, language: str, models: RoleModels) -> PipelineOutcome:
        return _Run(self, ctx, task, language, models).execute()


class _Run(EscalationRounds, WithoutExamples):
    """The state of one run; its methods are the steps of the cascade."""

    def __init__(self, pipeline: CodePipeline, ctx: RunContext, task: str, language: str, models: RoleModels):
        self.config, self.ctx = pipeline.config, ctx
        self.task, self.language, self.models = task, language, models
        self.on = self.config.signals
        self.python = language == "python"
        self.choice: EntryChoice | None = find_entry(task) if self.python else None
        self.entry = self.choice.name if self.choice else None
        examples = tuple(extract_examples(task, self.entry)) if "examples" in self.on else ()
        variants = variant_inputs(examples) if "agreement" in self.on else ()
        probes = Probes(examples=examples, inputs=tuple(e.call for e in examples) + variants, entry=self.entry)
        self.pool = CandidatePool(pipeline.sandbox, language, probes, self.on, ctx.cancel)
        self.judged: dict[str, tuple[int | None, list[str]]] = {}  # label → judge score, issues
        self.conflicts: list[dict] = []
        self.reviewed_from: Candidate | None = None  # the candidate the reviewer was given
        self.early: dict | None = None  # escalation round 1 made before the judge (fresh, or beside the review)
        self.settled_reason = ""  # why the checks settle it, once they do
        self.sampled = False  # the sampled drafts were asked for
        self.kept_greedy = False  # nothing to run, and the greedy draft runs cleanly: it is the answer

    def execute(self) -> PipelineOutcome:
        settled = self._greedy_round()
        if not settled and self._escalates_fresh():
            settled = self._fresh_escalation()  # a stronger model's own attempt comes before more small drafts
        elif not settled and self._stronger_reviewer():
            settled = self._second_round()  # so does a reviewer on another (bigger) model
        if not settled:
            settled = self._sample_round()
        if not settled and self.reviewed_from is None:
            settled = self._second_round()
        if settled:
            self._skip_the_rest()
        self.conflicts = self._conflicts()
        best, verdict = self._judge(self.pool.best(), settled)
        best, verdict, escalations = self._escalate(best, verdict)
        outcome, reason = self._outcome(best, verdict)
        return PipelineOutcome(best, verdict, outcome, self.entry, escalations=escalations,
                               candidates=[self.pool.summary(c) for c in self.pool.candidates], reason=reason,
                               entry_how=self._entry_how(best))

    def _skip_the_rest(self) -> None:
        """The checks settled it: say so for every stage before the judge that was not asked."""
        reason = "the checks settle it: " + self.settled_reason
        if not self.sampled:
            self.ctx.skip("coder", "more drafts", reason)
        if self.reviewed_from is None:
            for stage in ("tests", "reviewer"):
                self.ctx.skip(stage, stage, reason)

    # -- candidates ------------------------------------------------------------------------------------
    def _greedy_round(self) -> bool:
        """The greedy draft alone, run on the probes; it settles the run when it passes every example.
        Measured on the bench's 30 tasks: a greedy draft that passes every example was right 15 times in 19,
        and sampled drafts overturned none of the 4 wrong ones, while the 11 that fail one are where sampling
        (or a stronger model's own attempt) finds right code (bench/NOTES.md)."""
        self._add([self._draft(1)])
        if self.python and self.entry is None:
            self._entry_from_the_draft(self.pool.candidates[0])
        return "early_stop" in self.on and (self._greedy_settles() or self._keeps_greedy())

    def _sample_round(self) -> bool:
        """The sampled drafts, asked for together (one batch on the engine), all run on the same probes.
        Other languages get none: without running the code, drafts could not be told apart."""
        count = max(1, self.config.drafts) if self.python else 1
        self.sampled = True
        if count > 1:
            first = self.pool.drafts_made() + 1
            with ThreadPoolExecutor(max_workers=count - 1) as pool:
                drafts = [pool.submit(self._draft, index) for index in range(first, first + count - 1)]
                new = [future.result() for future in drafts]  # in order: earlier wins ties
            self._add(new)
        return "early_stop" in self.on and self._settled()

    def _greedy_settles(self) -> bool:
        """The pool's own rule, with the greedy draft its only candidate; the reason names it."""
        if not self.pool.settled():
            return False
        self.settled_reason = (f"the greedy draft passes all {len(self.pool.probes.examples)} of the task's "
                               "examples: no sampled drafts needed")
        return True

    def _add(self, candidates: list[Candidate]) -> None:
        self.ctx.check_cancel()
        self.pool.add(candidates)
        self.ctx.check_cancel()

    def _findings(self, candidate: Candidate) -> str:
        return self.pool.findings(candidate, self.judged.get(candidate.label, (None, []))[1])

    def _draft(self, index: int, budget: Budget | None = None) -> Candidate:
        return Coder().draft(self.ctx, self.models.coder, self.task, self.language, index,
                             budget or self.config.budget)

    def _later_budget(self) -> Budget:
        """Answers after the first drafts are about the size of the code they start from: capped at twice the
        longest candidate so far, plus room for the reviewer's change list (~3 characters a token). A small
        model that runs on past that is mostly repeating itself, and the longest answer sets a batch's time."""
        longest = max(len(c.code) for c in self.pool.candidates) // 3
        return replace(self.config.budget, num_predict=min(self.config.budget.num_predict, 2 * longest + LATER_SLACK))

    def _escalates_fresh(self) -> bool:
        """The escalation model is another (stronger) model, and the greedy draft fails one of the task's examples:
        its confidence is capped below the threshold whatever the judge would say."""
        return (self.python and "escalation" in self.on and self.config.max_rounds > 0
                and self.models.escalation.model != self.models.coder.model
                and self._capped_below_threshold(self.pool.candidates[0]))

    def _capped_below_threshold(self, candidate: Candidate) -> bool:
        """The candidate fails one of the task's examples, and the formula's cap keeps it below the threshold
        whatever score the judge gave."""
        check = candidate.check
        return (bool(check.examples) and not check.passes_all_examples()
                and judge_range(self.pool.signals(candidate, None))[1] < self.config.confidence_threshold)

    def _fresh_escalation(self) -> bool:
        """Escalation round 1, before the judge (its score could not lift the draft over the threshold): the
        stronger model writes its own version, given the task and the findings but not the failing code. Shown
        the code, the 1.5B fixed 1 of the 11 such bench tasks; writing its own, 4, in less than half the time
        (bench/NOTES.md). Later rounds, after the reviewer and the judge, get the best code too."""
        best = self.pool.best()
        before = confidence(self.pool.signals(best, None))
        self.early = {"before": before, "same": False,
                      "reason": (f"confidence {before} is below the threshold {self.config.confidence_threshold}: "
                                 + self._unsettled_reason(best)),
                      "note": "made before the judge: the stronger model's own attempt at the task"}
        note = "its own attempt at the task, told what the checks found, not shown the failing draft"
        # The full budget: this answer does not start from the failing draft, whose size says nothing of it.
        self._add([Escalation().fresh(self.ctx, self.models.escalation, self.task, self.language,
                                      self._findings(best), self.config.budget, note)])
        return "early_stop" in self.on and self._settled()

    def _stronger_reviewer(self) -> bool:
        return "reviewer" in self.on and self.models.reviewer.model != self.models.coder.model

    def _second_round(self) -> bool:
        """Not settled yet (by the drafts, or before them when the reviewer is a bigger model): the reviewer
        improves the best candidate; then every candidate runs on all the probes again. When the reviewer is the
        coder's own model one more sampled draft joins the batch (the bench lost a task without it), and when the
        escalation model is too, its one attempt (sampled, given the findings) joins it instead of waiting for the
        judge: small models repair poorly (arXiv 2306.09896) and sampling is where their headroom is. The test
        writer is asked only when the task gives no examples: otherwise the examples' variants already give
        inputs to compare on, at no model call, and asserts with model-written expected values were the weakest
        signal measured."""
        early = self._escalates_with_the_review()
        more = 1 if self.python and not self._stronger_reviewer() and self.config.drafts > 1 else 0
        with ThreadPoolExecutor(max_workers=3 + more) as pool:
            tests = pool.submit(self._write_tests) if self._write_tests_now() else None
            extra = [pool.submit(self._draft, self.pool.drafts_made() + 1 + i, self._later_budget())
                     for i in range(more)]
            attempt = self._early_escalation(pool) if early else None
            if "reviewer" in self.on:
                self._review()
            written = tests.result() if tests else None
            self.pool.candidates.extend(future.result() for future in extra)
            if attempt:
                self.pool.candidates.append(attempt.result())
        self.ctx.check_cancel()
        self.pool.use_tests(written)
        self.ctx.check_cancel()
        return "early_stop" in self.on and self._settled()

    def _escalates_with_the_review(self) -> bool:
        return (self.python and "escalation" in self.on and self.config.max_rounds > 0
                and self.models.escalation.model == self.models.coder.model)

    def _early_escalation(self, pool: ThreadPoolExecutor) -> Future:
        """The escalation's one attempt on the coder's own model, made beside the review (see _second_round): its
        own version, sampled, told the findings but not shown the failing code. On the bench's 11 tasks the
        starter model's greedy draft fails, 4 samples each: shown the code it wrote 1 right version in 44, on its
        own 3 in 44 with half the tokens (bench/NOTES.md); the reviewer is the stage that improves the code.
        Everything it is given is read before the batch starts: the review adds a candidate meanwhile."""
        best = self.pool.best()
        self.early = {"before": confidence(self.pool.signals(best, None)), "same": True,
                      "reason": "the drafts do not settle it: " + self._unsettled_reason(best),
                      "note": "made beside the review, in the same batch: its own attempt at the task"}
        note = ("the escalation model is the coder's model; it still gets the findings: its own attempt at the "
                "task, not shown the failing draft")
        # The full budget: this answer does not start from the failing draft, whose size says nothing of it.
        return pool.submit(Escalation().fresh, self.ctx, self.models.escalation, self.task, self.language,
                           self._findings(best), self.config.budget, note, True)

    def _unsettled_reason(self, best: Candidate) -> str:
        if not best.check.examples:
            return f"no example ran ({self.nothing_ran()})"
        if not best.check.passes_all_examples():
            return f"the best draft fails {len(best.check.examples) - best.check.examples_passed} of the examples"
        size, compared = self.pool.group_of(best)
        return f"{size} of {compared} example-passing candidates agree"

    def _write_tests_now(self) -> bool:
        if not (self.python and {"tests", "agreement"} & self.on):
            return False
        if self.pool.probes.examples:
            self.ctx.skip("tests", "tests", "the task's examples and their variants give the inputs to compare "
                          "candidates on")
            return False
        return True

    def _write_tests(self) -> Probes:
        return TestWriter().write(self.ctx, self.models.coder, self.task, self.entry, self.config.budget)

    def _settled(self) -> bool:
        reason = self.pool.settled()
        self.settled_reason = reason or self.settled_reason
        return bool(reason)

    # -- reviewer, judge, escalation --------------------------------------------------------------------
    def _review(self) -> None:
        """The reviewer's version of the best candidate (run by the caller, with everything else)."""
        best = self.pool.best()
        reviewed = Reviewer().review(self.ctx, self.models.reviewer, self.task, self.language, best,
                                     self._findings(best), self._later_budget())
        self.pool.candidates.append(reviewed)
        self.reviewed_from = best

    def _conflicts(self) -> list[dict]:
        """Inputs where the reviewer's version and the coder's version it reviewed give different outputs.

        `open` says the task's examples do not tell which is right (then the run escalates); `leans` is the side
        the checks favour, replaced by the judge model's when it gives one."""
        coder, reviewed = self.reviewed_from, self.pool.by_label("reviewer")
        if not (self.python and coder and reviewed and coder.check.executed and reviewed.check.executed
                and reviewed.check.error is None):
            return []
        a, b = self.pool.rank_key(coder)[:5], self.pool.rank_key(reviewed)[:5]
        leans = "coder" if a > b else "reviewer" if b > a else "unsure"
        still_open = coder.check.examples_passed == reviewed.check.examples_passed
        return [{"input": d["input"], "coder": d["a"], "reviewer": d["b"], "leans": leans, "open": still_open}
                for d in differences(coder.check, reviewed.check, self.pool.probes.inputs)]

    def _judge(self, best: Candidate, settled: bool, label: str = "judge") -> tuple[Candidate, Verdict]:
        score, issues, basis = None, [], "the checks that ran"
        moot = self._judge_moot(best, settled)
        if "judge" not in self.on:
            self.ctx.skip("judge", label, "the judge model is turned off")
        elif moot:
            self.ctx.skip("judge", label, "the checks settle it: " + moot)
        else:
            answer, failure = Judge().judge(self.ctx, self.models.judge, self.task, self.language, best.code,
                                            self._findings(best), conflicts_text(self.conflicts),
                                            self.config.budget, label)
            if answer is None:
                basis = f"the checks alone: {failure}"
            else:
                score, issues = answer.score, answer.issues
                basis = "the checks that ran and the judge model's score"
                if answer.leans != "unsure":
                    self.conflicts = [{**c, "leans": answer.leans} for c in self.conflicts]
        self.judged[best.label] = (score, issues)
        return best, self._verdict(best, basis)

    def _judge_moot(self, best: Candidate, settled: bool) -> str:
        """Why the judge's score could not change what happens next ("" when it could): the drafts settled it,
        or any score from 0 to 100 leaves the confidence on the same side of the threshold. An open conflict
        always asks it: which way it leans is part of the verdict."""
        if not best.check.executed:
            return ""
        if settled:
            return self.settled_reason
        if any(c.get("open") for c in self.conflicts):
            return ""
        low, high = judge_range(self.pool.signals(best, None))
        threshold = self.config.confidence_threshold
        if self._capped_below_threshold(best):
            return (f"the best candidate fails {len(best.check.examples) - best.check.examples_passed} "
                    "of the task's examples")
        if high < threshold or low >= threshold:
            side = "below" if high < threshold else "at or above"
            return f"with any judge score the confidence would be {low}–{high}, {side} the threshold {threshold}"
        return ""

    # -- verdict --------------------------------------------------------------------------------------
    def _verdict(self, best: Candidate, basis: str) -> Verdict:
        score, issues = self.judged.get(best.label, (None, []))
        if not best.check.executed:
            note = best.check.note
            basis = ("a syntax check and the models' word: nothing could run this code here" if note
                     and "syntax" in note else "the models' word alone: " + (note or "nothing ran it"))
        return Verdict(confidence(self.pool.signals(best, score)), self.pool.checks(best),
                       list(self.conflicts), issues, score, basis)

    def _outcome(self, best: Candidate, verdict: Verdict) -> tuple[str, str]:
        return outcome_of(best.check, verdict.confidence, self.config.confidence_threshold, self.nothing_ran())
