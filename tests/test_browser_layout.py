"""The messaging-app layout in a real browser (Debian's chromium via Playwright) against the real app and model,
on a 1400×1000 desktop and a 390×844 phone: the conversation and the message box on the first screen, the
sidebar opening and closing, /chat and /dashboard as real addresses, the keyboard shortcuts, a chat still being
answered marked in the list, the installable app's own name and icon, a running answer keeping the place the user
scrolled up to. Every request the page makes is recorded: anything beyond loopback fails the test (the shared
`page` fixture's check).

With SCREENSHOTS=1 the phone test also saves the README's chat-phone.png (tests/test_browser.py's `shoot`)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.test_browser import DESKTOP, LIMIT_S, page, shoot  # noqa: F401 — the shared fixture

PHONE = {"width": 390, "height": 844}


def on_first_screen(page, selector: str) -> bool:  # noqa: F811
    """Whether the element lies wholly inside the viewport as the page opened (no scrolling)."""
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return window.scrollY === 0 && r.top >= 0 && r.height > 0 && r.bottom <= window.innerHeight &&
               r.left >= 0 && r.right <= window.innerWidth; }""", selector)


def wait_sidebar(page, open_: bool) -> None:  # noqa: F811
    page.wait_for_function("(o) => document.querySelector('#sidebar').classList.contains('open') === o", arg=open_)


CHAT_LIST_VISIBLE = """() => { const r = document.querySelector('#chat-list').getBoundingClientRect();
    return r.right > 0 && r.left < window.innerWidth; }"""


def chat_list_visible(page) -> bool:  # noqa: F811
    """Whether the chat list is on screen (a closed sidebar slides out of the viewport)."""
    return page.evaluate(CHAT_LIST_VISIBLE)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_conversation_and_message_box_on_the_first_screen_and_the_sidebar_toggles(page, viewport):  # noqa: F811
    page.set_viewport_size(viewport)
    page.reload()
    page.wait_for_selector("#message-box textarea")
    page.wait_for_function("() => document.querySelector('#sidebar .toggle-button')")
    phone = viewport is PHONE
    wait_sidebar(page, not phone)
    # Gradio's sidebar slides: its class changes at once, the chat list is on screen once the slide ends.
    page.wait_for_function(f"(o) => ({CHAT_LIST_VISIBLE})() === o", arg=not phone)
    assert on_first_screen(page, "#conversation") and on_first_screen(page, "#message-box")
    assert on_first_screen(page, "#send") and chat_list_visible(page) == (not phone)
    # The header says what answers in words, and shows no loopback address to open.
    status = page.locator("#backend-status").inner_text()
    assert status.startswith("built-in engine") and "127.0.0.1" not in page.locator("#backend-header").inner_text()
    if phone:  # every button on the first screen can be hit with a thumb
        heights = page.evaluate("""() => [...document.querySelectorAll('button, a.ws-nav')]
            .filter(b => b.offsetParent !== null && b.getBoundingClientRect().bottom <= window.innerHeight)
            .map(b => [b.innerText || b.getAttribute('aria-label'), b.getBoundingClientRect().height])""")
        small = [(name, h) for name, h in heights if h < 44]
        assert not small, small
    if phone:
        shoot(page, "chat-phone")

    page.locator("#sidebar .toggle-button").click()
    wait_sidebar(page, phone)
    page.locator("#sidebar .toggle-button").click()
    wait_sidebar(page, not phone)
    if phone:  # opened from its button, the sidebar shows the list; choosing a chat closes it again
        page.locator("#sidebar .toggle-button").click()
        wait_sidebar(page, True)
        page.locator("#new-chat").click()
        wait_sidebar(page, False)


def test_chat_and_dashboard_are_addresses_and_the_header_reaches_every_view(page, running_app):  # noqa: F811
    url, _ = running_app
    page.set_viewport_size(DESKTOP)
    navs = page.locator("a.ws-nav")
    assert [navs.nth(i).inner_text() for i in range(navs.count())] == ["Chat", "Code", "Study", "Models",
                                                                      "Dashboard"]
    page.locator("a.ws-nav", has_text="Code").click()
    page.wait_for_function("() => document.querySelector('#code-task')?.offsetParent !== null")
    assert page.url.endswith("/?tab=code")
    page.mouse.move(5, 700)  # off the links: a hovered link is highlighted too
    # Only Code ends up marked, however the header's refresh and the click were ordered (the marks fade: wait).
    page.wait_for_function("""() => [...document.querySelectorAll('a.ws-nav')]
        .filter(a => getComputedStyle(a).backgroundColor !== 'rgba(0, 0, 0, 0)')
        .map(a => a.innerText).join() === 'Code'""")
    page.locator("a.ws-nav", has_text="Dashboard").click()
    page.wait_for_selector("#dash-runs")
    assert page.url == url + "/dashboard" and page.locator("#message-box").count() == 0
    page.wait_for_selector("#plot-volume")
    page.locator("a.ws-nav", has_text="Chat").click()
    page.wait_for_selector("#message-box textarea")
    assert page.url == url + "/chat" and page.locator("#conversation").is_visible()
    page.locator("a.ws-nav", has_text="Study").click()  # from another page: the main page opens that tab
    page.wait_for_function("() => document.querySelector('#study-question')?.offsetParent !== null")
    page.goto(url + "/dashboard")
    page.wait_for_selector("#dash-runs")


