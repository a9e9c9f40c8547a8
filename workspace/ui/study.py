"""The Study tab: a topic and a level in, a long-form explanation streamed out; follow-ups continue the session.

Sessions are chats of kind "study" in the profile (they also show in the Chat tab's list, marked).
The answer runs server-side like any chat turn; these callbacks only start and follow it.
"""

from __future__ import annotations

import gradio as gr

from workspace.services import Services
from workspace.study import LEVELS
from workspace.ui import render
from workspace.ui.errors import shown_errors

NEW_SESSION = ("New session", "")


def build(services: Services) -> "_StudyActions":
    actions = _StudyActions(services)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=240):
            profile = gr.Dropdown(label="Profile", choices=[], interactive=True, elem_id="study-profile")
            session = gr.Dropdown(label="Session", choices=[NEW_SESSION], value="", elem_id="study-session")
            level = gr.Radio(label="Level", choices=list(LEVELS), value="intermediate", elem_id="study-level")
        with gr.Column(scale=4):
            # autoscroll=False: the page's script follows the end while the reader is there (ui/shell.py).
            conversation = gr.Chatbot(label="Explanation", height=560, buttons=["copy", "copy_all"],
                                      elem_id="study-conversation", feedback_options=None, autoscroll=False,
                                      placeholder="Ask about a topic: a long-form explanation with examples and a "
                                                  "short quiz comes back.")
            question = gr.Textbox(placeholder="A topic or a question (Enter sends)", lines=1, max_lines=8,
                                  show_label=False, elem_id="study-question")
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="study-ask")
                stop = gr.Button("Stop", elem_id="study-stop")
    private = {"api_visibility": "private"}
    start = dict(fn=actions.ask, inputs=[profile, session, question, level],
                 outputs=[question, session, conversation], **private)
    follow = dict(fn=actions.follow, inputs=[session], outputs=[conversation], concurrency_limit=None, **private)
    ask.click(**start).then(**follow)
    question.submit(**start).then(**follow)
    stop.click(actions.stop, [session], None, **private)
    profile.input(actions.open_profile, [profile], [session, conversation], **private)
    session.input(actions.open_session, [session], [conversation], **private).then(**follow)
    actions.on_page_load = dict(fn=actions.restore, inputs=None, outputs=[profile, session, conversation], **private)
    return actions


class _StudyActions:
    def __init__(self, services: Services):
        self.services, self.store = services, services.store
        self.on_page_load: dict = {}

    def wire_page_load(self, demo: gr.Blocks) -> None:
        demo.load(**self.on_page_load)

    def restore(self):
        profiles = self.services.profiles()
        return (gr.update(choices=render.profile_choices(profiles), value=profiles[0].id),
                *self.open_profile(profiles[0].id))

    @shown_errors
    def open_profile(self, profile_id: str):
        return self._sessions(profile_id, ""), []

    @shown_errors
    def open_session(self, chat_id: str | None):
        return self._history(chat_id)

    @shown_errors
    def ask(self, profile_id: str, chat_id: str | None, question: str, level: str):
        chat_id, _ = self.services.study.ask(question, level, profile_id or None, chat_id or None)
        return "", self._sessions(profile_id, chat_id), self._history(chat_id)

    def stop(self, chat_id: str | None) -> None:
        if not chat_id or not self.services.chat.stop(chat_id):
            gr.Info("Nothing is being written in this session.")

    @shown_errors
    def follow(self, chat_id: str | None):
        if not chat_id:
            yield gr.skip()
            return
        if self.services.chat.running(chat_id) is None:
            # Ended before this follow began (a short answer, a model that failed at once): what `ask` showed
            # was the "…" of the answer about to be written, so show it as stored.
            yield self._history(chat_id)
            return
        messages = self.services.chat.messages(chat_id)
        history = render.chatbot_messages(messages)
        begun = False
        for snapshot in self.services.chat.follow(chat_id):
            if snapshot.text and not begun:  # the model has begun: every note of the answer is stored
                messages, begun = self.services.chat.messages(chat_id), True
            yield render.with_live_answer(history, snapshot.text, snapshot.status, snapshot.error, messages)
        yield self._history(chat_id)

    def _sessions(self, profile_id: str, value: str) -> dict:
        sessions = self.services.study.sessions(profile_id) if profile_id else []
        return gr.update(choices=[NEW_SESSION, *render.chat_choices(sessions)], value=value)

    def _history(self, chat_id: str | None) -> list[dict]:
        return render.chatbot_messages(self.services.chat.messages(chat_id)) if chat_id else []
