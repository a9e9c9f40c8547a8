"""The pipeline's stages: each a small object with its role, its prompts (from `prompts`) and a typed result.

Stages only talk to models (through `RunContext.generate`) and read their answers; running the code
is `checks`' job and choosing what happens next is the orchestrator's (`code.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workspace.pipeline import prompts
from workspace.pipeline.checks import CandidateCheck, Probes, parse_tests
from workspace.pipeline.codetext import change_notes, extract_code
from workspace.pipeline.context import RunContext, StageRecord
from workspace.pipeline.entry import entry_name
from workspace.pipeline.script_tail import drop_script_tail, stream_reached_tail, tail_wanted
from workspace.pipeline.verdict import JUDGE_SCHEMA, JudgeAnswer, read_judge
from workspace.routing import EffectiveModel
from workspace.settings import Role


@dataclass
class Candidate:
    """A version of the code, where it came from, and (once run) what the checks found."""

    label: str
    code: str
    check: CandidateCheck | None = None
    changes: list[str] = field(default_factory=list)  # the reviewer's account of what it changed


MAX_CHANGES = 6  # change lines read from the reviewer: past them a small model mostly repeats itself


@dataclass(frozen=True)
class Budget:
    """Sampling and size settings shared by the stages."""

    num_ctx: int = 4096
    num_predict: int = 768
    temperature: float = 0.8
    tests: int = 8
    judge_retries: int = 2


def _complete_lines(text: str, entry: str) -> int:
    """Distinct finished assert lines calling `entry` so far."""
    return len(parse_tests(text[:text.rfind("\n") + 1], entry).tests)


def _enough_changes(text: str) -> bool:
    """The reviewer's code block is closed and MAX_CHANGES finished change lines follow it."""
    return len(change_notes(text[:text.rfind("\n") + 1])) >= MAX_CHANGES


def _code_answer(ctx: RunContext, record: StageRecord, messages: list[dict[str, str]], options: dict,
                 task: str, language: str) -> str:
    """A coder-like answer's code, read only until its script tail begins (usage prints, asserts: the prompt
    asks for none) and without that tail (`script_tail`); other languages, and tasks that ask for a script or
    printing, are read to the block's end and kept whole."""
    entry = entry_name(task) if language == "python" and not tail_wanted(task) else None
    stopped: list[bool] = []  # set when reading stopped at the tail

    def at_tail(text: str) -> bool:
        if stream_reached_tail(text, entry):
            stopped.append(True)
        return bool(stopped)
    text = ctx.generate(record, messages, options=options, enough=at_tail if entry else None)
    if stopped:
        text = text[:text.rfind("\n") + 1]  # the unfinished line after the tail's first line goes
    return drop_script_tail(extract_code(text, language), entry)


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


class Coder:
    role = Role.CODER

    def draft(self, ctx: RunContext, model: EffectiveModel, task: str, language: str, index: int,
              budget: Budget) -> Candidate:
        """Draft `index` (1-based): the first greedy, the others sampled with their own seed."""
        record = ctx.open_stage("coder", f"coder #{index}", model)
        sampled = {"temperature": budget.temperature, "seed": 1000 + index} if index > 1 else {"temperature": 0}
        code = _code_answer(ctx, record, _messages(prompts.CODER_SYSTEM.format(language=language),
                                                   prompts.CODER_USER.format(task=task)),
                            {"num_ctx": budget.num_ctx, "num_predict": budget.num_predict, **sampled}, task, language)
        ctx.close_stage(record, "done")
        return Candidate(record.label, code)


class TestWriter:
    """Asks for asserts: the inputs in them are what candidates are compared on; the asserts count a little."""

    role = Role.CODER

    def write(self, ctx: RunContext, model: EffectiveModel, task: str, entry: str | None, budget: Budget) -> Probes:
        if not entry:
            ctx.skip("tests", "tests", "no function name found in the task to write tests for")
            return Probes()
        record = ctx.open_stage("tests", "tests", model)
        user = prompts.TESTS_USER.format(task=task, count=budget.tests, entry=entry)
        # Small models like to write the function again first, then repeat themselves: stop at enough asserts.
        text = ctx.generate(record, _messages(prompts.TESTS_SYSTEM, user),
                            options={"num_ctx": budget.num_ctx, "num_predict": 60 * budget.tests, "temperature": 0},
                            enough=lambda text: _complete_lines(text, entry) >= budget.tests)
        probes = parse_tests(text, entry)
        ctx.close_stage(record, "done", f"{len(probes.tests)} asserts, {len(probes.inputs)} inputs")
        return probes


