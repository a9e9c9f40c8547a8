"""Which function a task means (the Code tab on tasks as people type them), the examples running against a draft
that names its function otherwise, and an outcome that says `unverified` when nothing with an expected value ran."""

from __future__ import annotations

import pytest

from tests.pipeline.scripted import fenced
from tests.pipeline.test_pipeline_logic import RIGHT, run, script_of
from workspace.pipeline.checks import CandidateCheck, Probes, check_python
from workspace.pipeline.codetext import extract_examples
from workspace.pipeline.entry import find_entry, from_code
from workspace.pipeline.outcome import outcome_of
from workspace.pipeline.sandbox import Sandbox

PALINDROME = ("Write is_palindrome(s) that ignores case and non-letters.\n"
              ">>> is_palindrome('A man, a plan, a canal: Panama')\nTrue\n>>> is_palindrome('abc')\nFalse\n")


@pytest.mark.parametrize("task, name", [
    (PALINDROME, "is_palindrome"),  # the issue's own task: the examples call it
    ("Write slugify(text) that lowercases and joins words with dashes.\n>>> slugify(\"Hello World\")\n"
     "'hello-world'", "slugify"),  # the README's curl example
    ("Write add(a, b).\n>>> add(2, 3)\n5", "add"),  # the README's gradio_client example
    ("Write add(a, b) that sums two numbers.", "add"),  # name(args) in prose, no example
    ("Write a function called count_vowels that counts vowels.", "count_vowels"),
    ("Write a function named `to_snake` for identifiers.", "to_snake"),
    ("Implement this:\n\ndef merge(a: list, b: list) -> list:\n    ...\n", "merge"),
    ("Write `chunk(xs, n)` that splits a list.", "chunk"),
    ("Make mean(xs) work. mean([1, 2, 3]) == 2.0", "mean"),
    ("Use sorted() and len() to write median(values) -> float.", "median"),  # builtins are not the entry
    ("Write a helper(x) and a main function.\n>>> total([1, 2])\n3", "total"),  # the examples' name wins
])
def test_the_function_is_found_the_way_a_reader_finds_it(task, name):
    assert find_entry(task).name == name


def test_a_task_naming_no_function_has_none_and_the_drafts_single_function_is_taken():
    assert find_entry("Reverse the words of a sentence (keep punctuation).") is None
    assert from_code("import re\n\ndef helper(x):\n    return x\n\ndef main(s):\n    return helper(s)") == "main"
    assert from_code("def a():\n    pass\n\ndef b():\n    pass") is None  # two roots: no guess
    assert from_code("class A:\n    def f(self):\n        pass") is None


def test_the_issue_task_now_has_its_examples():
    examples = extract_examples(PALINDROME, find_entry(PALINDROME).name)
    assert [e.expected for e in examples] == ["True", "False"]


def test_the_examples_run_against_a_draft_that_names_its_function_otherwise():
    sandbox = Sandbox()
    examples = tuple(extract_examples(PALINDROME, "is_palindrome"))
    code = "def check_palindrome(s):\n    t = [c.lower() for c in s if c.isalpha()]\n    return t == t[::-1]"
    check = check_python(sandbox, code, Probes(examples=examples, entry="is_palindrome"))
    assert check.passes_all_examples() and check.ran_as == "check_palindrome"
    defined = check_python(sandbox, code.replace("check_", "is_"), Probes(examples=examples, entry="is_palindrome"))
    assert defined.passes_all_examples() and defined.ran_as is None


def test_the_outcome_says_failed_only_when_a_check_the_code_should_pass_did_not():
    ran = dict(parses=True, executed=True)
    passing = [{"call": "f(1)", "expected": "1", "passed": True, "got": "1"}]
    failing = [{"call": "f(1)", "expected": "1", "passed": False, "got": "2"}]
    assert outcome_of(CandidateCheck(**ran), 50, 70, "no example")[0] == "unverified"
    assert outcome_of(CandidateCheck(**ran, examples=passing), 79, 70, "")[0] == "passed"
    assert outcome_of(CandidateCheck(**ran, examples=passing), 60, 70, "")[0] == "unverified"
    assert outcome_of(CandidateCheck(**ran, examples=failing), 40, 70, "")[0] == "failed"
    assert outcome_of(CandidateCheck(**ran, error="raised ImportError: x"), 0, 70, "")[0] == "failed"
    assert outcome_of(CandidateCheck(parses=False, error="line 1"), 0, 70, "")[0] == "failed"
    assert outcome_of(CandidateCheck(parses=True, note="no gcc"), 50, 70, "")[0] == "unverified"


def test_a_prose_task_runs_its_examples_and_the_trail_names_the_function(make_scripted):
    task = "Write add(a, b) that returns the sum.\n>>> add(2, 3)\n5\n"
    scripted = make_scripted(script_of(coder=fenced(RIGHT)))
    result = run(scripted, task=task)
    examples = next(c for c in result["verdict"]["checks"] if c["name"] == "examples from the task")
    assert (examples["passed"], examples["total"]) == (1, 1) and result["outcome"] == "passed"
    assert result["entry"] == "add" and "add()" in result["entry_how"]


def test_a_task_with_nothing_to_run_keeps_the_greedy_draft_and_says_unverified(make_scripted):
    task = "Write a function that returns the sum of two numbers."  # no name, no example
    scripted = make_scripted(script_of(coder=fenced(RIGHT)))
    result = run(scripted, task=task)
    assert len(scripted.gateway.calls) == 1 and result["final_candidate"] == "coder #1"
    assert result["outcome"] == "unverified" and not result["escalations"]
    assert result["entry"] == "add" and "greedy draft defines" in result["entry_how"]
    reasons = " ".join(s["note"] for s in result["stages"] if s["status"] == "skipped")
    assert "0 of the examples" not in reasons + result["outcome_reason"]
