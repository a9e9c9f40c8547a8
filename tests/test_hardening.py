"""The hardening battery, against the real running app: hostile ids, bodies and values. Each gets a
clear 4xx (JSON wherever the app itself answers), nothing crashes, nothing stored changes, and
/api/health answers after each."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.test_security import raw_request

JSON = {"Content-Type": "application/json"}
EXPORT = {"kind": "local-ai-workspace.chat", "schema_version": 1, "chat": {"title": "hostile"},
          "messages": [{"role": "user", "content": "hi", "created_at": 1.0, "updated_at": 1.0}]}


def stored_state(url: str) -> list:
    profiles = httpx.get(url + "/api/profiles").json()
    return [(p, httpx.get(url + f"/api/profiles/{p['id']}/chats").json()) for p in profiles]


@pytest.fixture
def app(running_app):
    """The app's URL and a profile id; afterwards: it still answers and nothing stored changed."""
    url, _ = running_app
    profile = httpx.get(url + "/api/profiles").json()[0]["id"]
    _any_chat(url, profile)
    before = stored_state(url)
    yield url, profile
    assert httpx.get(url + "/api/health").status_code == 200
    assert stored_state(url) == before


def assert_clear_error(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in (statuses or range(400, 500)), (response.request.url, response.status_code)
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    body = response.json()
    assert body.get("error") or body.get("detail"), body


HOSTILE_IDS = ["../../etc/passwd", "..%2F..%2Findex.json", "..%252F..%252Fauth.json", "%2e%2e%2f%2e%2e", "/etc/passwd",
               "0000000000000000", "a" * 5000, "x%00y", "C:\\Windows\\win.ini", "....//....//index.json"]


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_hostile_ids_in_every_route(app, bad):
    url, profile = app
    calls = [("GET", f"/api/profiles/{bad}"), ("GET", f"/api/profiles/{bad}/chats"), ("PATCH", f"/api/profiles/{bad}"),
             ("DELETE", f"/api/profiles/{bad}"), ("POST", f"/api/profiles/{bad}/chats"),
             ("POST", f"/api/profiles/{bad}/import"), ("GET", f"/api/chats/{bad}"), ("PATCH", f"/api/chats/{bad}"),
             ("DELETE", f"/api/chats/{bad}"), ("GET", f"/api/chats/{bad}/messages"),
             ("GET", f"/api/chats/{bad}/export"), ("POST", f"/api/chats/{bad}/regenerate"),
             ("POST", f"/api/chats/{bad}/stop"), ("GET", f"/api/search?q=x&profile_id={bad}")]
    body = {"PATCH": {"title": "x"}, "POST": EXPORT}
    for method, path in calls:
        response = httpx.request(method, url + path, json=body.get(method))
        if method == "POST" and path.endswith("/stop") and response.status_code == 200:
            assert response.json() == {"stopped": False}  # nothing of that name runs: a no-op, said so
            continue
        if path.startswith("/api/search") and response.status_code == 200:
            assert response.json() == []
            continue
        assert_clear_error(response)
    moved = httpx.patch(url + f"/api/chats/{_any_chat(url, profile)}", json={"profile_id": bad})
    assert_clear_error(moved)


def _any_chat(url: str, profile: str) -> str:
    chats = httpx.get(url + f"/api/profiles/{profile}/chats").json()
    return chats[0]["id"] if chats else httpx.post(url + f"/api/profiles/{profile}/chats", json={}).json()["id"]


@pytest.fixture
def a_chat(running_app):
    url, _ = running_app
    profile = httpx.get(url + "/api/profiles").json()[0]["id"]
    return _any_chat(url, profile)


def test_a_one_megabyte_prompt_and_search(app, a_chat):
    url, _ = app
    assert_clear_error(httpx.post(url + "/api/chat", json={"chat_id": a_chat, "message": "x" * 2**20}), 422)
    answer = raw_request(url, f"GET /api/search?q={'x' * 2**20} HTTP/1.1\nHost: 127.0.0.1\n")
    assert answer.startswith("HTTP/1.1 4")  # refused by the HTTP layer before any route: the request is too long


def test_invalid_utf8_and_nul_bytes(app, a_chat):
    url, profile = app
    for path in ("/api/profiles", f"/api/profiles/{profile}/import", "/api/chat"):
        assert_clear_error(httpx.post(url + path, content=b'{"name": "\xff\xfe"}', headers=JSON))
    assert_clear_error(httpx.post(url + "/api/profiles", json={"name": "a\x00b"}), 422)
    assert_clear_error(httpx.patch(url + f"/api/profiles/{profile}", json={"description": "\x00"}), 422)
    assert_clear_error(httpx.patch(url + f"/api/chats/{a_chat}", json={"title": "t\x00"}), 422)
    assert_clear_error(httpx.post(url + "/api/chat", json={"chat_id": a_chat, "message": "hi\x00"}), 422)


@pytest.mark.parametrize("path_of", [lambda p: "/api/profiles", lambda p: f"/api/profiles/{p}/import",
                                     lambda p: "/api/chat"])
def test_deeply_nested_json(app, path_of):
    url, profile = app
    depth = 100_000
    response = httpx.post(url + path_of(profile), content="[" * depth + "]" * depth, headers=JSON)
    assert_clear_error(response, 400, 422)


def body_routes(url: str) -> list[tuple[str, str]]:
    """Every REST route that takes a body (from the app's own route list, so new routes are covered too),
    plus Gradio's."""
    spec = httpx.get(url + "/api/openapi.json").json()
    routes = [(method.upper(), path.replace("{", "").replace("}", ""))
              for path, item in spec["paths"].items() for method in item if method in ("post", "put", "patch")]
    return routes + [("POST", "/gradio_api/upload"), ("POST", "/gradio_api/queue/join"), ("POST", "/login"),
                     ("POST", "/gradio_api/call/profiles")]


def test_fifty_megabytes_to_every_body_route_is_refused_unread(app):
    url, _ = app
    routes = body_routes(url)
    assert len(routes) >= 10
    for method, path in routes:
        answer = raw_request(url, f"{method} {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
                                  f"Content-Length: {2 * 2**30}\n", b"x" * 65536)
        head, _, body = answer.partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 413"), (method, path, head[:60])
        assert "application/json" in head and "error" in body
        assert httpx.get(url + "/api/health").status_code == 200


@pytest.mark.parametrize("change", [
    {"chat": {"title": "nul\x00title"}},
    {"chat": {"title": "ok", "created_at": 1e308}},
    {"messages": [{"role": "user", "content": "hi", "created_at": 1e308, "updated_at": 1e308}]},
    {"chat": {"title": "ok", "created_at": -1}},
    {"schema_version": True},
])
def test_hostile_values_in_imports(app, change):
    url, profile = app
    response = httpx.post(url + f"/api/profiles/{profile}/import", json={**EXPORT, **change})
    assert_clear_error(response, 400)


def test_huge_integers_in_imports(app):
    url, profile = app
    raw = json.dumps(EXPORT).replace('"created_at": 1.0', '"created_at": ' + "9" * 5001)
    assert_clear_error(httpx.post(url + f"/api/profiles/{profile}/import", content=raw, headers=JSON), 400)


def test_unknown_routes_and_methods(app):
    url, _ = app
    assert_clear_error(httpx.get(url + "/api/nothing-here"), 404)
    assert_clear_error(httpx.put(url + "/api/profiles", json={}), 404, 405)


def test_without_or_with_a_wrong_credential(lan_app):
    with lan_app.client("127.0.0.41") as nobody, lan_app.client("127.0.0.42", token="nope") as wrong:
        for client in (nobody, wrong):
            for method, path in (("GET", "/api/profiles"), ("POST", "/api/profiles"), ("GET", "/api/backup"),
                                 ("GET", "/gradio_api/info"), ("POST", "/gradio_api/queue/join")):
                response = client.request(method, path, json={"name": "x"})
                assert_clear_error(response, 401)
