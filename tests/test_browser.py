"""The Chat tab in a real browser (Debian's chromium via Playwright) against the real app and model:
create a profile and a chat, send, watch the answer stream, switch chats mid-answer and back, reload.
Every request the page makes is recorded: anything beyond loopback fails the test.

With SCREENSHOTS=1 the browser tests also save the README's screenshots to docs/screenshots/ (`shoot`)."""

from __future__ import annotations

import os
import re
import shutil
import time
from urllib.parse import urlparse

import httpx
import pytest

from tests.app_fixtures import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

LIMIT_S = 120  # only turns a stuck page or turn into a failure; nothing waits for it to expire
DESKTOP = {"width": 1400, "height": 1000}
SHOTS = ROOT / "docs" / "screenshots"
# Nothing on the page is loading: every visible Gradio status tracker (spinner, "processing | 1.5s") is hidden.
SETTLED = """() => ![...document.querySelectorAll('[data-testid=status-tracker]')]
    .some(s => !s.classList.contains('hide') && s.offsetParent !== null)"""


@pytest.fixture
def page(running_app):
    from playwright.sync_api import sync_playwright

    url, _ = running_app
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context()
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.set_default_timeout(60_000)
        page.goto(url + "/")
        page.wait_for_selector("#message-box textarea")
        yield page
        browser.close()
    outside = [u for u in requests if urlparse(u).hostname not in ("127.0.0.1", "localhost") and
               not u.startswith(("data:", "blob:"))]
    assert not outside, f"The page reached beyond loopback: {outside[:5]}"


def shoot(page, name: str, viewport: dict | None = None) -> None:
    """The README's screenshot `name`.png of the page once nothing on it is loading, when asked for
    (SCREENSHOTS=1); `viewport` resizes the page first."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    if viewport:
        page.set_viewport_size(viewport)
    page.wait_for_function(SETTLED)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def last_answer(page) -> str:
    bubbles = page.locator("#conversation .bot-row")
    return bubbles.last.inner_text() if bubbles.count() else ""


def open_panel(page, elem_id: str) -> None:
    """Open one of the chat's panels from the toolbar over the conversation."""
    page.locator(f"#open-{elem_id}").click()
    page.locator(f"#{elem_id}").wait_for(state="visible")


def select_chat(page, index: int) -> None:
    page.locator("#chat-list label").nth(index).click()


def test_profile_chat_stream_switch_and_reload(page):
    open_panel(page, "profile-panel")
    page.locator("#new-profile-name textarea, #new-profile-name input").first.fill("Browser profile")
    page.get_by_role("button", name="Create profile").click()
    profile = page.get_by_role("combobox", name="Profile").first
    page.wait_for_function("el => el.value === 'Browser profile'", arg=profile.element_handle())
    page.keyboard.press("Escape")  # closes the panel
    page.locator("#profile-panel").wait_for(state="hidden")

    page.locator("#new-chat").click()
    box = page.locator("#message-box textarea")
    box.fill("Write a Python class for a bank account with deposit and withdraw, with docstrings.")
    box.press("Enter")

    seen = set()
    deadline = time.monotonic() + 90
    while len(seen) < 3 and time.monotonic() < deadline:  # the answer grows in the page: it streams
        text = last_answer(page)
        if text.strip() and text not in ("…",):
            seen.add(text)
        page.wait_for_timeout(150)
    assert len(seen) >= 3, f"the answer did not stream: {seen}"

    # Mid-answer: open a new chat, then come back to the first one.
    page.locator("#new-chat").click()
    page.wait_for_function("() => !document.querySelector('#conversation').innerText.includes('bank account')")
    first_title = "Write a Python class for a bank account"
    stored = stored_answer(page.url, first_title)  # the turn has ended and its follower has had its say
    assert "bank account" not in page.locator("#conversation").inner_text()
    chat_labels = page.locator("#chat-list label")
    open_chat(page, first_title)
    wait_for_answer(page, stored)
    assert chat_labels.count() >= 2
    assert first_title[:30] in page.locator("#chat-list input:checked").locator("xpath=..").inner_text()

    page.reload()
    page.wait_for_selector("#message-box textarea")
    page.wait_for_function(
        "t => document.querySelector('#conversation').innerText.includes(t)", arg=first_title[:30])
    wait_for_answer(page, stored)
    assert page.get_by_role("combobox", name="Profile").first.input_value() == "Browser profile"
    page.wait_for_selector("#conversation .bot-row .answer-meta")  # the stored answer's own line: it has ended
    shoot(page, "chat", DESKTOP)

    # Search finds the message and opens its chat at it, from the other (empty) chat.
    page.locator("#chat-list label").filter(has_not_text=first_title).first.click()
    open_panel(page, "search-panel")
    page.locator("#search-box textarea, #search-box input").first.fill("BANK account")
    page.locator("#search-box textarea, #search-box input").first.press("Enter")
    page.locator("#search-results label").first.click()
    page.wait_for_selector("#conversation .message-row.search-hit")
    assert first_title in page.locator("#conversation").inner_text()
    assert page.locator("#chat-list input:checked").count() == 1


