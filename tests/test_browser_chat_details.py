"""Details of the chat in a real browser (Debian's chromium via Playwright) against the real app and model:
switching profile without an error, a chat's "still writing" mark gone once its answer ended, "+ New chat" not
piling up empty chats, bold text the size of its paragraph."""

from __future__ import annotations

import uuid

import httpx

from tests.test_browser import SETTLED, page  # noqa: F401 — the shared fixture

TOASTS = "() => [...document.querySelectorAll('[data-testid=toast-body]')].map(t => t.innerText)"
# The chat panel's title: its fields are filled last, once the switched profile's chat list is shown.
TITLE_IS = "t => document.querySelector('#chat-title textarea, #chat-title input')?.value === t"


def choose_profile(page, name: str) -> None:  # noqa: F811
    page.get_by_role("combobox", name="Profile").first.click()
    page.get_by_role("option", name=name).click()


def test_switching_profile_shows_no_error(page, running_app):  # noqa: F811
    url, _ = running_app
    suffix = uuid.uuid4().hex[:6]
    busy, empty, title = f"Busy {suffix}", f"Empty {suffix}", f"Busy chat {suffix}"
    with httpx.Client(base_url=url + "/api", timeout=30) as api:
        busy_id = api.post("/profiles", json={"name": busy}).json()["id"]
        api.post(f"/profiles/{busy_id}/chats", json={"title": title})
        api.post("/profiles", json={"name": empty})
    page.reload()
    page.wait_for_function("() => document.querySelector('#profile-switcher input')?.value")
    page.wait_for_function(SETTLED)
    # From a profile with a chat open to one without, and back: the list changes under the open chat each time.
    for name, shows in ((busy, title), (empty, ""), (busy, title)):
        choose_profile(page, name)
        if shows:
            page.wait_for_function("t => document.querySelector('#chat-list input:checked')?.closest('label')"
                                   "?.innerText.includes(t)", arg=shows)
        else:
            page.wait_for_function("() => !document.querySelector('#chat-list label')")
        page.wait_for_function(TITLE_IS, arg=shows)
        page.wait_for_function(SETTLED)
        assert page.evaluate(TOASTS) == [], f"switching to {name}"
