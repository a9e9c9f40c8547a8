"""The candidates of one pipeline run, the probes they all run on, and how they rank.

Examples first, then agreement, then the pipeline's own asserts: once some candidates pass every example,
only they vote, so a crowd of identical wrong drafts cannot outvote the one that does what the task says
(S*, arXiv 2502.14382; AlphaCode/SRank for grouping by outputs). The orchestrator (`code.py`) decides
what to ask next; this module only runs, ranks and describes what it has.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from workspace.pipeline.checks import CandidateCheck, Probes, check_python, check_syntax, clusters
from workspace.pipeline.findings import describe
from workspace.pipeline.sandbox import Sandbox
from workspace.pipeline.stages import Candidate
from workspace.pipeline.verdict import Signals


class CandidatePool:
    def __init__(self, sandbox: Sandbox, language: str, probes: Probes, signals_on: frozenset[str],
                 cancel: threading.Event):
        self.sandbox, self.language, self.probes, self.on, self.cancel = sandbox, language, probes, signals_on, cancel
        self.python = language == "python"
        self.candidates: list[Candidate] = []

    # -- running --------------------------------------------------------------------------------------
    def add(self, candidates: list[Candidate]) -> None:
        """Add candidates (in order: earlier wins ties) and run them on the probes."""
        self.candidates.extend(candidates)
        self.check(candidates)

    def check(self, candidates: list[Candidate]) -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(self._run_checks, [c.code for c in candidates]))
        for candidate, result in zip(candidates, results):
            candidate.check = result

    def _run_checks(self, code: str) -> CandidateCheck:
        if self.python:
            return check_python(self.sandbox, code, self.probes, self.cancel)
        return check_syntax(self.sandbox, code, self.language, self.cancel)

    def use_tests(self, written: Probes | None) -> None:
        """Add the test writer's asserts and inputs to the probes, and run every candidate on them all."""
        if written is not None:
            self.probes = replace(self.probes, tests=written.tests if "tests" in self.on else (),
                                  inputs=tuple(dict.fromkeys(self.probes.inputs + written.inputs)))
        self.check(self.candidates if written is not None else [c for c in self.candidates if c.check is None])

    # -- ranking --------------------------------------------------------------------------------------
    def group_of(self, candidate: Candidate) -> tuple[int, int]:
        """(size of the candidate's output group, candidates compared), when agreement counts."""
        if "agreement" not in self.on:
            return 0, 0
        voters = [c for c in self.candidates if c.check.passes_all_examples()] or self.candidates
        if candidate not in voters:
            return 0, len(voters)
        groups = clusters([c.check for c in voters])
        index = voters.index(candidate)
        return next((len(g) for g in groups if index in g), 0), sum(len(g) for g in groups)

    def rank_key(self, candidate: Candidate) -> tuple:
        check = candidate.check
        size, _ = self.group_of(candidate)
        return (check.parses, check.error is None, check.examples_passed, size, check.tests_passed,
                -self.candidates.index(candidate))

    def best(self) -> Candidate:
        return max(self.candidates, key=self.rank_key)

    def by_label(self, label: str) -> Candidate | None:
        return next((c for c in self.candidates if c.label == label), None)

    def drafts_made(self) -> int:
        return sum(c.label.startswith("coder #") for c in self.candidates)

    def settled(self) -> str:
        """Why the checks settle it ("" when they do not): the best passes every example, and most of the
        candidates that pass them too give its outputs. A lone passer settles it as the greedy draft alone does:
        the same evidence, and more of the same model rarely overturned it (bench/NOTES.md)."""
        best = self.best()
        if not best.check.passes_all_examples():
            return ""
        examples = f"the best candidate passes all {len(self.probes.examples)} examples"
        if "agreement" not in self.on:
            return examples
        size, compared = self.group_of(best)
        if 2 * size <= compared:
            return ""
        if compared <= 1:
            return f"{examples}, the only candidate that does"
        return f"{examples} and {size} of {compared} candidates agree on every input they can be compared on"

    def repeats_earlier(self, attempt: Candidate) -> bool:
        """The attempt gives the same example results and outputs as another candidate."""
        def behaviour(c: Candidate) -> tuple:
            return (c.check.parses, c.check.error, tuple(e["got"] for e in c.check.examples), c.check.outputs)
        return any(c is not attempt and c.check and behaviour(c) == behaviour(attempt) for c in self.candidates)

    # -- describing -----------------------------------------------------------------------------------
    def signals(self, candidate: Candidate, judge_score: int | None) -> Signals:
        check = candidate.check
        size, compared = self.group_of(candidate)
        return Signals(
            parses=check.parses,
            examples=(check.examples_passed, len(check.examples)) if check.examples else None,
            agreement=(size, compared) if compared >= 2 else None,
            tests=(check.tests_passed, len(check.tests)) if check.tests else None,
            judge=judge_score,
        )

    def checks(self, candidate: Candidate) -> list[dict]:
        size, compared = self.group_of(candidate)
        return describe(candidate, self.probes, size, compared)

    def findings(self, candidate: Candidate, judge_issues: list[str]) -> str:
        """What the checks (and the judge, when it spoke) found, as lines for a model's prompt."""
        lines = [f"- {c['name']}: {c['passed']}/{c['total']}" + (f" — {c['detail']}" if c["detail"] else "")
                 for c in self.checks(candidate)]
        lines += [f"- judge: {issue}" for issue in judge_issues]
        return "\n".join(lines) or "- nothing could be checked"

    def summary(self, candidate: Candidate) -> dict:
        check = candidate.check
        size, compared = self.group_of(candidate)
        return {"label": candidate.label, "parses": check.parses, "error": check.error,
                "examples": [check.examples_passed, len(check.examples)], "tests": [check.tests_passed,
                len(check.tests)], "agreement": [size, compared], "changes": candidate.changes, "code": candidate.code}