class Reviewer:
    role = Role.REVIEWER

    def review(self, ctx: RunContext, model: EffectiveModel, task: str, language: str, best: Candidate,
               findings: str, budget: Budget) -> Candidate:
        record = ctx.open_stage("reviewer", "reviewer", model)
        user = prompts.REVIEWER_USER.format(task=task, language=language, code=best.code, findings=findings)
        # The change list follows the code block: read on until it has MAX_CHANGES lines (or the answer ends).
        text = ctx.generate(record, _messages(prompts.REVIEWER_SYSTEM.format(language=language), user),
                            options={"num_ctx": budget.num_ctx, "num_predict": budget.num_predict, "temperature": 0},
                            stop_at_block=False, enough=_enough_changes)
        changes = change_notes(text)[:MAX_CHANGES] or ["(the reviewer listed no changes)"]
        ctx.close_stage(record, "done", f"reviewed {best.label}")
        return Candidate("reviewer", extract_code(text, language) or best.code, changes=changes)


class Judge:
    role = Role.JUDGE

    def judge(self, ctx: RunContext, model: EffectiveModel, task: str, language: str, code: str, findings: str,
              conflicts: str, budget: Budget, label: str = "judge") -> tuple[JudgeAnswer | None, str]:
        """The judge model's answer, re-asked with the parse error up to `judge_retries` times; else None."""
        record = ctx.open_stage("judge", label, model)
        user = prompts.JUDGE_USER.format(task=task, language=language, code=code, findings=findings,
                                         conflicts=conflicts or "none")
        messages = _messages(prompts.JUDGE_SYSTEM, user)
        options = {"num_ctx": budget.num_ctx, "num_predict": 200, "temperature": 0}
        error = ""
        for attempt in range(budget.judge_retries + 1):
            text = ctx.generate(record, messages, options=options, format=JUDGE_SCHEMA, stop_at_block=False)
            try:
                answer = read_judge(text)
            except ValueError as exc:
                error = str(exc)
                messages = [*messages, {"role": "assistant", "content": text[:2000]},
                            {"role": "user", "content": prompts.JUDGE_RETRY.format(error=error)}]
                continue
            ctx.close_stage(record, "done", f"score {answer.score}" + (f" after {attempt} retries" if attempt else ""))
            return answer, ""
        note = f"the judge's answer could not be read ({error}) after {budget.judge_retries + 1} tries"
        ctx.close_stage(record, "failed", note)
        return None, note


class Escalation:
    role = Role.ESCALATION

    def attempt(self, ctx: RunContext, model: EffectiveModel, task: str, language: str, best: Candidate,
                findings: str, round_no: int, budget: Budget, same_as_coder: bool) -> Candidate:
        record = ctx.open_stage("escalation", f"escalation {round_no}", model)
        if same_as_coder:
            record.note = "the escalation model is the coder's model; it still gets the findings"
        user = prompts.ESCALATION_USER.format(task=task, language=language, code=best.code, findings=findings)
        # Another greedy answer from the same model would repeat the first: sample when it is the coder's model.
        sampling = {"temperature": budget.temperature, "seed": 2000 + round_no} if same_as_coder else {"temperature": 0}
        code = _code_answer(ctx, record, _messages(prompts.ESCALATION_SYSTEM.format(language=language), user),
                            {"num_ctx": budget.num_ctx, "num_predict": budget.num_predict, **sampling}, task, language)
        ctx.close_stage(record, "done")
        return Candidate(record.label, code or best.code)

    def fresh(self, ctx: RunContext, model: EffectiveModel, task: str, language: str, findings: str,
              budget: Budget, note: str, same_as_coder: bool = False) -> Candidate:
        """Its own attempt at the task, told what the checks found but not shown the failing code (code.py says
        when). On the coder's own model it is sampled: a greedy answer would repeat the coder's first draft."""
        record = ctx.open_stage("escalation", "escalation 1", model)
        record.note = note
        sampling = {"temperature": budget.temperature, "seed": 2001} if same_as_coder else {"temperature": 0}
        code = _code_answer(ctx, record, _messages(prompts.ESCALATION_FRESH_SYSTEM.format(language=language),
                                                   prompts.ESCALATION_FRESH_USER.format(task=task, findings=findings)),
                            {"num_ctx": budget.num_ctx, "num_predict": budget.num_predict, **sampling},
                            task, language)
        ctx.close_stage(record, "done")
        return Candidate(record.label, code)
