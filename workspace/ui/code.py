"""The Code tab: a task in, the pipeline's stages streaming out, the final code, the verdict card, the trail.

The run itself lives server-side (`services.pipeline`); these callbacks start it, follow it and
cancel it. A reload or another device re-attaches to the browser's last run (or the newest one).
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr

from workspace.pipeline.checks import LANGUAGES
from workspace.pipeline.service import RunNotFound
from workspace.services import Services
from workspace.ui import code_render, render
from workspace.ui.errors import shown_errors
from workspace.ui.sessions import SessionMemory

YIELD_EVERY_S = 0.25  # stream deltas to the page at most this often
# Pipeline languages → gr.Code's highlighters (None: plain text).
HIGHLIGHT = {"python": "python", "javascript": "javascript", "typescript": "typescript", "c": "c", "cpp": "cpp",
             "bash": "shell"}
EXPECTED_STAGES = 8  # for the progress bar: drafts, tests, reviewer, judge, a round of escalation


def build(services: Services) -> "_CodeActions":
    actions = _CodeActions(services)
    run_id = gr.BrowserState("", storage_key="workspace-last-run")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            task = gr.Textbox(label="Task", lines=8, max_lines=30, elem_id="code-task",
                              placeholder="Describe the function you want, ideally with an example:\n"
                                          ">>> slugify('Hello World')\n'hello-world'")
            with gr.Row():
                language = gr.Dropdown(label="Language", choices=list(LANGUAGES), value="python")
                profile = gr.Dropdown(label="Profile", choices=[], interactive=True, elem_id="code-profile")
                save_to = gr.Dropdown(label="Save into chat (optional)", choices=[], elem_id="code-save-to")
            with gr.Row():
                run = gr.Button("Run", variant="primary", elem_id="code-run")
                cancel = gr.Button("Cancel", elem_id="code-cancel")
            models = gr.Markdown(elem_id="code-models")
            stages = gr.Markdown(code_render.stage_list([]), elem_id="code-stages")
        with gr.Column(scale=3, min_width=320):
            final = gr.Code(label="Final code", language="python", interactive=False, elem_id="code-final",
                            buttons=["copy", "download"])
            verdict = gr.Markdown(elem_id="verdict-card")
            trail = gr.Markdown(elem_id="escalation-trail")
            with gr.Accordion("Stage outputs", open=True):
                outputs = gr.Markdown(code_render.stage_outputs({}), elem_id="stage-outputs")
    shown = [stages, outputs, final, verdict, trail]
    private = {"api_visibility": "private"}
    run.click(actions.start, [task, language, profile, save_to], [run_id], **private).then(
        actions.follow, [run_id], shown, concurrency_limit=None, **private)
    cancel.click(actions.cancel, [run_id], None, **private)
    profile.input(actions.open_profile, [profile], [save_to, models], **private)
    actions.on_page_load = dict(fn=actions.restore, inputs=[run_id], outputs=[profile, save_to, models, run_id],
                                **private), dict(fn=actions.follow, inputs=[run_id], outputs=shown,
                                                 concurrency_limit=None, **private)
    return actions


class _CodeActions:
    def __init__(self, services: Services):
        self.services, self.store = services, services.store
        self.on_page_load: tuple[dict, dict] = ({}, {})
        # The run each browser session follows now: the page load's follower of an older run stands down
        # once Run started a new one (it may be delivered late and would show the old verdict).
        self._followed = SessionMemory()

    def wire_page_load(self, demo: gr.Blocks) -> None:
        """Fill the profile list and re-attach to the browser's last run (or the newest), following it."""
        restore, follow = self.on_page_load
        demo.load(**restore).then(**follow)

    def restore(self, remembered: str | None, request: gr.Request = None):
        profiles = self.services.profiles()
        run = self._known(remembered) or self.services.pipeline.latest()
        profile_id = run.profile_id if run and run.profile_id in {p.id for p in profiles} else profiles[0].id
        self._followed.remember(request, run.run_id if run else "")
        return (gr.update(choices=render.profile_choices(profiles), value=profile_id), *self._profile(profile_id),
                run.run_id if run else "")

    @shown_errors
    def open_profile(self, profile_id: str):
        return self._profile(profile_id)

    @shown_errors
    def start(self, task: str, language: str, profile_id: str, chat_id: str | None,
              request: gr.Request = None) -> str:
        run = self.services.pipeline.start(task, language, profile_id or None, chat_id or None)
        self._followed.remember(request, run.run_id)
        return run.run_id

    def cancel(self, run_id: str | None) -> None:
        run = self._known(run_id)
        if run is None or not run.cancel():
            gr.Info("No run is going on.")

    @shown_errors
    def follow(self, run_id: str | None, progress: gr.Progress = gr.Progress(), request: gr.Request = None):
        run = self._known(run_id)
        if run is None:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        for update in self._updates(run, progress):
            if self._followed.shown(request, run.run_id) != run.run_id:
                yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()  # this page follows a newer run now
                return
            yield update

    def _updates(self, run: Any, progress: gr.Progress):
        """The page's updates for one run: the stages and outputs as they stream, then the final result."""
        stages: dict[str, dict] = {}
        outputs: dict[str, str] = {}
        last_yield, running = 0.0, None
        for event in run.follow():
            if event["event"] == "done":
                yield self._final(event["result"])
                return
            if event["event"] == "stage":
                stages[event["label"]] = event
                running = event["label"] if event["status"] == "running" else running
                progress(min(0.95, sum(s["status"] != "running" for s in stages.values()) / EXPECTED_STAGES),
                         desc=f"{event['label']}: {event['status']}")
            else:
                outputs[event["label"]] = outputs.get(event["label"], "") + event["text"]
            if event["event"] == "stage" or time.monotonic() - last_yield >= YIELD_EVERY_S:
                # Every update blanks the final code, verdict and trail: another run's result (a follower that
                # Gradio delivers late) must never stay beside this run.
                last_yield = time.monotonic()
                yield (code_render.stage_list(list(stages.values())), code_render.stage_outputs(outputs, running),
                       "", "", "")

    def _final(self, result: dict) -> tuple:
        outputs = {s["label"]: s["output"] for s in result["stages"] if s.get("output")}
        code = gr.update(value=result["final_code"], language=HIGHLIGHT.get(result["language"]))
        return (code_render.stage_list(result["stages"]), code_render.stage_outputs(outputs), code,
                code_render.verdict_card(result), code_render.escalation_trail(result))

    def _known(self, run_id: str | None) -> Any:
        if not run_id:
            return None
        try:
            return self.services.pipeline.get(run_id)
        except RunNotFound:  # forgotten since (the app restarted): nothing to re-attach to
            return None

    def _profile(self, profile_id: str) -> tuple:
        chats = self.store.list_chats(profile_id, kind="chat")
        choices = [("(don't save)", "")] + render.chat_choices(chats)
        return (gr.update(choices=choices, value=""),
                render.models_table(self.services.pipeline.models(profile_id).all()))
