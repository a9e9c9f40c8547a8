"""The Code and Study tabs in a real browser (Debian's chromium via Playwright) against the real app and model:
run a task, watch the stages progress, see the verdict card and the final code; ask the tutor.
With SCREENSHOTS=1 the finished run is the README's code.png."""

from __future__ import annotations

from tests.test_browser import DESKTOP, page, shoot  # noqa: F401 — the shared browser fixture

# A function no other test asks for: the page may have re-attached to an earlier run first.
TASK = "Write a Python function `plus_one(x)` that returns x + 1.\n>>> plus_one(2)\n3"


def test_code_tab_runs_a_task_through_the_stages(page):  # noqa: F811
    page.locator("a.ws-nav", has_text="Code").click()
    page.locator("#code-task textarea").fill(TASK)
    page.locator("#code-run").click()
    page.wait_for_function("() => document.querySelector('#code-stages')?.innerText.includes('coder #1')")
    page.wait_for_function("() => document.querySelector('#verdict-card')?.innerText.includes('Confidence') && "
                           "document.querySelector('#code-final')?.innerText.includes('def plus_one')",
                           timeout=300_000)
    stages = page.locator("#code-stages").inner_text()
    assert "coder #1" in stages and "judge" in stages  # run or skipped, every stage is listed
    assert "examples from the task" in page.locator("#verdict-card").inner_text()
    page.reload()  # a reload re-attaches to the browser's last run
    page.locator("a.ws-nav", has_text="Code").click()
    page.wait_for_function("() => document.querySelector('#verdict-card')?.innerText.includes('Confidence')")
    shoot(page, "code", DESKTOP)  # the finished run, its verdict card shown


def test_study_tab_streams_an_explanation(page):  # noqa: F811
    page.locator("a.ws-nav", has_text="Study").click()
    page.locator("#study-question textarea").fill("What is a Python generator?")
    page.locator("#study-ask").click()
    page.wait_for_function("() => document.querySelectorAll('#study-conversation .bot-row').length > 0")
    page.wait_for_function(
        "() => { const s = document.querySelector('#study-session input'); return s && s.value && "
        "s.value !== 'New session'; }")


STUDY_LOG = "#study-conversation [role=log]"  # the Study tab Chatbot's scrolling element
STUDY_ANSWER = "[...document.querySelectorAll('#study-conversation .bot-row')].pop()"
STUDY_LENGTH = f"() => ({STUDY_ANSWER}?.innerText || '').length"
# The stored answer, once it ends: its footer, and no longer the "…" of an answer about to begin (shown with one).
STUDY_ENDED = f"() => {{ const a = {STUDY_ANSWER}; " \
              "return !!a?.querySelector('.answer-meta') && !a.innerText.trim().startsWith('\u2026'); }"
STUDY_FROM_END = f"() => {{ const log = document.querySelector('{STUDY_LOG}'); " \
                 "return log.scrollHeight - log.scrollTop - log.clientHeight; }"


def test_a_study_explanation_keeps_its_place_when_the_reader_scrolls_up(page):  # noqa: F811
    page.locator("a.ws-nav", has_text="Study").click()
    # The tab restored (its profile chosen): a restore arriving after the question would clear the session.
    page.wait_for_function("() => document.querySelector('#study-profile input')?.value")
    question = page.locator("#study-question textarea")
    question.fill("List 40 Python built-in functions as a numbered list, each with a one-line example.")
    question.press("Enter")
    page.wait_for_function(f"() => {STUDY_ANSWER} && ({STUDY_ENDED})()")
    question.fill("Now list 40 string methods the same way.")  # a follow-up in the same session
    page.locator("#study-ask").click()  # (Enter's event may still be finishing: a click is another event)
    # The follow-up is being written and the session overflows the explanation's box.
    page.wait_for_function(f"""() => {{ const log = document.querySelector('{STUDY_LOG}');
        return document.querySelectorAll('#study-conversation .bot-row').length === 2 &&
               log.scrollHeight > log.clientHeight + 150 && !({STUDY_ENDED})(); }}""")
    log = page.locator(STUDY_LOG)
    log.evaluate("el => { el.scrollTop = 0; }")  # the reader goes up to the first answer
    written = page.evaluate(STUDY_LENGTH)
    # Updates went on meanwhile (or the answer ended, which re-renders it whole: that must not move it either).
    page.wait_for_function(f"n => ({STUDY_LENGTH})() > n || ({STUDY_ENDED})()", arg=written + 24)
    top, from_end = log.evaluate("el => [el.scrollTop, el.scrollHeight - el.scrollTop - el.clientHeight]")
    assert top < 5 and from_end > 80, f"the explanation moved while the reader was above: {top}, {from_end}"
    log.hover()
    page.mouse.wheel(0, 20_000)  # back down to the end: the view follows the explanation again
    page.wait_for_function(f"() => ({STUDY_FROM_END})() < 4")
    written = page.evaluate(STUDY_LENGTH)
    page.wait_for_function(f"n => (({STUDY_LENGTH})() > n || ({STUDY_ENDED})()) && ({STUDY_FROM_END})() < 4",
                           arg=written + 12)
    page.locator("#study-stop").click()  # ends the answer if it is still being written
    page.wait_for_function(STUDY_ENDED)
