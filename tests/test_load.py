"""Eight clients at once on the LAN-mode app (real HTTP, real model, short answers): four stream over REST,
four over `gradio_client`, each in its own chat. All complete, no answer lands in another's chat, and the
page loads in a real browser while they run (its first paint is printed as a benchmark figure)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.test_browser import CHROMIUM, FLAGS

CLIENTS = 8


def rest_client(lan_app, chat_id: str, marker: str, started: threading.Event) -> str:
    with lan_app.client("127.0.0.51", token=lan_app.password) as client:
        with client.stream("POST", "/api/chat", json={"chat_id": chat_id, "message": marker, "stream": True}) as reply:
            assert reply.status_code == 200
            lines = []
            for line in reply.iter_lines():
                started.set()
                lines.append(json.loads(line))
    final = lines[-1]
    assert final["done"] is True and final["status"] == "ok"
    assert final["message"]["content"] == "".join(item["delta"] for item in lines[:-1])
    return final["message"]["content"]


def gradio_client(lan_app, chat_id: str, marker: str, started: threading.Event) -> str:
    from gradio_client import Client

    client = Client(lan_app.url + "/", auth=("workspace", lan_app.password), verbose=False,
                    analytics_enabled=False, download_files=False)
    job = client.submit(chat_id, marker, api_name="/chat")
    for _ in job:
        started.set()
    return job.result()


def test_eight_clients_stream_their_own_chats_while_the_page_loads(lan_app):
    with lan_app.client(token=lan_app.password) as api:
        profile = api.post("/api/profiles", json={"name": "Load"}).json()["id"]
        chats = [api.post(f"/api/profiles/{profile}/chats", json={"title": f"load {i}"}).json()["id"]
                 for i in range(CLIENTS)]
    markers = [f"Say hello to client number {i} (tag L{i}Q)." for i in range(CLIENTS)]
    started = threading.Event()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(rest_client if i % 2 == 0 else gradio_client, lan_app, chats[i], markers[i], started)
                   for i in range(CLIENTS)]
        assert started.wait(120), "no answer started streaming"
        first_paint_ms = load_page_under_load(lan_app)
        answers = [future.result(timeout=600) for future in futures]
    print(f"\nfirst contentful paint under load: {first_paint_ms:.0f} ms (target < 1000)")
    with lan_app.client(token=lan_app.password) as api:
        for chat_id, marker, answer in zip(chats, markers, answers):
            stored = api.get(f"/api/chats/{chat_id}/messages").json()
            assert [m["role"] for m in stored] == ["user", "assistant"]
            assert stored[0]["content"] == marker and stored[1]["content"] == answer and answer.strip()
            assert stored[1]["status"] == "ok"
        api.delete(f"/api/profiles/{profile}")


def load_page_under_load(lan_app) -> float:
    """Log in, open the page in chromium and wait for the message box; the first contentful paint in ms."""
    from playwright.sync_api import sync_playwright

    with lan_app.client("127.0.0.52") as browser_login:
        assert browser_login.post("/login", data={"username": "workspace", "password": lan_app.password}
                                  ).status_code == 200
        cookies = [{"name": c.name, "value": c.value, "url": lan_app.url} for c in browser_login.cookies.jar]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context()
        context.add_cookies(cookies)
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(lan_app.url + "/")
        page.wait_for_selector("#message-box textarea")
        paint = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
        browser.close()
    assert paint is not None
    return float(paint)
