"""The pipeline's pure parts: reading tasks and answers, the confidence formula, the judge's JSON, the run
history files, and the Code tab's formatting."""

from __future__ import annotations

import json

import pytest

from workspace.history import RunHistory
from workspace.pipeline.checks import parse_tests
from workspace.pipeline.codetext import complete_block, extract_code, extract_examples
from workspace.pipeline.entry import entry_name
from workspace.pipeline.script_tail import drop_script_tail, stream_reached_tail, tail_wanted
from workspace.pipeline.verdict import Signals, confidence, read_judge
from workspace.ui import code_render

TASK = """Write a function `slug(text)` that lowercases and joins words with dashes.

>>> slug("Hello World")
'hello-world'
Example: slug("A  b") -> 'a-b'
slug("") == ''
Also, slug("X") returns 'x'.
For example slug('Q R') → 'q-r'
"""


def test_examples_are_read_in_every_form_users_write():
    assert entry_name(TASK) == "slug"
    examples = extract_examples(TASK, "slug")
    assert [(e.call, e.expected) for e in examples] == [
        ('slug("Hello World")', "'hello-world'"), ('slug("A  b")', "'a-b'"), ('slug("")', "''"),
        ('slug("X")', "'x'"), ("slug('Q R')", "'q-r'")]


def test_prose_and_other_functions_are_not_examples():
    task = "Write `f(x)`.\nNote that g(1) -> 2 is unrelated.\n>>> f(1)\nthis is not python\n>>> f(\n"
    assert extract_examples(task, "f") == []
    assert extract_examples("no function named here", None) == []


def test_code_is_taken_from_the_right_fence():
    answer = "Sure!\n```python\nimport os\n\ndef slug(t):\n    return t\n```\nUsage:\n```python\nslug('x')\n```"
    assert extract_code(answer).startswith("import os") and complete_block(answer)
    assert extract_code("```js\nlet a = 1\n```", "javascript") == "let a = 1"
    assert extract_code("def f():\n    return 1") == "def f():\n    return 1"  # no fence: the text itself
    assert not complete_block("```python\ndef f():")


SOLUTION = ('import re\n\nLIMIT = 3\n\n\ndef slug(t):\n    """Lowercase.\nfor each word\n"""\n    return helper(t)\n\n'
            '# a helper, after the function\ndef helper(t):\n    for word in t.split():\n        pass\n'
            '    return t.lower()')


def test_a_script_tail_after_the_function_is_dropped_and_nothing_else():
    for tail in ("# Example usage\nprint(slug('A B'))\n", "\nslug('x')\nprint(slug('y'))",
                 "assert slug('A') == 'a'\n", "if __name__ == '__main__':\n    print(slug('Q'))\n",
                 "# Test cases\n\nfor case in ['a']:\n    print(slug(case))\n"):
        assert drop_script_tail(f"{SOLUTION}\n\n{tail}", "slug") == SOLUTION
    assert drop_script_tail(SOLUTION, "slug") == SOLUTION  # its docstring's "for" line and helper stay
    # Code among the tail stays: a helper after a print, a table a loop fills, a constant from the function.
    for code in ("T = {}\nfor i in range(3):\n    T[i] = i", "CACHE = slug('x')\n\ndef g():\n    return CACHE"):
        assert drop_script_tail(f"{SOLUTION}\n\n{code}", "slug") == f"{SOLUTION}\n\n{code}"
    helper_after = drop_script_tail(f"{SOLUTION}\n\nprint(slug('A'))\n\ndef later():\n    return 1", "slug")
    assert "print" not in helper_after and helper_after.endswith("def later():\n    return 1")
    assert drop_script_tail("print('setup')\ndef slug(t):\n    return t", "slug").startswith("print")  # before it
    assert drop_script_tail(f"{SOLUTION}\nprint(", None).endswith("print(")  # no function name: left alone
    assert drop_script_tail(f"{SOLUTION}\n\nprint(slug(", "slug") == SOLUTION  # a stream cut at the tail


def test_a_streamed_answer_stops_at_a_tail_only_once_the_code_before_it_is_complete():
    assert stream_reached_tail(f"```python\n{SOLUTION}\n\nprint(slug('a'))\n", "slug")
    assert not stream_reached_tail(f"```python\n{SOLUTION}\n\nprint(", "slug")  # an unfinished line
    assert not stream_reached_tail(f"```python\n{SOLUTION}\n\nfor", "slug")  # "for" may become "format = …"
    assert not stream_reached_tail('```python\ndef slug(t):\n    """Text\nprint(1)\n', "slug")  # an open docstring
    assert not stream_reached_tail("print(slug(1))\n", "slug")  # no code block opened yet
    # The function calls a helper not written yet: read on, the helper may follow the print.
    assert not stream_reached_tail("```python\ndef slug(t):\n    return fix(t)\n\nprint(slug('a'))\n", "slug")


def test_a_task_that_asks_for_a_script_or_printing_keeps_its_tail():
    assert tail_wanted("Write a script that reads stdin") and tail_wanted("Add a `__main__` block")
    assert tail_wanted("print the table") and not tail_wanted(TASK)


def test_model_written_asserts_give_tests_and_inputs():
    text = "```python\ndef slug(t): ...\nassert slug('A') == 'a'\nassert slug('A') == 'a'\nassert other(1) == 2\n" \
           "assert slug(1, 2) == 'x'\nassert slug(\n```"
    probes = parse_tests(text, "slug")
    assert probes.tests == ("assert slug('A') == 'a'", "assert slug(1, 2) == 'x'")
    assert probes.inputs == ("slug('A')", "slug(1, 2)")


