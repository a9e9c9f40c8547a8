"""Pipeline logic with a scripted model (no HTTP): skipping, escalation, rounds, best kept, judge retries,
conflicts, cancel, the override rule, non-Python languages. Code runs for real, in the sandbox."""

from __future__ import annotations

import json

from tests.pipeline.scripted import fenced, system_of

ADD_TASK = "Write `add(a, b)` that returns the sum of a and b.\n>>> add(2, 3)\n5\n"
NO_EXAMPLE_TASK = "Write `add(a, b)` that returns the sum of a and b."  # nothing settles it: the judge is asked
RIGHT = "def add(a, b):\n    return a + b"
WRONG = "def add(a, b):\n    return a - b"
# Crashes while loading: with no example to run, only a greedy draft that fails to load lets the cascade go on.
CRASHES = "import no_such_module_here\n\n\ndef add(a, b):\n    return a + b"
SAME_MODEL = {"reviewer": "s-coder", "judge": "s-coder", "escalation": "s-coder"}
TESTS = "assert add(1, 1) == 2\nassert add(-1, 1) == 0\nassert add(0, 0) == 0\nassert add(10, 5) == 15"


def stage_of(messages) -> str:
    system = system_of(messages)
    for marker, stage in (("unit tests", "tests"), ("code reviewer", "reviewer"), ("You judge", "judge"),
                          ("strongest", "escalation"), ("expert", "coder")):
        if marker in system:
            return stage
    raise AssertionError(f"unknown stage: {system[:80]}")


def script_of(**answers):
    """A script answering each stage from `answers` (a string, or a function of the call number)."""
    counts: dict[str, int] = {}

    def script(model, messages, options, format):
        stage = stage_of(messages)
        counts[stage] = counts.get(stage, 0) + 1
        answer = answers.get(stage, "")
        return answer(counts[stage]) if callable(answer) else answer
    return script


def judge_json(score: int, leans: str = "unsure") -> str:
    return json.dumps({"score": score, "issues": ["looked at it"], "leans": leans})


def run(scripted, task=ADD_TASK, language="python", overrides=None, **kwargs):
    profile = scripted.store.create_profile("P", model_overrides=overrides)
    pipeline_run = scripted.pipeline.start(task, language, profile.id, **kwargs)
    assert pipeline_run.finished.wait(120)
    return pipeline_run.result


def labels(result, status=None) -> list[str]:
    return [s["label"] for s in result["stages"] if status is None or s["status"] == status]


def test_a_greedy_draft_that_passes_every_example_settles_the_run_alone(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(RIGHT)))
    result = run(scripted)
    assert result["outcome"] == "passed" and result["final_code"] == RIGHT
    assert [stage_of(c["messages"]) for c in scripted.gateway.calls] == ["coder"]  # no sampled drafts
    skipped = {s["stage"]: s["note"] for s in result["stages"] if s["status"] == "skipped"}
    assert set(skipped) == {"coder", "tests", "reviewer", "judge"}
    assert all("greedy draft passes all 1" in note for note in skipped.values())


def test_the_coder_stops_reading_at_a_script_tail_and_drops_it(make_scripted):
    tail = "\n\n# Example usage\nprint(add(2, 3))\n" + "print(add(1, 1))\n" * 40
    scripted = make_scripted(script_of(coder=fenced(RIGHT + tail)))
    result = run(scripted)
    assert result["final_code"] == RIGHT and result["outcome"] == "passed"
    coder = next(s for s in result["stages"] if s["label"] == "coder #1")
    assert "read only as far as needed" in coder["note"]
    assert coder["tokens_out"] < len(RIGHT + tail) // 8 // 2  # the scripted model streams 8 characters a token


