"""`POST /api/chat/vision` and the thumbnail route end to end on the running app (embedded engine, network
guard on in the app's process: rapidocr reads the image without reaching for any download)."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from tests.vision.rendering import render


@pytest.fixture
def api(running_app):
    with httpx.Client(base_url=running_app[0] + "/api", timeout=300) as client:
        yield client


@pytest.fixture
def chat_id(api):
    profile = api.post("/profiles", json={"name": "Vision"}).json()
    return api.post(f"/profiles/{profile['id']}/chats", json={"title": "Screenshots"}).json()["id"]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_bad_image_is_a_400_that_stores_nothing_then_an_image_turn_streams(api, chat_id):
    refused = api.post("/chat/vision", data={"chat_id": chat_id, "message": "look"},
                       files=[("images", ("../../x.png", b"\x89PNG not really", "image/png"))])
    assert refused.status_code == 400 and refused.json()["error"].startswith("x.png: not a readable image")
    assert api.get(f"/chats/{chat_id}/messages").json() == []

    shot = png(render(["ModuleNotFoundError: No module named 'yaml'"], "dark"))
    with api.stream("POST", "/chat/vision", data={"chat_id": chat_id, "message": "Fix this?", "stream": "true"},
                    files=[("images", ("shot.png", shot, "image/png"))]) as response:
        assert response.status_code == 200
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["done"] is True and lines[-1]["status"] == "ok"
    user, answer = api.get(f"/chats/{chat_id}/messages").json()
    assert answer["content"] and len(user["images"]) == 1
    assert "ModuleNotFoundError" in user["analysis"] and "Only the text in the image was read" in user["analysis"]

    base = f"/chats/{chat_id}/messages/{user['id']}/images"
    thumb = api.get(f"{base}/{user['images'][0]}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "WEBP" and max(image.size) <= 256
    original = user["images"][0].replace(".thumb.webp", ".png")  # in the folder, but not a thumbnail
    assert api.get(f"{base}/{original}").status_code == 404
    assert api.get(f"/chats/{chat_id}/messages/{answer['id']}/images/{user['images'][0]}").status_code == 404
    assert api.get(f"/chats/{chat_id}/messages/{user['id']}/images/..%2Fchat.json").status_code == 404


def test_vision_route_errors(api, chat_id):
    image = ("images", ("a.png", png(Image.new("RGB", (8, 8))), "image/png"))
    assert api.post("/chat/vision", data={"chat_id": "0" * 16}, files=[image]).status_code == 404
    assert api.post("/chat/vision", data={"chat_id": chat_id}).status_code == 415  # form-urlencoded: refused
    no_files = api.post("/chat/vision", data={"chat_id": chat_id}, files=[("notes", ("n.txt", b"x", "text/plain"))])
    assert no_files.status_code == 400 and "Attach at least one" in no_files.json()["error"]
    too_many = [image] * 9
    response = api.post("/chat/vision", data={"chat_id": chat_id}, files=too_many)
    assert response.status_code == 400 and "limit of 8" in response.json()["error"]
    assert api.get(f"/chats/{chat_id}/messages").json() == []


def test_text_files_go_with_the_message(api, chat_id):
    log = "Traceback (most recent call last):\n  KeyError: 'port'\n"
    response = api.post("/chat/vision", data={"chat_id": chat_id, "message": "Why?"},
                        files=[("files", ("../server.log", log.encode(), "text/plain"))])
    assert response.status_code == 200 and response.json()["status"] == "ok"
    user, _ = api.get(f"/chats/{chat_id}/messages").json()
    assert user["attachments"] == [{"name": "server.log", "text": log}] and user["images"] == []
