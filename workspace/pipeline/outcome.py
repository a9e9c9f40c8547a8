"""A run's outcome and why, from what the checks found about its final code.

`failed` means a check the code should pass did not: it does not parse, crashes or never finishes, or fails an
example the task itself gives. `passed` needs the task's own examples to pass and the confidence to reach the
threshold. Everything else is `unverified`: nothing with an expected value ran (no examples, another language),
or the examples pass but the other signals keep the confidence below the threshold. On the bench's 20 tasks
typed without a `def` line every run read `failed` while 14 final answers were right: "nothing ran" is not
"it is wrong".
"""

from __future__ import annotations

from workspace.pipeline.checks import CandidateCheck


def outcome_of(check: CandidateCheck, confidence: int, threshold: int, nothing_ran: str) -> tuple[str, str]:
    """(passed | unverified | failed, the reason in words). `nothing_ran` says why no example ran, if none did."""
    failure = _failed_check(check)
    if failure:
        return "failed", failure
    if not check.executed:
        return "unverified", check.note or "nothing could run this code here: the verdict rests on the models"
    if not check.examples:
        return "unverified", f"{nothing_ran}: only the pipeline's own checks and the models' word remain"
    total = len(check.examples)
    if confidence >= threshold:
        return "passed", f"passes all {total} of the task's examples; confidence {confidence} ≥ {threshold}"
    return "unverified", (f"passes all {total} of the task's examples, but the other signals keep the confidence "
                          f"at {confidence}, below the threshold {threshold}")


def _failed_check(check: CandidateCheck) -> str:
    if not check.parses:
        return f"the code does not parse ({check.error})" if check.error else "the code does not parse"
    if check.error:
        return check.error
    if check.examples and not check.passes_all_examples():
        return f"fails {len(check.examples) - check.examples_passed} of the task's {len(check.examples)} examples"
    if not check.terminated:
        return "a call ran past its time budget"
    return ""