def test_sampled_drafts_that_pass_the_examples_and_agree_settle_the_run(make_scripted):
    drafts = {1: WRONG, 2: RIGHT, 3: RIGHT}
    scripted = make_scripted(script_of(coder=lambda n: fenced(drafts[n])))
    result = run(scripted, overrides=SAME_MODEL)  # one model for every role: more drafts come before a review
    assert result["outcome"] == "passed" and result["final_code"] == RIGHT
    assert [stage_of(c["messages"]) for c in scripted.gateway.calls] == ["coder"] * 3  # the drafts only
    skipped = {s["stage"]: s["note"] for s in result["stages"] if s["status"] == "skipped"}
    assert set(skipped) == {"tests", "reviewer", "judge"}
    assert all("examples" in note and "2 of 2" in note for note in skipped.values())


def test_agreement_on_generated_inputs_overturns_a_draft_that_passes_the_examples(make_scripted):
    edge_wrong = "def add(a, b):\n    return a + b if b > 0 else a"  # passes add(2, 3), wrong when b <= 0
    drafts = {1: WRONG, 2: edge_wrong, 3: RIGHT, 4: RIGHT}
    scripted = make_scripted(script_of(coder=lambda n: fenced(drafts[n])), drafts=4)
    result = run(scripted, overrides=SAME_MODEL)
    assert result["final_code"] == RIGHT and result["outcome"] == "passed"
    assert len(scripted.gateway.calls) == 4  # settled by the drafts' agreement: no other stage asked
    first_passer = next(c for c in result["candidates"] if c["label"] == "coder #2")
    assert first_passer["examples"] == [1, 1] and first_passer["agreement"][0] == 1


def test_the_test_writer_is_asked_only_when_the_task_gives_no_examples(make_scripted):
    answers = dict(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG), judge=judge_json(10),
                   escalation=fenced(WRONG))
    with_examples = make_scripted(script_of(**answers), max_rounds=1)
    result = run(with_examples)  # unsettled: every draft fails the example
    assert "tests" not in [stage_of(c["messages"]) for c in with_examples.gateway.calls]
    assert "reviewer" in [stage_of(c["messages"]) for c in with_examples.gateway.calls]
    note = next(s["note"] for s in result["stages"] if s["stage"] == "tests")
    assert "examples and their variants" in note
    without = make_scripted(script_of(**{**answers, "coder": fenced(CRASHES)}), max_rounds=1)
    run(without, task=NO_EXAMPLE_TASK)
    assert "tests" in [stage_of(c["messages"]) for c in without.gateway.calls]


def test_answers_after_the_drafts_are_capped_by_the_code_they_start_from(make_scripted):
    changes = "".join(f"- change {n}\n" for n in range(1, 30))
    scripted = make_scripted(script_of(coder=fenced(WRONG), reviewer=fenced(WRONG) + "\n" + changes,
                                       judge=judge_json(10), escalation=fenced(WRONG)), max_rounds=1)
    # On the coder's model: a draft and the escalation's attempt beside the review.
    result = run(scripted, overrides={"reviewer": "s-coder", "escalation": "s-coder"})
    later = [c for c in scripted.gateway.calls if stage_of(c["messages"]) == "reviewer"
             or (stage_of(c["messages"]) == "coder" and c["options"].get("seed", 0) > 1003)]  # and the draft
    assert len(later) == 2
    assert all(c["options"]["num_predict"] == 2 * (len(WRONG) // 3) + 160 for c in later)
    # The escalation's own attempt does not start from that code: the coder's full budget.
    (escalation,) = [c for c in scripted.gateway.calls if stage_of(c["messages"]) == "escalation"]
    assert escalation["options"]["num_predict"] == scripted.gateway.calls[0]["options"]["num_predict"]
    reviewer = next(c for c in result["candidates"] if c["label"] == "reviewer")
    assert reviewer["changes"] == [f"change {n}" for n in range(1, 7)]  # read no further than six changes
    note = next(s["note"] for s in result["stages"] if s["label"] == "reviewer")
    assert "read only as far as needed" in note


def test_the_best_candidate_is_chosen_by_running_it(make_scripted):
    drafts = {1: WRONG, 2: RIGHT, 3: RIGHT}
    scripted = make_scripted(script_of(coder=lambda n: fenced(drafts[n]), tests=fenced(TESTS)))
    result = run(scripted, overrides=SAME_MODEL)  # one model for every role: more drafts come before a review
    assert result["final_code"] == RIGHT and result["final_candidate"] in ("coder #2", "coder #3")
    checks = {c["name"]: c for c in result["verdict"]["checks"]}
    assert checks["examples from the task"]["passed"] == 1
    assert checks["agreement between candidates"]["passed"] == 2
    assert result["outcome"] == "passed" and "reviewer" not in labels(result, "done")


def test_low_confidence_escalates_and_the_round_limit_holds(make_scripted):
    def wrong_in_a_new_way(n):
        return fenced(f"def add(a, b):\n    return a * b + {n}")
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(10), escalation=wrong_in_a_new_way), max_rounds=2)
    result = run(scripted)
    assert [e["round"] for e in result["escalations"]] == [1, 2]
    assert all("below the threshold" in e["reason"] for e in result["escalations"])
    assert labels(result, "done").count("escalation 1") == 1 and "escalation 3" not in labels(result)
    assert result["outcome"] == "failed" and result["verdict"]["confidence"] < 70


