"""Inputs to tell candidates apart, made from the task's own examples at no model cost.

Agreement between drafts needs inputs that all of them are run on (AlphaCode, SRank). A model can be
asked for them (the test writer), but that costs a generation; the examples the task gives already
show the argument types, and the edge cases that catch wrong drafts are usually the same few: empty,
one element, zero, negative, repeated, reversed, case. Each variant changes one argument of one example
and keeps the others, so the call stays within what the task describes. Only literal arguments are
varied (read with `ast.literal_eval`); a call holding anything else is left alone.
"""

from __future__ import annotations

import ast
from typing import Any, Callable, Iterable

from workspace.pipeline.codetext import Example

MAX_INPUTS = 10
MAX_REPR = 300  # a variant's source longer than this is not worth a sandbox's time


def variant_inputs(examples: Iterable[Example], limit: int = MAX_INPUTS) -> tuple[str, ...]:
    """Calls that differ from the examples' in one argument each, edge cases first, deduplicated."""
    seen = {example.call for example in examples}
    rounds = [_variants(example.call) for example in examples]
    found: list[str] = []
    # Take the n-th variant of every example before the (n+1)-th of any, so each example contributes its edges.
    for position in range(max((len(r) for r in rounds), default=0)):
        for variants in rounds:
            if position < len(variants) and variants[position] not in seen:
                seen.add(variants[position])
                found.append(variants[position])
    return tuple(found[:limit])


def _variants(call: str) -> list[str]:
    try:
        node = ast.parse(call, mode="eval").body
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
    except (SyntaxError, ValueError, TypeError, AttributeError, MemoryError, RecursionError):
        return []
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name) or len(kwargs) != len(node.keywords):
        return []
    out = []
    for index, value in enumerate(args):
        for changed in _edges(value):
            out.append(_call(node.func.id, args[:index] + [changed] + args[index + 1:], kwargs))
    return [text for text in out if len(text) <= MAX_REPR]


def _call(name: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _edges(value: Any) -> list[Any]:
    """Edge cases of the same type as `value`, the likeliest to split right from wrong first."""
    for kind, make in EDGES:
        if type(value) is kind:  # exact type: bool is not an int here
            return [v for v in make(value) if v != value or type(v) is not type(value)]
    return []


def _int_edges(n: int) -> list[int]:
    return [0, 1, -n if n else -1, n + 1, 2 * n if abs(n) < 10**6 else n - 1]


def _float_edges(x: float) -> list[float]:
    return [0.0, -x if x else -1.5, x / 2, x + 0.5]


def _str_edges(s: str) -> list[str]:
    return ["", s[:1], s + s, s.upper(), s[::-1], " " + s + " "]


def _list_edges(items: list) -> list[list]:
    return [[], items[:1], items[::-1], items + items[:1], sorted(items, key=repr)]


def _tuple_edges(items: tuple) -> list[tuple]:
    return [tuple(v) for v in _list_edges(list(items))]


def _dict_edges(mapping: dict) -> list[dict]:
    first = dict(list(mapping.items())[:1])
    return [{}, first]


def _bool_edges(flag: bool) -> list[bool]:
    return [not flag]


EDGES: list[tuple[type, Callable[[Any], list[Any]]]] = [
    (bool, _bool_edges), (int, _int_edges), (float, _float_edges), (str, _str_edges),
    (list, _list_edges), (tuple, _tuple_edges), (dict, _dict_edges),
]