def stored_answer(page_url: str, title: str) -> str:
    """The answer of the chat titled `title` once it is stored as ended (waits on the stored status)."""
    with httpx.Client(base_url=page_url.rstrip("/") + "/api", timeout=30) as api:
        chat_id = next(c["id"] for p in api.get("/profiles").json()
                       for c in api.get(f"/profiles/{p['id']}/chats").json() if c["title"].startswith(title))
        deadline = time.monotonic() + LIMIT_S
        while True:
            last = api.get(f"/chats/{chat_id}/messages").json()[-1]
            if last["status"] != "streaming":
                assert last["content"].strip()
                return last["content"]
            assert time.monotonic() < deadline, "the answer was never stored as ended"
            time.sleep(0.2)


def letters(text: str) -> str:
    """Only the letters: Markdown's markup (a code fence's language too) and list numbers do not survive
    rendering, the words do."""
    return re.sub(r"[^A-Za-z]+", "", re.sub(r"```[\w+-]*", "", text))


def open_chat(page, title: str) -> None:
    """Click the chat in the list, once: it stays the one checked even when the list is refreshed as the
    previous turn's follower ends (that refresh never selects)."""
    page.locator("#chat-list label", has_text=title).click()
    page.wait_for_function("t => document.querySelector('#chat-list input:checked')?.closest('label')"
                           "?.innerText.includes(t)", arg=title[:30])


def wait_for_answer(page, stored: str) -> None:
    """Until the page's last answer shows the stored one."""
    deadline = time.monotonic() + LIMIT_S
    while letters(stored) not in letters(last_answer(page)):
        assert time.monotonic() < deadline, "the page never showed the stored answer"
        page.wait_for_timeout(200)


@pytest.fixture
def stub_counter():
    """An HTTP server on another loopback port counting every request: 'somewhere else' for the page."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_nothing_in_a_chat_makes_the_page_fetch_from_elsewhere(running_app, page, stub_counter):
    import httpx

    url, _ = running_app
    elsewhere, hits = stub_counter
    profile = httpx.get(url + "/api/profiles").json()[0]
    content = (f"Leak ![x]({elsewhere}/md?d=secret) and <img src=\"{elsewhere}/html?d=secret\"> "
               "<img src=x onerror=\"alert('xss')\"> <script>alert('xss')</script> end-of-answer")
    export = {"kind": "local-ai-workspace.chat", "schema_version": 1,
              "chat": {"title": "<b onmouseover=alert(1)>Img"},
              "messages": [{"role": "user", "content": "show me", "created_at": 1.0, "updated_at": 1.0},
                           {"role": "assistant", "content": content, "created_at": 2.0, "updated_at": 2.0}]}
    imported = httpx.post(url + f"/api/profiles/{profile['id']}/import", json=export)
    assert imported.status_code == 201
    hostile = httpx.post(url + "/api/profiles", json={"name": "<img src=x onerror=alert('p')>Prof",
                                                      "description": "<script>alert('d')</script>"})
    assert hostile.status_code == 201
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.reload()
    page.wait_for_selector("#message-box textarea")
    page.locator("#chat-list label", has_text="Img").first.click()
    page.wait_for_function("() => document.querySelector('#conversation').innerText.includes('end-of-answer')")
    # Script can still try on its own: both ways out are closed by the policy too.
    page.evaluate("""(u) => { const i = new Image(); i.src = u + '/script-img'; document.body.appendChild(i);
                              return fetch(u + '/script-fetch').then(() => 'sent', () => 'blocked'); }""", elsewhere)
    page.wait_for_function("() => document.readyState === 'complete'")
    assert len(violations) >= 2, violations  # the page tried, and the policy stopped it
    page.get_by_role("combobox", name="Profile").first.click()
    page.get_by_role("option", name="<img src=x onerror=alert('p')>Prof").click()  # shown as text, not markup
    page.wait_for_function("() => document.readyState === 'complete'")
    assert hits == [] and dialogs == []
    httpx.delete(url + f"/api/chats/{imported.json()['id']}")
    httpx.delete(url + f"/api/profiles/{hostile.json()['id']}")


def test_lan_login_page_then_logout_in_a_real_browser(lan_app):
    """LAN mode: the login form works under the page's security policy, and Log out ends the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.goto(lan_app.url + "/")
        page.locator("input[type=password]").wait_for()
        page.locator("input:not([type=password])").first.fill("workspace")
        page.locator("input[type=password]").fill(lan_app.password)
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#message-box textarea")
        page.locator("#logout").click()
        page.locator("input[type=password]").wait_for()
        assert page.context.request.get(lan_app.url + "/config").status == 401
        browser.close()
