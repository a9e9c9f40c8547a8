"""The chat's "pull Y" link in a real browser (Debian's chromium) against the real app on its embedded engine:
an answer given by a fallback carries a link; following it opens the Models tab with Y in the pull box and,
since the embedded engine cannot download, says where to put the model's file instead."""

from __future__ import annotations

import uuid
from urllib.parse import urljoin

import httpx

from tests.test_browser import page  # noqa: F401  (the fixture: a browser page on the running app)


def test_a_fallback_answers_pull_link_opens_the_models_tab_with_the_name(page, running_app,  # noqa: F811
                                                                         engine_models_dir):
    url, _ = running_app
    title = f"Fallback link {uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=url + "/api", timeout=300) as api:
        profile_id = api.get("/profiles").json()[0]["id"]
        chat_id = api.post(f"/profiles/{profile_id}/chats", json={"title": title}).json()["id"]
        api.patch(f"/chats/{chat_id}", json={"model_overrides": {"chat": "nonexistent:1b"}})
        answer = api.post("/chat", json={"chat_id": chat_id, "message": "Say hi."}).json()
    assert answer["status"] == "ok" and answer["meta"]["model_asked"] == "nonexistent:1b"

    page.reload()
    page.wait_for_selector("#chat-list label")
    page.locator("#chat-list label", has_text=title).click()
    # Every answer of the app's chat role is a fallback here too: wait for this chat's own link.
    link = page.locator('#conversation a[href*="pull=nonexistent"]')
    link.wait_for()
    assert "nonexistent:1b" in link.inner_text()

    page.goto(urljoin(url + "/", link.get_attribute("href")))  # where a click on it goes
    page.wait_for_function("() => document.querySelector('#pull-name textarea, #pull-name input')?.value"
                           " === 'nonexistent:1b'")
    selected = page.locator("button[role=tab][aria-selected=true]")
    assert selected.inner_text().strip() == "Models"
    advice = page.locator("#pull-progress")
    advice.wait_for()
    page.wait_for_function("d => document.querySelector('#pull-progress').innerText.includes(d)",
                           arg=str(engine_models_dir))
    assert "cannot download" in advice.inner_text()