def test_confidence_rests_on_the_checks_with_hard_rules():
    full = Signals(parses=True, examples=(2, 2), agreement=(3, 3), tests=(8, 8), judge=100)
    assert confidence(full) == 88  # the prior keeps even a perfect run short of certainty
    # Resting on the examples alone it reads what the bench measured for such drafts (78 % right).
    assert confidence(Signals(parses=True, examples=(1, 1))) == 79
    assert confidence(Signals(parses=False, examples=(2, 2), judge=100)) == 0
    assert confidence(Signals(parses=True, examples=(1, 2), agreement=(3, 3), judge=100)) == 40
    only_examples = confidence(Signals(parses=True, examples=(2, 2)))
    assert only_examples > confidence(Signals(parses=True, examples=(2, 2), agreement=(1, 3)))
    assert confidence(Signals(parses=True, judge=100)) < only_examples  # the model's word counts for less
    assert confidence(Signals(parses=True)) == 50


@pytest.mark.parametrize("text, problem", [
    ("not json", "not JSON"), ('{"score": 300, "issues": [], "leans": "coder"}', "score"),
    ('{"score": 50, "issues": [], "leans": "both"}', "leans"), ("[1, 2]", "answer"),
])
def test_judge_answers_that_do_not_fit_say_why(text, problem):
    with pytest.raises(ValueError, match=problem):
        read_judge(text)


def test_judge_answer_is_read_and_cleaned():
    answer = read_judge('{"score": 70, "issues": ["  off by one ", ""], "leans": "reviewer"}')
    assert (answer.score, answer.issues, answer.leans) == (70, ["off by one"], "reviewer")


def read_all(logs_dir) -> list[dict]:
    return [json.loads(line) for path in sorted(logs_dir.glob("runs*.jsonl"))
            for line in path.read_text().splitlines()]


def test_history_rotates_keeps_a_bounded_number_of_files_and_loses_no_line(tmp_path):
    history = RunHistory(tmp_path, rotation="2 KB", retention=50)
    for number in range(40):
        history.write({"run_id": f"r{number}", "kind": "pipeline", "outcome": "passed", "pad": "x" * 200})
    history.close()
    assert len(list(tmp_path.glob("runs*.jsonl"))) > 1
    assert sorted(r["run_id"] for r in read_all(tmp_path)) == sorted(f"r{n}" for n in range(40))
    kept = RunHistory(tmp_path / "few", rotation="1 KB", retention=2)
    for number in range(40):
        kept.write({"run_id": f"r{number}", "pad": "x" * 200})
    kept.close()
    assert len(list((tmp_path / "few").glob("runs*.jsonl"))) <= 3  # the live file and two rotated ones


def test_a_run_the_app_stopped_in_is_recorded_at_the_next_start(tmp_path):
    history = RunHistory(tmp_path)
    history.begin("abc", {"kind": "pipeline", "task": "write x", "profile_id": "p"})
    history.begin("done", {"kind": "pipeline"})
    history.end("done", {"run_id": "done", "outcome": "passed"})
    history.close()  # the process dies here with "abc" still running
    again = RunHistory(tmp_path)
    assert again.recover() == 1 and again.recover() == 0
    again.close()
    records = {r["run_id"]: r for r in read_all(tmp_path)}
    assert records["abc"]["outcome"] == "error" and records["abc"]["task"] == "write x"
    assert records["done"]["outcome"] == "passed"


def test_the_verdict_card_escapes_what_models_and_tasks_say():
    result = {"outcome": "failed", "threshold": 70, "error": None, "escalations": [],
              "isolation": {"kind": "bubblewrap", "guarantees": ["no network"]},
              "verdict": {"confidence": 40, "judge_score": 55, "basis": "checks", "formula": "f",
                          "checks": [{"name": "examples", "passed": 0, "total": 1, "detail": "<img src=x> | y"}],
                          "conflicts": [{"input": "f(1)", "coder": "1", "reviewer": "2", "leans": "reviewer"}],
                          "issues": ["<script>alert(1)</script>"]}}
    card = code_render.verdict_card(result)
    assert "<img" not in card and "<script>" not in card and "\\|" in card
    assert "Confidence 40/100" in card and "no network" in card and "| `f(1)` |" in card
    assert "none needed" in code_render.escalation_trail(result)


def test_variant_inputs_change_one_literal_argument_edge_cases_first():
    from workspace.pipeline.codetext import Example
    from workspace.pipeline.inputs import variant_inputs
    examples = [Example('pad("ab", 3)', "'ab '"), Example("total([1, 2])", "3")]
    found = variant_inputs(examples, limit=50)
    assert found[:2] == ("pad('', 3)", "total([])")  # one edge from each example before the next of either
    assert "pad('ab', 0)" in found and "total([1])" in found and "total([2, 1])" in found
    assert not {e.call for e in examples} & set(found) and len(found) == len(set(found))
    assert all(call.startswith(("pad(", "total(")) for call in found)
    assert variant_inputs([Example("f(x)", "1"), Example("f(True)", "1")]) == ("f(False)",)  # names stay alone
    assert len(variant_inputs(examples)) <= 10


def test_candidates_are_compared_only_on_inputs_most_of_them_accept():
    from workspace.pipeline.checks import CandidateCheck, clusters, comparable_inputs

    def ran(*outputs):
        return CandidateCheck(parses=True, executed=True, outputs=outputs)
    checks = [ran("1", "raised ValueError", "5"), ran("1", "0", "5"), ran("1", "raised IndexError", "6")]
    assert comparable_inputs(checks) == [0, 2]  # most reject input 1: how each fails there says nothing
    assert clusters(checks) == [[0, 1], [2]]
    assert clusters([ran("1"), CandidateCheck(parses=False)]) == [[0]]  # what did not run never votes