def test_an_escalation_that_repeats_an_earlier_candidate_ends_the_rounds(make_scripted):
    other_wrong = "def add(a, b):\n    return a * b"  # round 1 (its own attempt) is new; round 2 repeats the draft
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(10),
                                       escalation=lambda n: fenced(other_wrong if n == 1 else WRONG)), max_rounds=3)
    result = run(scripted)
    assert [e["round"] for e in result["escalations"]] == [1, 2]
    assert "earlier candidate" in result["escalations"][-1]["stopped"]
    assert [stage_of(c["messages"]) for c in scripted.gateway.calls].count("escalation") == 2


def test_escalation_that_fixes_the_code_is_kept(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(20), escalation=fenced(RIGHT)))
    result = run(scripted)
    assert result["final_code"] == RIGHT and result["final_candidate"] == "escalation 1"
    assert result["escalations"][0]["kept"] and len(result["escalations"]) == 1  # fixed: no second round
    assert result["outcome"] == "passed"


def test_a_worse_escalation_never_replaces_a_better_answer(make_scripted):
    half = "def add(a, b):\n    return a + b if a > 5 else 0"  # right for some inputs only
    scripted = make_scripted(script_of(coder=fenced(half), tests=fenced(TESTS), reviewer=fenced(half),
                                       judge=judge_json(5), escalation="```python\ndef add(a, b) return\n```"),
                             drafts=1)
    result = run(scripted)
    assert result["escalations"] and not any(e["kept"] for e in result["escalations"])
    assert result["final_code"] == half


def test_the_judge_is_not_asked_when_the_best_candidate_fails_an_example(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(99), escalation=fenced(WRONG)), max_rounds=1)
    result = run(scripted)  # no score could lift code that fails the task's own example over the threshold
    assert "judge" not in [stage_of(c["messages"]) for c in scripted.gateway.calls]
    judges = [s for s in result["stages"] if s["stage"] == "judge"]
    assert judges and all(s["status"] == "skipped" and "fails 1 of" in s["note"] for s in judges)
    assert result["escalations"] and result["outcome"] == "failed"


def test_the_judge_is_not_asked_when_no_score_could_cross_the_threshold(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(CRASHES), tests=fenced(TESTS), reviewer=fenced(RIGHT),
                                       judge=judge_json(0)), confidence_threshold=50, max_rounds=1)
    result = run(scripted, task=NO_EXAMPLE_TASK)  # no example: never settled by the drafts alone
    assert "judge" not in [stage_of(c["messages"]) for c in scripted.gateway.calls]
    judges = [s for s in result["stages"] if s["stage"] == "judge"]
    assert judges and all(s["status"] == "skipped" and "with any judge score" in s["note"] for s in judges)
    assert result["final_code"] == RIGHT and not result["escalations"] and result["verdict"]["judge_score"] is None
    assert result["outcome"] == "unverified"  # no example from the task ran: its own tests are only indicative


