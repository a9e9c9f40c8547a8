"""Which function a task means, found the way a reader finds it, and said in words for the trail.

Users name the function in many ways: `>>> name(…)` examples, `name(…) -> …` lines, a `def name(` stub, "a
function called name", a backticked `name(`, or plain `name(args)` in prose ("Write is_palindrome(s) that …").
When several names are possible, the one the task's examples call wins: they are what the checks run. When the
task names none, the drafts' single top-level function is taken (`from_code`). Pure text work: no model, no run.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections import Counter
from dataclasses import dataclass

from workspace.pipeline.codetext import arrow_examples, doctest_examples

TOP_LEVEL_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
ANY_DEF = re.compile(r"\bdef\s+([A-Za-z_]\w*)\s*\(")
CALLED = re.compile(r"\b(?:function|method)\s+(?:called|named)\s+`?([A-Za-z_]\w*)", re.I)
BACKTICKED_CALL = re.compile(r"`([A-Za-z_]\w*)\s*\(")
# `name(args)` in prose: not a method (no dot before it), arguments on the same line and short.
PROSE_CALL = re.compile(r"(?<![.\w])([A-Za-z_]\w*)\(([^()\n]{0,80})\)")
CALL_START = re.compile(r"(?<![.\w])([A-Za-z_]\w*)\(")
NOT_ENTRIES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"self", "cls", "e", "i", "eg", "ie"}


@dataclass(frozen=True)
class EntryChoice:
    """The function's name and how it was found (shown in the trail)."""

    name: str
    how: str


def find_entry(task: str) -> EntryChoice | None:
    """The function the task asks for, or None when the task names none."""
    task = task or ""
    called = _names_the_examples_call(task)
    if called:
        name, count = called.most_common(1)[0]
        return EntryChoice(name, f"the task's examples call {name}()" if count > 1 or len(called) == 1
                           else f"the task's examples call {name}() first")
    for pattern, how in ((TOP_LEVEL_DEF, "the task's def line"), (ANY_DEF, "a def line in the task"),
                         (CALLED, "the task says what the function is called"),
                         (BACKTICKED_CALL, "the task names it in backticks")):
        name = next((m.group(1) for m in pattern.finditer(task) if m.group(1) not in NOT_ENTRIES), None)
        if name:
            return EntryChoice(name, how)
    name = next((m.group(1) for m in PROSE_CALL.finditer(task) if _looks_like_signature(m)), None)
    return EntryChoice(name, f"the task writes {name}(…) in its text") if name else None


def entry_name(task: str) -> str | None:
    choice = find_entry(task)
    return choice.name if choice else None


def from_code(code: str) -> str | None:
    """The code's one top-level function, or the one the others build on (the only one no other calls)."""
    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return None
    functions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if len(functions) <= 1:
        return functions[0].name if functions else None
    called = {n.func.id for f in functions for n in ast.walk(f)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    roots = [f.name for f in functions if f.name not in called]
    return roots[0] if len(roots) == 1 else None


def _names_the_examples_call(task: str) -> Counter:
    """How many of the task's examples call each name (doctest and one-line forms)."""
    names: Counter = Counter()
    for line in task.splitlines():
        for match in CALL_START.finditer(line.replace("`", "")):
            name = match.group(1)
            if name not in NOT_ENTRIES and name not in names:
                found = doctest_examples(task, name) + arrow_examples(task, name)
                if found:
                    names[name] = len(found)
    return names


def _looks_like_signature(match: re.Match) -> bool:
    """`name(a, b)`, `name(s: str)`, `name()`: parameters, not prose in brackets ("(optional)" has a space)."""
    name, args = match.group(1), match.group(2).strip()
    if name in NOT_ENTRIES or len(name) < 2:
        return False
    if not args:
        return True
    try:
        ast.parse(f"def {name}({args}): pass")
    except SyntaxError:
        try:
            ast.parse(f"{name}({args})", mode="eval")  # a call with values: "is_even(4)"
        except SyntaxError:
            return False
    return True
