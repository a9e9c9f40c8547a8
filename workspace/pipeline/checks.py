"""Checks that run: the code parses, the task's examples pass, the pipeline's own tests pass, candidates
agree on the same inputs, and it all terminates within the sandbox's limits.

One sandbox run per candidate covers every probe (examples, asserts, inputs), through `harness.SOURCE`.
Agreement needs no expected outputs — the part small models get wrong: candidates are grouped by the
outputs they give on the same inputs (AlphaCode, SRank), and a bigger group is more likely right.
Other languages get a syntax check where a toolchain is on the machine.
"""

from __future__ import annotations

import ast
import json
import shutil
import threading
from dataclasses import dataclass, field
from typing import Sequence

from workspace.pipeline import harness
from workspace.pipeline.codetext import Example, calls_entry
from workspace.pipeline.entry import from_code
from workspace.pipeline.sandbox import Sandbox, SandboxLimits

PER_CALL_S = 1.0
MAX_TESTS = 12
# Syntax checks for other languages: the file the code goes in, and the toolchain command.
SYNTAX_CHECKS: dict[str, tuple[str, list[str]] | None] = {
    "python": None,  # first-class: executed, not only parsed
    "javascript": ("main.js", ["node", "--check", "main.js"]),
    "typescript": ("main.ts", ["tsc", "--noEmit", "main.ts"]),
    "c": ("main.c", ["gcc", "-fsyntax-only", "main.c"]),
    "cpp": ("main.cpp", ["g++", "-fsyntax-only", "-std=c++17", "main.cpp"]),
    "bash": ("main.sh", ["bash", "-n", "main.sh"]),
    "go": ("main.go", ["gofmt", "-e", "main.go"]),
    "rust": ("main.rs", ["rustc", "--edition", "2021", "--crate-type", "lib", "--emit", "metadata", "main.rs"]),
    "java": ("Main.java", ["javac", "-d", ".", "Main.java"]),
}
LANGUAGES = tuple(SYNTAX_CHECKS)
TOOLCHAIN_LIMITS = SandboxLimits(wall_s=30, cpu_s=20, memory_mb=2048, processes=64, file_mb=64)


@dataclass(frozen=True)
class Probes:
    """What every candidate is run on: the task's examples, the pipeline's asserts, inputs to compare on."""

    examples: tuple[Example, ...] = ()
    tests: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    entry: str | None = None  # the function they call


@dataclass
class CandidateCheck:
    """What running one candidate found."""

    parses: bool
    error: str | None = None  # a syntax error, a crash while loading, the sandbox killing it
    examples: list[dict] = field(default_factory=list)  # {"call", "expected", "passed", "got"}
    tests: list[dict] = field(default_factory=list)  # {"test", "passed", "detail"}
    outputs: tuple[str, ...] = ()
    terminated: bool = True
    executed: bool = False  # False: only parsed or syntax-checked (or nothing could run it)
    note: str = ""
    ran_as: str | None = None  # the function the probes ran against when the code does not define the entry

    @property
    def examples_passed(self) -> int:
        return sum(1 for e in self.examples if e["passed"])

    @property
    def tests_passed(self) -> int:
        return sum(1 for t in self.tests if t["passed"])

    def passes_all_examples(self) -> bool:
        return bool(self.examples) and self.examples_passed == len(self.examples)


def parse_tests(text: str, entry: str | None) -> Probes:
    """The model's asserts that call `entry`, and the calls in them as inputs (their expected values unused)."""
    tests, inputs = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("assert ") or not entry:
            continue
        try:
            node = ast.parse(line).body[0]
        except (SyntaxError, IndexError):
            continue
        test = getattr(node, "test", None)
        if isinstance(test, ast.Compare) and calls_entry(ast.unparse(test.left), entry):
            tests.append(line)
            inputs.append(ast.unparse(test.left))
    return Probes(tests=tuple(dict.fromkeys(tests))[:MAX_TESTS], inputs=tuple(dict.fromkeys(inputs))[:MAX_TESTS])


def syntax_error(code: str) -> str | None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    return None


