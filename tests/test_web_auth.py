"""The web app behind a login (as when serving the LAN): REST wants the Bearer token, Gradio its login."""

import pytest
from fastapi.testclient import TestClient

from workspace import auth


@pytest.fixture
def gated(services, tmp_path):
    from workspace.ui.web import create_web_app

    credentials, password = auth.load_or_create(tmp_path)
    with TestClient(create_web_app(services, auth.Gate(credentials)), base_url="http://localhost") as client:
        yield client, credentials.username, password


def test_rest_needs_the_bearer_token(gated):
    client, _, password = gated
    assert client.get("/api/health").status_code == 401
    assert client.get("/api/profiles", headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.get("/api/profiles", headers={"Authorization": f"Bearer {password}"})
    assert response.status_code == 200 and response.json()[0]["name"] == "Personal"


def test_gradio_needs_the_login(gated):
    client, username, password = gated
    assert client.get("/config").status_code == 401
    assert client.post("/login", data={"username": username, "password": "wrong"}).status_code >= 400
    assert client.post("/login", data={"username": username, "password": password}).status_code == 200
    assert client.get("/config").status_code == 200


def test_loopback_app_has_no_login(services):
    from workspace.ui.web import create_web_app

    with TestClient(create_web_app(services), base_url="http://localhost") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/config").status_code == 200
