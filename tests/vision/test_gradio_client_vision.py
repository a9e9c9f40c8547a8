"""The named `/chat` endpoint takes images and text files through `gradio_client.handle_file`, on the running
app (embedded engine); a file the client did not upload is never read."""

from __future__ import annotations

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.test_app import client_for
from tests.vision.rendering import render


def test_chat_endpoint_reads_an_image_and_a_text_file_sent_with_handle_file(running_app, tmp_path):
    client = client_for(running_app[0])
    profile = client.predict("Client vision", "", "", api_name="/create_profile")
    chat = client.predict(profile["id"], "Screenshot", api_name="/create_chat")
    shot, notes = tmp_path / "shot.png", tmp_path / "notes.txt"
    render(["ImportError: cannot import name 'Queue'"]).save(shot)
    notes.write_text("queue = Queue()\n")
    answer = client.predict(chat["id"], "What failed?", [handle_file(str(shot)), handle_file(str(notes))],
                            api_name="/chat")
    user, reply = client.predict(chat["id"], api_name="/messages")
    assert answer and reply["content"] == answer and reply["status"] == "ok"
    assert len(user["images"]) == 1 and "ImportError" in user["analysis"]
    assert user["attachments"] == [{"name": "notes.txt", "text": "queue = Queue()\n"}]


def test_chat_endpoint_refuses_a_path_it_did_not_receive(running_app):
    client = client_for(running_app[0])
    profile = client.predict("Client paths", "", "", api_name="/create_profile")
    chat = client.predict(profile["id"], "Paths", api_name="/create_chat")
    with pytest.raises(AppError, match="not uploaded to this app"):
        client.predict(chat["id"], "read this", [{"path": "/etc/hostname"}], api_name="/chat")
    assert client.predict(chat["id"], api_name="/messages") == []