def test_unreadable_judge_json_is_retried_then_the_checks_decide(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(CRASHES), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge="not json at all", escalation=fenced(WRONG)),
                             judge_retries=2, max_rounds=0, confidence_threshold=40)  # a score could cross it
    result = run(scripted, task=NO_EXAMPLE_TASK)
    judge_calls = [c for c in scripted.gateway.calls if stage_of(c["messages"]) == "judge"]
    assert len(judge_calls) == 3  # the first try and two retries, each told what was wrong
    assert "could not be read" in judge_calls[-1]["messages"][-1]["content"]
    assert result["verdict"]["judge_score"] is None and "checks alone" in result["verdict"]["basis"]
    assert [s["status"] for s in result["stages"] if s["stage"] == "judge"] == ["failed"]


def test_a_judge_that_recovers_on_retry_is_used(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(CRASHES), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=lambda n: "{oops" if n == 1 else judge_json(33)), max_rounds=0,
                             confidence_threshold=40)
    result = run(scripted, task=NO_EXAMPLE_TASK)
    assert result["verdict"]["judge_score"] == 33


def test_a_conflict_the_examples_cannot_settle_escalates(make_scripted):
    coder = "def add(a, b):\n    return a + b if b > 0 else a"  # passes the example, differs for b <= 0
    reviewer = "def add(a, b):\n    return a + b"
    # The greedy draft fails the example; of the sampled ones, #2 (reviewed: it wins the tie) and #3 pass it
    # but disagree, so round 2 runs; the draft that joins the review fails it again.
    drafts = {1: WRONG, 2: coder, 3: RIGHT, 4: WRONG}
    # The escalation model's own attempt (round 1, before the drafts) fails the example too.
    escalation = {1: "def add(a, b):\n    return a * b", 2: RIGHT}
    scripted = make_scripted(script_of(coder=lambda n: fenced(drafts[n]), tests=fenced(TESTS),
                                       reviewer=fenced(reviewer), judge=judge_json(95, "reviewer"),
                                       escalation=lambda n: fenced(escalation[n])))
    # The reviewer on the coder's model (drafts come first), the escalation on its own: round 2 waits for the judge.
    result = run(scripted, overrides={"reviewer": "s-coder"})
    assert [e["round"] for e in result["escalations"]] == [1, 2]
    assert "disagree" in result["escalations"][1]["reason"]
    conflicts = result["verdict"]["conflicts"]
    assert conflicts == [] or all(c["open"] for c in conflicts)  # the final verdict stands on its own checks
    assert result["final_code"] in (RIGHT, reviewer)


def test_a_lone_sampled_draft_that_passes_the_examples_settles_the_run(make_scripted):
    drafts = {1: WRONG, 2: RIGHT, 3: WRONG}
    scripted = make_scripted(script_of(coder=lambda n: fenced(drafts[n])))
    result = run(scripted, overrides=SAME_MODEL)
    assert result["final_code"] == RIGHT and result["outcome"] == "passed"
    assert [stage_of(c["messages"]) for c in scripted.gateway.calls] == ["coder"] * 3
    note = next(s["note"] for s in result["stages"] if s["stage"] == "reviewer")
    assert "the only candidate that does" in note


def test_a_conflict_the_examples_settle_is_shown_but_escalates_no_further(make_scripted):
    coder = "def add(a, b):\n    return a * b"  # fails the example
    scripted = make_scripted(script_of(coder=fenced(coder), tests=fenced(TESTS), reviewer=fenced(RIGHT),
                                       judge=judge_json(90), escalation=fenced(coder)), drafts=1)
    result = run(scripted)
    # Round 1 (the escalation model's own attempt, made before the review) is the only one: the conflict is not.
    assert result["final_code"] == RIGHT and [e["round"] for e in result["escalations"]] == [1]
    conflicts = result["verdict"]["conflicts"]
    assert conflicts and all(c["leans"] == "reviewer" and not c["open"] for c in conflicts)


