"""REST under /api/ end to end against the running app and its embedded engine's real model."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import httpx
import pytest


@pytest.fixture
def api(running_app):
    url, _ = running_app
    with httpx.Client(base_url=url + "/api", timeout=120) as client:
        yield client


@pytest.fixture
def chat_id(api):
    profile = api.post("/profiles", json={"name": "REST"}).json()
    return api.post(f"/profiles/{profile['id']}/chats", json={"title": "Via REST"}).json()["id"]


def test_profile_and_chat_crud(api):
    created = api.post("/profiles", json={"name": "Client A", "description": "d"})
    assert created.status_code == 201
    pid = created.json()["id"]
    assert api.get(f"/profiles/{pid}").json()["name"] == "Client A"
    patched = api.patch(f"/profiles/{pid}", json={"system_prompt": "Be brief.", "model_overrides": {"chat": "x"}})
    assert patched.json()["system_prompt"] == "Be brief." and patched.json()["model_overrides"] == {"chat": "x"}
    chat = api.post(f"/profiles/{pid}/chats", json={"title": "T"}).json()
    assert [c["id"] for c in api.get(f"/profiles/{pid}/chats").json()] == [chat["id"]]
    assert api.patch(f"/chats/{chat['id']}", json={"pinned": True, "title": "T2"}).json()["pinned"] is True
    assert api.delete(f"/chats/{chat['id']}").status_code == 204
    assert api.get(f"/profiles/{pid}/chats").json() == []
    assert api.delete(f"/profiles/{pid}").status_code == 204
    assert api.get(f"/profiles/{pid}").status_code == 404


def test_stream_stop_regenerate_search_export_import(api, chat_id):
    lines = []
    with api.stream("POST", "/chat", json={"chat_id": chat_id, "message": "Explain recursion with factorial.",
                                           "stream": True}) as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            assert line.strip(), "no blank NDJSON lines"
            lines.append(json.loads(line))
            if len(lines) == 3:  # a few deltas in: stop it
                assert api.post(f"/chats/{chat_id}/stop").json() == {"stopped": True}
    assert all("delta" in item for item in lines[:-1]) and lines[-1]["done"] is True
    assert lines[-1]["status"] == "stopped"
    streamed = "".join(item["delta"] for item in lines[:-1])
    assert lines[-1]["message"]["content"] == streamed and streamed

    again = api.post(f"/chats/{chat_id}/regenerate").json()
    assert again["status"] == "ok" and again["content"].strip()
    messages = api.get(f"/chats/{chat_id}/messages").json()
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[1]["id"] == again["id"]

    hits = api.get("/search", params={"q": "recursion FACTORIAL"}).json()
    assert any(hit["chat_id"] == chat_id for hit in hits)

    exported = api.get(f"/chats/{chat_id}/export").json()
    markdown = api.get(f"/chats/{chat_id}/export", params={"format": "md"}).text
    assert "Explain recursion with factorial." in markdown
    profile_id = api.get(f"/chats/{chat_id}").json()["profile_id"]
    imported = api.post(f"/profiles/{profile_id}/import", content=json.dumps(exported),
                        headers={"Content-Type": "application/json"})
    assert imported.status_code == 201 and imported.json()["id"] != chat_id
    copied = api.get(f"/chats/{imported.json()['id']}/messages").json()
    assert [m["content"] for m in copied] == [m["content"] for m in messages]


def test_non_streaming_chat_returns_the_stored_answer(api, chat_id):
    answer = api.post("/chat", json={"chat_id": chat_id, "message": "Say hi."}).json()
    assert answer["role"] == "assistant" and answer["status"] == "ok" and answer["stats"]["eval_count"] > 0


@pytest.mark.parametrize("method, path, body, status", [
    ("get", "/chats/nope", None, 400),  # not even an id
    ("get", "/chats/0123456789abcdef", None, 404),
    ("post", "/profiles", {"name": ""}, 422),
    ("post", "/profiles", {"name": "x", "evil": 1}, 422),
    ("post", "/chat", {"chat_id": "0123456789abcdef", "message": "hi"}, 404),
    ("post", "/chat", {"chat_id": "x"}, 422),
    ("get", "/search", None, 422),
])
def test_bad_requests_get_clear_4xx_errors(api, method, path, body, status):
    response = getattr(api, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("path, status", [
    ("/api/profiles/../../etc/passwd", 404),
    ("/api/profiles/..", 400),
    ("/api/profiles/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404),  # decoded to slashes before routing
])
def test_dot_segments_sent_raw_are_refused(running_app, path, status):
    # httpx would resolve the dots before sending; http.client sends the path exactly as written.
    address = urlsplit(running_app[0])
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == status and b"root:" not in body


def test_hostile_import_is_refused_and_writes_nothing(api, chat_id):
    profile_id = api.get(f"/chats/{chat_id}").json()["profile_id"]
    before = api.get(f"/profiles/{profile_id}/chats").json()
    for body in (b"not json", b'{"messages": "nope"}', json.dumps({"chat": {"id": "../x"}}).encode()):
        response = api.post(f"/profiles/{profile_id}/import", content=body)
        assert 400 <= response.status_code < 500 and response.json()["error"]
    assert api.get(f"/profiles/{profile_id}/chats").json() == before


def test_backup_downloads_a_zip_that_restores_into_a_new_folder(api, chat_id, tmp_path):
    import subprocess
    import sys

    from tests.app_fixtures import ROOT
    from workspace.store import WorkspaceStore

    api.post("/chat", json={"chat_id": chat_id, "message": "Remember the number 4711."})
    response = api.get("/backup")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    backup = tmp_path / "backup.zip"
    backup.write_bytes(response.content)

    target = tmp_path / "restored"
    done = subprocess.run([sys.executable, "-m", "workspace.restore", str(backup), str(target)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with WorkspaceStore(target) as restored:
        assert "Remember the number 4711." in [m.content for m in restored.list_messages(chat_id)]
    again = subprocess.run([sys.executable, "-m", "workspace.restore", str(backup), str(target)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "nothing was overwritten" in again.stderr