def test_keyboard_shortcuts_and_a_chat_being_answered_is_marked(page):  # noqa: F811
    page.set_viewport_size(DESKTOP)
    page.wait_for_function("() => document.querySelector('#profile-switcher input')?.value")  # the page restored
    page.keyboard.press("Control+k")
    assert page.evaluate("() => document.activeElement.closest('#chat-filter') !== null")
    page.locator("#new-chat").click()
    page.wait_for_function("() => document.querySelector('#chat-list input:checked')?.closest('label')"
                           ".innerText.startsWith('New chat')")
    box = page.locator("#message-box textarea")
    box.click()
    box.type("Count from one to fifty in words, one per line.")
    box.press("Shift+Enter")  # a new line, not a send
    box.type("Go.")
    assert "\n" in box.input_value()
    # An answer can end by itself before Esc lands (the list's mark is refreshed when the page hears of it):
    # then ask again in the same chat; Esc not stopping three answers in a row fails the test.
    for attempt in range(3):
        if attempt:
            box.type("Again, please.")
        box.press("Enter")  # sends
        page.wait_for_function(f"() => document.querySelectorAll('#conversation .bot-row').length === {attempt + 1}")
        page.wait_for_function("() => document.querySelector('#message-box textarea').value === ''")  # sent
        # While the answer is being written the open chat is marked in the list.
        page.wait_for_function("() => document.querySelector('#chat-list input:checked')?.closest('label')"
                               ".innerText.trim().startsWith('\u25cf')")
        page.keyboard.press("Escape")  # stops the answer
        last = ended_answer(page.url, "Count from one to fifty")
        page.wait_for_function("() => !document.querySelector('#chat-list input:checked')?.closest('label')"
                               ".innerText.trim().startsWith('\u25cf')")
        if last["status"] == "stopped":
            break
    assert last["status"] == "stopped"
    # Under the answer: when, and which model.
    page.wait_for_function("() => document.querySelector('#conversation .bot-row .answer-meta')")
    assert last["model"] in page.locator("#conversation .bot-row .answer-meta").last.inner_text()


def ended_answer(page_url: str, title: str) -> dict:
    """The last message of the chat titled `title` once it is stored as ended (waits on the stored status)."""
    with httpx.Client(base_url=page_url.rstrip("/") + "/api", timeout=30) as api:
        chat_id = next(c["id"] for p in api.get("/profiles").json()
                       for c in api.get(f"/profiles/{p['id']}/chats").json() if c["title"].startswith(title))
        deadline = time.monotonic() + LIMIT_S
        while (last := api.get(f"/chats/{chat_id}/messages").json()[-1])["status"] == "streaming":
            assert time.monotonic() < deadline, "the answer was never stored as ended"
            time.sleep(0.2)
        return last


def test_installable_with_its_own_name_and_icon(page, running_app):  # noqa: F811
    url, _ = running_app
    manifest_link = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.context.request.get(url + "/" + manifest_link.lstrip("./")).json()
    assert manifest["name"] == "Local AI Workspace" and manifest["display"] == "standalone"
    icon = manifest["icons"][0]["src"]
    assert not icon.startswith("http") or icon.startswith(url)
    served = page.context.request.get(url + "/" + icon.lstrip("/"))
    assert served.ok and b"<svg" in served.body() and b"http://www.w3.org/2000/svg" in served.body()
    assert b"href=\"http" not in served.body()


LOG = "#conversation [role=log]"  # the Chatbot's scrolling element
ANSWER_LENGTH = "() => ([...document.querySelectorAll('#conversation .bot-row')].pop()?.innerText || '').length"
FROM_END = f"() => {{ const log = document.querySelector('{LOG}'); " \
           "return log.scrollHeight - log.scrollTop - log.clientHeight; }"


def test_a_running_answer_keeps_its_place_when_the_user_scrolls_up(page):  # noqa: F811
    page.set_viewport_size({"width": 1000, "height": 560})  # a short conversation: a few lines overflow it
    page.wait_for_function("() => document.querySelector('#profile-switcher input')?.value")  # the page restored
    page.locator("#new-chat").click()
    page.wait_for_function("() => document.querySelector('#chat-list input:checked')?.closest('label')"
                           ".innerText.startsWith('New chat')")
    box = page.locator("#message-box textarea")
    box.fill("List 30 animals as a numbered list, one word per item.")  # many lines, each a few tokens
    box.press("Enter")
    # While the answer is still being written (the list marks its chat), it is taller than the conversation
    # (by more than the answer first shown before the model starts: "…" and the fallback model's note).
    page.wait_for_function(f"""() => {{ const log = document.querySelector('{LOG}');
        const answer = [...document.querySelectorAll('#conversation .bot-row')].pop();
        const open = document.querySelector('#chat-list input:checked')?.closest('label');
        return answer?.getBoundingClientRect().height > log.clientHeight + 150 &&
               open?.innerText.trim().startsWith('\u25cf'); }}""")
    log = page.locator(LOG)
    log.evaluate("el => { el.scrollTop = 0; }")  # the user goes up to read the start
    written = page.evaluate(ANSWER_LENGTH)
    page.wait_for_function(f"n => ({ANSWER_LENGTH})() > n", arg=written + 24)  # updates went on meanwhile
    top, from_end = log.evaluate("el => [el.scrollTop, el.scrollHeight - el.scrollTop - el.clientHeight]")
    assert top < 5 and from_end > 80, f"the conversation moved while the user was reading above: {top}, {from_end}"
    # Back down to the end (with the mouse wheel), the conversation follows the answer again.
    log.hover()
    page.mouse.wheel(0, 20_000)
    page.wait_for_function(f"() => ({FROM_END})() < 4")
    written = page.evaluate(ANSWER_LENGTH)
    page.wait_for_function(f"n => ({ANSWER_LENGTH})() > n && ({FROM_END})() < 4", arg=written + 12)
    page.keyboard.press("Escape")  # stops the answer if it is still being written
    page.wait_for_selector("#conversation .bot-row .answer-meta")  # the ended answer, as stored, is shown
