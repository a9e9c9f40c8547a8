"""Reading model answers and task texts: fenced code blocks, the reviewer's notes, the task's own examples.

Pure text work, no model and no execution (the script tail of an answer: `script_tail.py`; which function the
task means: `entry.py`).

Examples are recognised in the forms users write them: doctest lines (`>>> f(2)` then the expected value),
and one-line forms such as `f(2) -> 4`, `f(2) == 4`, `f(2) => 4`, `f(2) → 4`, `f(2) returns 4` or
`f(2) should return 4`. A candidate example is kept only when both sides parse as Python expressions and the
left side calls the task's function.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.S)
SEPARATOR = re.compile(r"->|=>|→|==|\bshould return\b|\breturns\b|\bgives\b|\bis\b", re.I)
MAX_EXAMPLES = 20
VALUE_NAMES = frozenset({"True", "False", "None", "set", "frozenset", "float", "int", "str", "tuple", "list",
                         "dict", "bytes", "complex", "range"})


@dataclass(frozen=True)
class Example:
    """One call from the task and the value the task says it returns (both Python source)."""

    call: str
    expected: str

    def describe(self) -> str:
        return f"{self.call} == {self.expected}"


def complete_block(text: str) -> bool:
    """True once `text` holds an opening fence and the fence that closes it (the rest is chatter)."""
    start = text.find("```")
    if start < 0:
        return False
    first_newline = text.find("\n", start)
    return first_newline >= 0 and re.search(r"\n[ \t]*```", text[first_newline:]) is not None


def extract_code(text: str, language: str = "python") -> str:
    """The code of the first fenced block (one tagged `language` preferred); bare code when no fence."""
    blocks = [(tag.lower(), body) for tag, body in FENCE.findall(text or "")]
    if not blocks:
        return (text or "").strip()
    aliases = {language.lower(), {"python": "py", "javascript": "js", "typescript": "ts"}.get(language.lower(), "")}
    tagged = [body for tag, body in blocks if tag in aliases]
    # Several blocks of the language: the largest is the solution, the small ones are usually usage examples.
    return max(tagged or [body for _, body in blocks], key=len).strip("\n")


def change_notes(text: str) -> list[str]:
    """The reviewer's list of changes: the '- ' lines after its code block."""
    tail = text[text.rfind("```") + 3:] if text.count("```") >= 2 else ""
    notes = [line.strip()[2:].strip() for line in tail.splitlines() if line.strip().startswith(("- ", "* "))]
    return [note for note in notes if note][:20]


def extract_examples(task: str, entry: str | None) -> list[Example]:
    """The examples the task states, in doctest or one-line form, deduplicated, in order."""
    if not entry:
        return []
    found = doctest_examples(task, entry) + arrow_examples(task, entry)
    unique: dict[str, Example] = {}
    for example in found:
        unique.setdefault(example.call, example)
    return list(unique.values())[:MAX_EXAMPLES]


def calls_entry(source: str, entry: str) -> bool:
    """True when `source` is one expression that calls `entry` (and nothing else at the top)."""
    try:
        node = ast.parse(source.strip(), mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == entry


def _is_value(source: str) -> bool:
    """True when `source` is a value as doctest prints one: literals and a few constructors, no other names
    (so prose such as "this is not it", which parses as Python, is not taken for an expected value)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return False
    return all(node.id in VALUE_NAMES for node in ast.walk(tree) if isinstance(node, ast.Name))


def doctest_examples(task: str, entry: str) -> list[Example]:
    examples, lines = [], task.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith(">>>"):
            continue
        call = stripped[3:].strip()
        expected_lines = []
        for following in lines[index + 1:]:
            if not following.strip() or following.strip().startswith((">>>", "...")):
                break
            expected_lines.append(following.strip())
        # Doctest output runs to a blank line; prose may follow it directly, so keep the longest part that parses.
        candidates = [" ".join(expected_lines[:n]) for n in range(len(expected_lines), 0, -1)]
        expected = next((c for c in candidates if _is_value(c)), "")
        if expected and calls_entry(call, entry):
            examples.append(Example(call, expected))
    return examples


def arrow_examples(task: str, entry: str) -> list[Example]:
    examples = []
    for line in task.splitlines():
        if ">>>" in line or f"{entry}(" not in line:
            continue
        text = line.replace("`", "")
        text = text[text.find(f"{entry}("):]  # drop words before the call ("For example, f(1) -> 2")
        # The separator may also appear inside the call's arguments ("is" in a string): try each one.
        for separator in SEPARATOR.finditer(text):
            call = text[:separator.start()].strip()
            expected = text[separator.end():].strip().rstrip(".").strip()
            if calls_entry(call, entry) and _is_value(expected):
                examples.append(Example(call, expected))
                break
    return examples
