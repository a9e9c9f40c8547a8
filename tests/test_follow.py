"""Whoever starts an answer follows that answer: a late follower never streams a newer turn of the chat.

The interleaving (our turn ends and another client starts the next one before we begin to follow) is
made certain by doing it inside `send`, between starting our turn and returning it.
"""

from __future__ import annotations

import json

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from workspace import api
from workspace.ui import chat as chat_ui

LIMIT_S = 120


@pytest.fixture
def overtaken(services, monkeypatch):
    """`send` returns our turn only after it ended and a second client's turn started in the same chat."""
    real_send, others = services.chat.send, []

    def send_then_overtaken(chat_id, text):
        ours = real_send(chat_id, text)
        assert ours.finished.wait(LIMIT_S)
        others.append(real_send(chat_id, "Name one colour."))
        return ours

    monkeypatch.setattr(services.chat, "send", send_then_overtaken)
    yield others
    for turn in others:
        turn.finished.wait(LIMIT_S)


def new_chat(services):
    return services.store.create_chat(services.profiles()[0].id).id


def test_a_late_rest_stream_follows_its_own_turn(services, overtaken):
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api.router(services))
    chat_id = new_chat(services)
    with TestClient(app) as client, client.stream(
            "POST", "/api/chat", json={"chat_id": chat_id, "message": "Say hello.", "stream": True}) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    done = lines[-1]
    first_answer = services.store.list_messages(chat_id)[1]
    assert done["message"]["id"] == first_answer.id
    assert "".join(line["delta"] for line in lines[:-1]) == done["message"]["content"] == first_answer.content


def test_the_ui_follows_the_turn_its_send_started(services, overtaken):
    with gr.Blocks():
        view = chat_ui.build(services)
    chat_id = new_chat(services)
    profile_id = services.store.get_chat(chat_id).profile_id
    *_, started = view.actions.start(profile_id, chat_id, "Say hello.", False)
    assert started == services.store.list_messages(chat_id)[1].id
    shown = list(view.actions.follow(chat_id, started))
    # Our answer ended before we could follow it: the pane shows what is stored, once, and follows no
    # newer turn (which would stream its live text here).
    assert len(shown) == 1
    ours = services.store.list_messages(chat_id)[:2]
    # (an answer's bubble ends with a line saying when and by which model: ui/render.py)
    assert [m["content"].split("\n\n<span class=\"answer-meta\">")[0] for m in shown[0][:2]] == [
        m.content for m in ours]
    assert overtaken[0].message_id != started
