"""The REST edge maps every error once: a full disk is 507 and changes nothing, a busy store 503, a body
nested too deeply a JSON 400 — route by route, always JSON `{"error": …}`."""

from __future__ import annotations

import errno
import json
import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from workspace import api
from workspace.store import WorkspaceStore, indexing, storage, transfer
from workspace.store import workspace as store_module


@pytest.fixture
def client(services):
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api.router(services))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def world(services):
    profile = services.store.create_profile("Errors")
    chat = services.store.create_chat(profile.id, title="kept")
    services.store.append_message(chat.id, "user", "a question")
    return profile.id, chat.id


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def everything(client, profile_id):
    chats = client.get(f"/api/profiles/{profile_id}/chats").json()
    return (client.get("/api/profiles").json(), chats,
            [client.get(f"/api/chats/{c['id']}/messages").json() for c in chats])


def routes(services, profile_id, chat_id):
    export = services.store.export_chat_json(chat_id)
    return [
        ("post", "/api/profiles", {"json": {"name": "New"}}),
        ("patch", f"/api/profiles/{profile_id}", {"json": {"name": "Renamed"}}),
        ("delete", f"/api/profiles/{profile_id}", {}),
        ("post", f"/api/profiles/{profile_id}/chats", {"json": {"title": "New"}}),
        ("patch", f"/api/chats/{chat_id}", {"json": {"title": "Renamed"}}),
        ("delete", f"/api/chats/{chat_id}", {}),
        ("post", "/api/chat", {"json": {"chat_id": chat_id, "message": "another"}}),
        ("post", f"/api/chats/{chat_id}/regenerate", {}),
        ("post", f"/api/profiles/{profile_id}/import", {"content": json.dumps(export),
                                                         "headers": {"content-type": "application/json"}}),
        ("get", "/api/backup", {}),
    ]


@pytest.mark.parametrize("index", range(10))
def test_a_full_disk_is_507_and_changes_nothing(client, services, world, monkeypatch, index):
    profile_id, chat_id = world
    method, path, kwargs = routes(services, profile_id, chat_id)[index]
    before = everything(client, profile_id)
    monkeypatch.setattr(storage, "_write_all", disk_full)  # every store file write
    monkeypatch.setattr(transfer, "write_zip", lambda *a: (_ for _ in ()).throw(
        storage.disk_error(OSError(errno.ENOSPC, "full"), transfer.Path("backup.zip"))))
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 507, (path, response.text)
    assert "disk" in response.json()["error"] and "full" in response.json()["error"]
    monkeypatch.undo()
    assert everything(client, profile_id) == before


def test_search_while_its_index_is_rebuilt_is_503(make_services, tmp_path, monkeypatch):
    with WorkspaceStore(tmp_path / "busy") as store:
        store.append_message(store.create_chat(store.create_profile("P").id).id, "user", "a question")
    (tmp_path / "busy" / "search.sqlite").unlink()  # rebuilt in the background at the next start
    gate, real_scan = threading.Event(), indexing.scan_chat_file
    monkeypatch.setattr(indexing, "scan_chat_file", lambda path: gate.wait(60) and real_scan(path))
    monkeypatch.setattr(store_module, "SEARCH_WAIT_S", 0)
    services = make_services(data_dir=tmp_path / "busy")
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api.router(services))
    try:
        with TestClient(app) as client:
            response = client.get("/api/search", params={"q": "question"})
    finally:
        gate.set()
    assert response.status_code == 503 and "not ready" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/profiles", "IMPORT"])
def test_json_nested_too_deeply_is_a_json_400(client, world, path):
    path = f"/api/profiles/{world[0]}/import" if path == "IMPORT" else path
    response = client.post(path, content=b"[" * 100_000 + b"]" * 100_000,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]


def test_a_bug_is_a_json_500(client, services, monkeypatch):
    monkeypatch.setattr(services.store, "list_profiles", lambda: 1 / 0)
    response = client.get("/api/profiles")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal error; the app's log has the details."}


def test_unknown_api_routes_and_methods_are_json(client):
    assert client.get("/api/nothing").json() == {"error": "Not Found"}
    wrong = client.put("/api/profiles")
    assert wrong.status_code == 405 and wrong.json()["error"]
