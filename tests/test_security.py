"""Host, origin, body, CSP and file-exposure checks on a real running app (loopback, no login), and the
login rules of LAN mode (login on, served on loopback; 127.0.0.2 and friends play other machines)."""

from __future__ import annotations

import json
import socket
from urllib.parse import quote, urlsplit

import httpx
import pytest
from loguru import logger


def profile_names(url: str) -> list[str]:
    return [p["name"] for p in httpx.get(url + "/api/profiles").json()]


def raw_request(url: str, head: str, body: bytes = b"", read: int = 65536) -> str:
    """Send a request by hand (headers we choose, a body that may be cut short); the raw answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = sock.recv(read)
            if not chunk:
                break
            answer += chunk
    return answer.decode("latin-1")


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


# -- Host (DNS rebinding) ----------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8100", "127.0.0.1.evil.example", "", "[::1]x"])
@pytest.mark.parametrize("path", ["/api/profiles", "/api/backup", "/", "/config", "/gradio_api/info"])
def test_a_foreign_host_is_refused_before_any_route(running_app, host, path):
    url, _ = running_app
    response = httpx.get(url + path, headers={"Host": host})
    assert response.status_code == 421 and "error" in response.json()


def test_this_machines_names_are_served(running_app):
    url, _ = running_app
    port = urlsplit(url).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", socket.gethostname()):
        assert httpx.get(url + "/api/health", headers={"Host": host}).status_code == 200


# -- Origin, CORS, content type -------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:1", "http://127.0.0.1:1", "null"])
def test_state_changes_from_another_origin_are_refused(running_app, origin):
    url, _ = running_app
    before = profile_names(url)
    response = httpx.post(url + "/api/profiles", json={"name": "csrf"}, headers={"Origin": origin})
    assert response.status_code == 403
    preflight = httpx.options(url + "/gradio_api/call/profiles", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    read = httpx.get(url + "/api/profiles", headers={"Origin": origin})
    assert "access-control-allow-origin" not in read.headers  # the browser keeps the answer from that page
    assert profile_names(url) == before


def test_same_origin_and_originless_clients_still_work(running_app):
    url, _ = running_app
    created = httpx.post(url + "/api/profiles", json={"name": "same origin"}, headers={"Origin": url})
    assert created.status_code == 201
    assert httpx.delete(url + f"/api/profiles/{created.json()['id']}", headers={"Origin": url}).status_code == 204


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x", None])
def test_import_takes_json_only(running_app, kind):
    url, _ = running_app
    profile = httpx.get(url + "/api/profiles").json()[0]["id"]
    chats = httpx.get(url + f"/api/profiles/{profile}/chats").json()
    export = {"kind": "local-ai-workspace.chat", "schema_version": 1, "chat": {"title": "csrf"}, "messages": []}
    headers = {"Content-Type": kind} if kind else {}
    response = httpx.post(url + f"/api/profiles/{profile}/import", content=json.dumps(export), headers=headers)
    assert response.status_code == 415
    assert httpx.get(url + f"/api/profiles/{profile}/chats").json() == chats
    imported = httpx.post(url + f"/api/profiles/{profile}/import", json=export)  # the same export, as JSON
    assert imported.status_code == 201
    httpx.delete(url + f"/api/chats/{imported.json()['id']}")


def test_an_oversized_body_is_refused_before_it_is_read(running_app):
    url, _ = running_app
    profile = httpx.get(url + "/api/profiles").json()[0]["id"]
    # 50 MB announced, 64 KB sent: the answer comes without the rest (else this would wait for the socket).
    answer = raw_request(url, f"POST /api/profiles/{profile}/import HTTP/1.1\nHost: 127.0.0.1\n"
                               f"Content-Type: application/json\nContent-Length: {2 * 2**30}\n", b"[" * 65536)
    assert answer.startswith("HTTP/1.1 413")
    chunked = raw_request(url, "POST /api/profiles HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
                               "Transfer-Encoding: chunked\n", b"5\r\n{\"a\":\r\n")
    assert chunked.startswith("HTTP/1.1 411")
    assert httpx.get(url + "/api/health").status_code == 200


# -- Content-Security-Policy -------------------------------------------------------------------------------

def test_every_page_and_answer_carries_the_policy(running_app):
    url, _ = running_app
    for path in ("/", "/api/health", "/config", "/nothing-here"):
        policy = httpx.get(url + path).headers.get("content-security-policy", "")
        for directive in ("img-src 'self' data: blob:", "connect-src 'self'", "font-src 'self'", "frame-src 'self'",
                          "media-src 'self'", "form-action 'self'"):
            assert directive in policy, (path, directive)


# -- Files --------------------------------------------------------------------------------------------------

def file_url(url: str, path: str) -> str:
    return f"{url}/gradio_api/file={path}"


def test_nothing_of_the_data_folder_is_served(running_app):
    url, data_dir = running_app
    upload_dir = (data_dir / "tmp").resolve()
    planted = upload_dir / "planted"
    planted.mkdir(parents=True, exist_ok=True)
    (data_dir / "auth.json").write_text('{"secret": 1}')  # as in LAN mode
    secret_targets = [data_dir / "auth.json", data_dir / "index.json"]
    for target in secret_targets:
        link = planted / f"link-{target.name}"
        if not link.exists():
            link.symlink_to(target)
    assert (data_dir / "index.json").exists()
    tries = [str(data_dir / "auth.json"), str(data_dir / "index.json"),
             f"{upload_dir}/../index.json", f"{upload_dir}/..%2Findex.json", f"{upload_dir}/..%252Findex.json",
             quote(f"{upload_dir}/../auth.json", safe=""), f"{planted}/link-auth.json", f"{planted}/link-index.json",
             "/etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "http://127.0.0.1:1/x", "http%3A%2F%2Fexample.com%2F"]
    for attempt in tries:
        response = httpx.get(file_url(url, attempt))
        assert response.status_code in (403, 404), (attempt, response.status_code)
        assert b"secret" not in response.content and b"profiles" not in response.content
    depth = "/.." * 30  # sent as written (an HTTP client would remove the dot segments)
    for prefix in ("/static", "/assets", "/svelte", "/gradio_api/file=", "/custom_component/x/client/x"):
        for path in (f"{prefix}{depth}{data_dir}/auth.json", f"{prefix}{quote(depth, safe='')}{data_dir}/auth.json",
                     f"{prefix}/..%252f..%252f..%252f{data_dir}/index.json"):
            answer = raw_request(url, f"GET {path} HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n")
            assert answer.split(" ")[1][0] in "45", (path, answer[:40])
            assert "secret" not in answer and '"profiles"' not in answer


def test_uploads_are_never_served_inline_as_html_or_svg(running_app):
    url, _ = running_app
    files = [("files", ("page.html", b"<script>alert(1)</script>", "text/html")),
             ("files", ("pic.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/svg+xml"))]
    uploaded = httpx.post(url + "/gradio_api/upload", files=files, headers={"Origin": url})
    assert uploaded.status_code == 200
    for path in uploaded.json():
        response = httpx.get(file_url(url, path))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in response.headers["content-security-policy"]


def test_backups_and_exports_are_streamed_and_never_left_behind(running_app):
    url, data_dir = running_app
    response = httpx.get(url + "/api/backup")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert "attachment" in response.headers["content-disposition"]
    assert not list((data_dir / "tmp").rglob("*.zip"))
    profile = httpx.get(url + "/api/profiles").json()[0]["id"]
    chat = httpx.post(url + f"/api/profiles/{profile}/chats", json={"title": "exported"}).json()["id"]
    for kind in ("md", "json"):
        export = httpx.get(url + f"/api/chats/{chat}/export", params={"format": kind})
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    assert not list((data_dir / "tmp").rglob("chat-*"))
    httpx.delete(url + f"/api/chats/{chat}")


# -- LAN mode: logins -------------------------------------------------------------------------------------

def test_without_a_login_nothing_but_the_login_page_is_served(lan_app):
    with lan_app.client("127.0.0.21") as client:
        assert client.get("/").status_code == 200
        for path in ("/openapi.json", "/api/openapi.json", "/config", "/gradio_api/info", "/api/backup",
                     "/api/profiles"):
            assert client.get(path).status_code == 401, path
        for path in ("/gradio_api/reset", "/gradio_api/cancel", "/gradio_api/upload"):
            assert client.post(path, json={}).status_code == 401, path


def test_login_failures_limit_that_client_only(lan_app):
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="WARNING")
    try:
        form = {"username": lan_app.gate.credentials.username, "password": "wrong"}
        with lan_app.client("127.0.0.22") as attacker:
            statuses = [attacker.post("/login", data=form).status_code for _ in range(6)]
            assert statuses[:5] == [400] * 5 and statuses[5] == 429
            limited = attacker.post("/login", data={**form, "password": lan_app.password})
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
            assert attacker.get("/api/profiles", headers={"Authorization": f"Bearer {lan_app.password}"}
                                ).status_code == 429
        with lan_app.client("127.0.0.2") as owner:
            assert owner.post("/login", data={**form, "password": lan_app.password}).status_code == 200
            assert owner.get("/config").status_code == 200
    finally:
        logger.remove(sink)
    assert sum("Failed login from 127.0.0.22" in m for m in messages) == 5


def test_wrong_bearer_tokens_limit_that_client_only(lan_app):
    with lan_app.client("127.0.0.23", token="wrong-token") as attacker:
        statuses = [attacker.get("/api/profiles").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    with lan_app.client("127.0.0.24", token=lan_app.password) as owner:
        assert owner.get("/api/profiles").status_code == 200


def test_a_valid_token_is_hashed_once_not_per_request(lan_app):
    with lan_app.client("127.0.0.25", token=lan_app.password) as owner:
        owner.get("/api/health")
        before = lan_app.gate.hash_checks
        assert all(owner.get("/api/profiles").status_code == 200 for _ in range(20))
    assert lan_app.gate.hash_checks == before


def test_the_page_session_downloads_but_does_not_write_through_rest(lan_app):
    with lan_app.client("127.0.0.26") as browser:
        assert browser.post("/login", data={"username": "workspace", "password": lan_app.password}).status_code == 200
        assert browser.get("/api/backup").status_code == 200
        assert browser.post("/api/profiles", json={"name": "x"}).status_code == 401
        assert browser.get("/logout", follow_redirects=False).status_code == 302
        assert browser.get("/config").status_code == 401 and browser.get("/api/backup").status_code == 401


def test_a_new_password_ends_old_tokens_and_sessions(lan_app):
    from workspace.auth import set_password

    with lan_app.client("127.0.0.27") as browser, lan_app.client("127.0.0.28", token=lan_app.password) as api:
        assert browser.post("/login", data={"username": "workspace", "password": lan_app.password}).status_code == 200
        assert api.get("/api/profiles").status_code == 200
        try:
            set_password(lan_app.data_dir, "the-new-password")
            assert api.get("/api/profiles").status_code == 401
            assert browser.get("/config").status_code == 401
            assert api.get("/api/profiles", headers={"Authorization": "Bearer the-new-password"}).status_code == 200
        finally:
            set_password(lan_app.data_dir, lan_app.password)


def test_only_a_chat_import_may_be_larger_than_the_body_limit():
    from workspace.api import IMPORT_PATH
    from workspace.security import Guard, HostPolicy

    guard = Guard(None, hosts=HostPolicy([]), max_body_bytes=25 * 2**20, large_bodies=[(IMPORT_PATH, 2**30)])

    def refused(path: str, size: int):
        headers = {"host": "127.0.0.1", "content-length": str(size), "content-type": "application/json"}
        return guard.refusal({"type": "http", "method": "POST", "path": path}, headers)

    assert refused("/api/profiles/0123456789abcdef/import", 30 * 2**20) is None
    assert refused("/api/profiles/0123456789abcdef/import", 2**30 + 1)[0] == 413
    assert refused("/api/profiles", 30 * 2**20)[0] == 413
    assert refused("/api/profiles/0123456789abcdef/import/x", 30 * 2**20)[0] == 413
