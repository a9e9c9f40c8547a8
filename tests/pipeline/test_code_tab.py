"""The Code tab's callbacks as plain functions on a scripted pipeline: a follower of an older run stands down
once the same browser session started a new one (a late page-load follower must not paint its old verdict)."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from tests.pipeline.scripted import fenced
from tests.pipeline.test_pipeline_logic import ADD_TASK, RIGHT, script_of
from workspace.ui import code as code_ui


def code_actions(scripted):
    services = SimpleNamespace(store=scripted.store, pipeline=scripted.pipeline,
                               profiles=scripted.store.list_profiles)
    with gr.Blocks():
        return code_ui.build(services)


def finished_run(scripted, profile_id):
    run = scripted.pipeline.start(ADD_TASK, "python", profile_id)
    assert run.finished.wait(120)
    return run


def test_a_follower_of_an_older_run_stands_down_once_the_session_started_a_new_one(make_scripted):
    scripted = make_scripted(script_of(coder=fenced(RIGHT)))
    actions = code_actions(scripted)
    profile = scripted.store.create_profile("P")
    me, other = SimpleNamespace(session_hash="me"), SimpleNamespace(session_hash="other")
    old = finished_run(scripted, profile.id)
    assert actions.restore("", me)[-1] == old.run_id and actions.restore("", other)[-1] == old.run_id

    new_run_id = actions.start(ADD_TASK, "python", profile.id, "", me)
    assert scripted.pipeline.get(new_run_id).finished.wait(120)

    late = list(actions.follow(old.run_id, request=me))  # the page load's follower, delivered after Run
    assert all(isinstance(u, dict) and u.get("__type__") == "update" and len(u) == 1 for u in sum(late, ()))
    still_on_it = list(actions.follow(old.run_id, request=other))  # a session that did not move on
    assert "Confidence" in still_on_it[-1][3]
    current = list(actions.follow(new_run_id, request=me))
    assert "Confidence" in current[-1][3]
    assert len(current) > 1 and all(update[2:] == ("", "", "") for update in current[:-1])  # no late result stays