def check_python(sandbox: Sandbox, code: str, probes: Probes, cancel: threading.Event | None = None) -> CandidateCheck:
    """Parse, then run every probe against `code` in one sandboxed process."""
    problem = syntax_error(code)
    if problem:
        return CandidateCheck(parses=False, error=f"does not parse: {problem}",
                              examples=[_example(e, False, "not run") for e in probes.examples])
    ran_as = stand_in(code, probes.entry)
    spec = {"per_call_s": PER_CALL_S, "examples": [e.__dict__ for e in probes.examples],
            "tests": list(probes.tests), "inputs": list(probes.inputs),
            "alias": [probes.entry, ran_as] if ran_as else None}
    run = sandbox.run_python(harness.SOURCE, files={"solution.py": code, "probes.json": json.dumps(spec)},
                             cancel=cancel)
    report = _harness_report(run.stdout)
    if report is None:
        reason = run.killed or (run.stderr.strip().splitlines() or ["no report"])[-1]
        return CandidateCheck(parses=True, error=f"the run did not finish ({reason})", terminated=run.killed is None,
                              executed=True, examples=[_example(e, False, "not finished") for e in probes.examples])
    examples = [_example(e, r["passed"], r["got"]) for e, r in zip(probes.examples, report["examples"])]
    tests = [{"test": t, **r} for t, r in zip(probes.tests, report["tests"])]
    return CandidateCheck(parses=True, error=report["load"], examples=examples, tests=tests,
                          outputs=tuple(report["outputs"]), terminated=report["over_budget"] == 0, executed=True,
                          ran_as=ran_as)


def stand_in(code: str, entry: str | None) -> str | None:
    """The function the probes run against when the code does not define the one they call: its single
    top-level function (a draft that calls `is_palindrome` `check_palindrome` still gets its examples run)."""
    if not entry:
        return None
    tree = ast.parse(code)
    defined = {target.id for node in tree.body for target in _bound_names(node)}
    if entry in defined:
        return None
    target = from_code(code)
    return target if target and target != entry else None


def _bound_names(node: ast.stmt) -> list[ast.Name]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [ast.Name(node.name)]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [ast.Name((a.asname or a.name).split(".")[0]) for a in node.names]
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return [n for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


def check_syntax(sandbox: Sandbox, code: str, language: str, cancel: threading.Event | None = None) -> CandidateCheck:
    """Another language: its toolchain's syntax check when one is installed, else nothing runs (said so)."""
    file_name, argv = SYNTAX_CHECKS[language]
    if shutil.which(argv[0]) is None:
        return CandidateCheck(parses=True, note=f"no {argv[0]} on this machine: the verdict rests on the models")
    run = sandbox.run_command(argv, files={file_name: code}, cancel=cancel, limits=TOOLCHAIN_LIMITS)
    detail = (run.stderr or run.stdout).strip()[-500:]
    return CandidateCheck(parses=run.ok, error=None if run.ok else f"{argv[0]}: {detail or run.killed}",
                          terminated=run.killed is None, note=f"syntax checked with {argv[0]}")


def clusters(checks: Sequence[CandidateCheck]) -> list[list[int]]:
    """Candidates grouped by identical outputs on the shared inputs they can be compared on, biggest first."""
    keep = comparable_inputs(checks)
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, check in enumerate(checks):
        if _ran(check):
            groups.setdefault(tuple(check.outputs[i] for i in keep), []).append(index)
    return sorted(groups.values(), key=lambda group: (-len(group), group[0]))


def comparable_inputs(checks: Sequence[CandidateCheck]) -> list[int]:
    """Positions of the inputs on which most candidates return a value. An input most of them reject is
    likely outside what the task describes (the generated variants can be), and how each candidate fails
    there says nothing about which one is right."""
    runs = [check.outputs for check in checks if _ran(check)]
    width = min((len(outputs) for outputs in runs), default=0)
    return [i for i in range(width) if 2 * sum(not o[i].startswith("raised ") for o in runs) > len(runs)]


def _ran(check: CandidateCheck) -> bool:
    return check.executed and check.error is None and bool(check.outputs)


def differences(a: CandidateCheck, b: CandidateCheck, inputs: Sequence[str], limit: int = 5) -> list[dict]:
    """Inputs on which two candidates give different outputs: the behaviour they disagree on."""
    pairs = zip(inputs, a.outputs, b.outputs)
    return [{"input": call, "a": out_a, "b": out_b} for call, out_a, out_b in pairs if out_a != out_b][:limit]


def _example(example: Example, passed: bool, got: str) -> dict:
    return {"call": example.call, "expected": example.expected, "passed": passed, "got": got}


def _harness_report(stdout: str) -> dict | None:
    start = stdout.rfind(harness.MARKER)
    if start < 0:
        return None
    try:
        return json.loads(stdout[start + len(harness.MARKER):].strip().splitlines()[0])
    except (json.JSONDecodeError, IndexError):
        return None