def test_a_stronger_reviewers_version_that_passes_the_examples_settles_it(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(RIGHT),
                                       judge=judge_json(90)), max_rounds=0)
    # The reviewer runs on its own model (s-reviewer), the coder on s-coder; no escalation (else its own
    # attempt would come first).
    result = run(scripted)
    assert result["final_code"] == RIGHT and result["outcome"] == "passed" and not result["escalations"]
    asked = [stage_of(c["messages"]) for c in scripted.gateway.calls]
    # The bigger reviewer comes before more small drafts, and its passing version makes them unneeded.
    assert asked == ["coder", "reviewer"]
    assert any(s["label"] == "more drafts" and s["status"] == "skipped" for s in result["stages"])
    assert any(s["stage"] == "judge" and s["status"] == "skipped" for s in result["stages"])


def test_a_stronger_escalation_model_writes_its_own_version_first(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), escalation=fenced(RIGHT)))
    result = run(scripted)  # the escalation runs on its own model (s-escalation)
    assert [stage_of(c["messages"]) for c in scripted.gateway.calls] == ["coder", "escalation"]
    asked = scripted.gateway.calls[1]
    assert asked["model"] == "s-escalation" and asked["options"]["temperature"] == 0
    assert asked["options"]["num_predict"] == scripted.gateway.calls[0]["options"]["num_predict"]  # not capped
    assert "a - b" not in str(asked["messages"])  # its own attempt at the task, not a repair of the draft
    assert "add(2, 3) should be 5, got -1" in asked["messages"][-1]["content"]  # told what the checks found
    assert result["final_code"] == RIGHT and result["final_candidate"] == "escalation 1"
    [trail] = result["escalations"]
    assert trail["kept"] and not trail["same_as_coder"] and "below the threshold" in trail["reason"]
    skipped = {s["label"] for s in result["stages"] if s["status"] == "skipped"}
    assert {"more drafts", "reviewer", "judge"} <= skipped and result["outcome"] == "passed"


def test_after_a_stronger_models_own_attempt_fails_later_rounds_get_the_findings(make_scripted):
    escalation = {1: "def add(a, b):\n    return a * b", 2: RIGHT}
    scripted = make_scripted(script_of(coder=fenced(WRONG), reviewer=fenced(WRONG), judge=judge_json(10),
                                       escalation=lambda n: fenced(escalation[n])), max_rounds=3)
    result = run(scripted)
    repairs = [c for c in scripted.gateway.calls if stage_of(c["messages"]) == "escalation"]
    assert len(repairs) == 2 and "Best attempt so far" in repairs[1]["messages"][-1]["content"]
    # Round 2 fixed it: no third round although three are allowed.
    assert [e["round"] for e in result["escalations"]] == [1, 2] and result["escalations"][1]["kept"]
    assert result["final_code"] == RIGHT and result["outcome"] == "passed"


def test_cancel_stops_the_run_and_its_model_calls(make_scripted):
    holder = {}

    def script(model, messages, options, format):
        if stage_of(messages) == "tests":
            holder["run"].cancel()  # the user presses Cancel while the test writer answers
        return fenced(TESTS if stage_of(messages) == "tests" else CRASHES)
    scripted = make_scripted(script, drafts=1)
    profile = scripted.store.create_profile("P")
    # No example in the task: the test writer is asked (with examples, their variants are the inputs).
    holder["run"] = pipeline_run = scripted.pipeline.start(NO_EXAMPLE_TASK, "python", profile.id)
    assert pipeline_run.finished.wait(60)
    assert pipeline_run.result["outcome"] == "cancelled"
    assert {stage_of(c["messages"]) for c in scripted.gateway.calls} <= {"coder", "tests"}
    assert scripted.gateway.closed_streams == len(scripted.gateway.calls)  # every stream was closed


