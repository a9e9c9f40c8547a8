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
