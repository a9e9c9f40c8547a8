"""The script tail of a coder's answer: usage prints, asserts and a `__main__` block after the function.

The coder's prompt asks for none; the starter model writes one in about a quarter of its answers, and every
token of it costs time. So the stream is read only until a tail begins, once the code before it is complete
(it parses and uses no name it has not defined: a helper may still follow), and the tail is dropped statement
by statement: helpers, constants and a loop that fills a table stay. A task that asks for a script, a main
block or printing keeps its tail.
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import Iterator

STOP_LINE = re.compile(r"print\(|assert\b|if\s+__name__\b")
TAIL_WANTED = re.compile(r"__main__|\bprint|\bscript\b|\bcommand[- ]line\b|\bstdin\b|\busage\b|\bmain\(", re.I)
BUILTINS = frozenset(dir(builtins))


def tail_wanted(task: str) -> bool:
    """The task asks for what a tail holds (a script, a main block, printing): keep it."""
    return bool(TAIL_WANTED.search(task or ""))


def stream_reached_tail(text: str, entry: str) -> bool:
    """True once the first code block of a streamed answer has a finished top-level print, assert or `__main__`
    line after `entry`'s def, and the code before it parses and defines every name it uses."""
    start = text.find("```")
    newline = text.find("\n", start) if start >= 0 else -1
    if newline < 0:
        return False
    code = text[newline + 1:text.rfind("\n") + 1]  # finished lines only: "for" may become "format = …"
    for cut in _stop_lines(code, entry):
        tree = _parse(code[:cut])
        if tree is not None:
            return not _undefined_names(tree)
    return False


def drop_script_tail(code: str, entry: str | None) -> str:
    """`code` without its tail statements (see `_is_tail`); unchanged when it has none or without `entry`. Code
    cut off at a tail line (the stream stopped there) is first cut before that line."""
    if not entry:
        return code
    tree = _parse(code)
    if tree is None:
        cut = next((c for c in _stop_lines(code, entry) if _parse(code[:c]) is not None), None)
        if cut is None:
            return code
        code = code[:cut].rstrip()
        tree = _parse(code)
    lines = code.splitlines()
    drop = _tail_lines(tree, entry, lines)
    if not drop:
        return code
    kept = "\n".join(line for number, line in enumerate(lines) if number not in drop)
    kept = re.sub(r"\n{4,}", "\n\n\n", kept).rstrip()  # at most the two blank lines between definitions
    return kept if _parse(kept) is not None else code


def _tail_lines(tree: ast.Module, entry: str, lines: list[str]) -> set[int]:
    """0-based numbers of the lines of the tail statements after `entry`'s def, with the comments just above."""
    defs = [i for i, node in enumerate(tree.body)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry]
    drop: set[int] = set()
    for node in tree.body[defs[0] + 1:] if defs else []:
        if not _is_tail(node, entry):
            continue
        first = node.lineno - 1
        while first > 0 and (not lines[first - 1].strip() or lines[first - 1].startswith("#")):
            first -= 1  # its heading comments ("# Example usage") and the blank lines around them
        drop.update(range(first, node.end_lineno))
    return drop


def _is_tail(node: ast.stmt, entry: str) -> bool:
    """A print or a call of `entry` as a statement, an assert, the `__main__` guard, or a loop doing only those."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return isinstance(node.value.func, ast.Name) and node.value.func.id in ("print", entry)
    if isinstance(node, ast.If):
        return "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
    if isinstance(node, (ast.For, ast.While)):
        return all(_is_tail(child, entry) for child in node.body)
    return False


def _stop_lines(code: str, entry: str) -> Iterator[int]:
    """Offsets of the top-level print, assert and `__main__` lines after `entry`'s def."""
    seen_entry, offset = False, 0
    for line in code.splitlines(keepends=True):
        if re.match(rf"(?:async\s+)?def\s+{re.escape(entry)}\s*\(", line):
            seen_entry = True
        elif seen_entry and STOP_LINE.match(line):
            yield offset
        offset += len(line)


def _undefined_names(tree: ast.Module) -> set[str]:
    """Names the code reads but never binds (nor are builtins): a helper it has yet to write."""
    read, bound = set(), set(BUILTINS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return read - bound


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None