def test_stage_models_follow_chat_over_profile_over_global(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(10), escalation=fenced(WRONG)), max_rounds=1, drafts=1,
                             confidence_threshold=38)  # a judge score could cross it: the judge is asked
    profile = scripted.store.create_profile("P", model_overrides=None)
    scripted.store.update_profile(profile.id, model_overrides={"reviewer": "s-other", "judge": "s-other"})
    chat = scripted.store.create_chat(profile.id, model_overrides={"judge": "s-coder"})
    pipeline_run = scripted.pipeline.start(ADD_TASK, "python", profile.id, chat.id)
    assert pipeline_run.finished.wait(60)
    by_stage = {s["stage"]: s for s in pipeline_run.result["stages"] if s["status"] == "done"}
    assert (by_stage["coder"]["model_used"], by_stage["coder"]["level"]) == ("s-coder", "global")
    assert (by_stage["reviewer"]["model_used"], by_stage["reviewer"]["level"]) == ("s-other", "profile")
    assert (by_stage["judge"]["model_used"], by_stage["judge"]["level"]) == ("s-coder", "chat")
    assert (by_stage["escalation"]["model_used"], by_stage["escalation"]["level"]) == ("s-escalation", "global")
    assert {c["model"] for c in scripted.gateway.calls} == {"s-coder", "s-other", "s-escalation"}


def test_the_escalation_trail_says_when_it_is_the_coders_own_model_and_it_gets_one_round(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(10), escalation=lambda n: fenced(f"def add(a, b):\n"
                                                                                         f"    return {n}")),
                             max_rounds=3)
    profile = scripted.store.create_profile("P", model_overrides={"escalation": "s-coder"})
    pipeline_run = scripted.pipeline.start(ADD_TASK, "python", profile.id)
    assert pipeline_run.finished.wait(60)
    assert [e["same_as_coder"] for e in pipeline_run.result["escalations"]] == [True]  # one round, not three
    escalation = next(s for s in pipeline_run.result["stages"] if s["stage"] == "escalation")
    assert "coder's model" in escalation["note"]


def test_on_the_coders_own_model_the_escalation_is_made_beside_the_review(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(WRONG), tests=fenced(TESTS), reviewer=fenced(WRONG),
                                       judge=judge_json(10), escalation=fenced(RIGHT)), max_rounds=3)
    result = run(scripted, overrides=SAME_MODEL)
    asked = [stage_of(c["messages"]) for c in scripted.gateway.calls]
    assert asked.count("escalation") == 1 and "judge" not in asked[:asked.index("escalation")]  # no waiting
    (trail,) = result["escalations"]
    assert trail["same_as_coder"] and trail["kept"] and "beside the review" in trail["note"]
    assert "do not settle" in trail["reason"] and result["final_code"] == RIGHT
    # Its own attempt, sampled, told what failed ("add(2, 3) should be 5, got -1"), not shown the failing code.
    (call,) = [c for c in scripted.gateway.calls if stage_of(c["messages"]) == "escalation"]
    asked = call["messages"][-1]["content"]
    assert "add(2, 3)" in asked and "-1" in asked and WRONG not in asked and call["options"]["temperature"] > 0


def test_other_languages_get_a_syntax_check_or_say_the_models_decided(make_scripted):
    scripted = make_scripted(script_of(coder=fenced("echo hi", "bash"), reviewer=fenced("echo hi", "bash"),
                                       judge=judge_json(90)))
    result = run(scripted, task="Print hi in bash.", language="bash")
    assert result["verdict"]["checks"][0] == {"name": "parses", "passed": 1, "total": 1,
                                              "detail": "syntax checked with bash"}
    assert result["outcome"] == "unverified" and result["verdict"]["judge_score"] == 90
    assert not result["escalations"]  # nothing ran it: the judge's 90 is over the threshold, no escalation
    broken = make_scripted(script_of(coder=fenced("if then fi (", "bash"), reviewer=fenced("if then fi (", "bash"),
                                     judge=judge_json(90), escalation=fenced("if then fi (", "bash")), max_rounds=1)
    result = run(broken, task="Print hi in bash.", language="bash")
    assert result["verdict"]["confidence"] == 0 and result["verdict"]["checks"][0]["passed"] == 0
    assert [e["round"] for e in result["escalations"]] == [1]  # not parsing escalates, whatever the judge says
