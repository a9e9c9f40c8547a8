"""What a code pipeline run does when no example from the task can run: which function the checks call when the
task names none, when the greedy draft is simply kept, and why nothing ran, in words for the trail.

A mixin of the orchestrator's `_Run` (`code.py`), which owns the pool and the task these rules read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from workspace.pipeline.checks import CandidateCheck
from workspace.pipeline.entry import EntryChoice, from_code
from workspace.pipeline.stages import Candidate

if TYPE_CHECKING:
    from workspace.pipeline.pool import CandidatePool


class WithoutExamples:
    """The run supplies the state below."""

    pool: CandidatePool
    python: bool
    on: frozenset[str]
    entry: str | None
    choice: EntryChoice | None
    kept_greedy: bool
    settled_reason: str

    def _entry_from_the_draft(self, draft: Candidate) -> None:
        """The task names no function: the draft's single top-level function is the one the test writer and the
        probes call (the other drafts run against their own single function when they name it otherwise)."""
        name = from_code(draft.code)
        if name:
            self.entry, self.choice = name, EntryChoice(name, f"the task names no function: {name}() is the one "
                                                              "the greedy draft defines")
            self.pool.probes = replace(self.pool.probes, entry=name)

    def _keeps_greedy(self) -> bool:
        """Nothing to run (no example from the task) and the greedy draft loads and ends cleanly: more drafts could
        only be told apart by model-written tests and agreement: on 16 module-style exercises the whole cascade
        solved 2 where the greedy draft alone solved 3, at 4.4× its time (issue 21). The greedy draft is the answer."""
        check = self.pool.candidates[0].check
        if not self.python or self.pool.probes.examples or not (check.parses and check.error is None
                                                                 and check.terminated):
            return False
        self.kept_greedy = True
        self.settled_reason = (f"{self.nothing_ran()}, and the greedy draft loads and runs cleanly: it is kept "
                               "(more drafts could only be told apart by the models' own guesses)")
        return True

    def nothing_ran(self) -> str:
        """Why no example from the task ran (when none did)."""
        if "examples" not in self.on:
            return "the task's examples are turned off"
        if not self.entry:
            return "the task names no function and the draft defines no single top-level function"
        return f"the task gives no example of {self.entry}() to run"

    def _entry_how(self, best: Candidate) -> str:
        """Which function the checks called, and how it was found (the trail shows it)."""
        if not self.choice:
            return ""
        how = f"{self.choice.name}(): {self.choice.how}"
        ran_as = best.check.ran_as if best.check else None
        return how + (f"; the final code defines {ran_as}() instead, and the checks ran against it" if ran_as else "")

    def nothing_to_weigh(self, check: CandidateCheck) -> bool:
        """No example ran and the candidate loads and ends cleanly: no later model answer could be checked against
        anything, so no escalation is asked for on nothing (the judge's score still counts in the confidence)."""
        return self.python and check.executed and not check.examples and check.error is None and check.terminated
