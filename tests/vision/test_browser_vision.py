"""In a real browser: attach an image in the Chat tab's message box, see its thumbnail (served by the app's
own route) and an answer; reload — the thumbnail and the folded image analysis are still there."""

from __future__ import annotations

from tests.test_browser import page, stored_answer  # noqa: F401 (the page fixture and its loopback check)
from tests.vision.rendering import render

THUMB_LOADED = ("() => [...document.querySelectorAll('#conversation img.chat-thumb')]"
                ".some(img => img.complete && img.naturalWidth > 0)")


def test_attach_an_image_see_thumbnail_answer_and_analysis_after_reload(page, tmp_path):  # noqa: F811
    shot = tmp_path / "shot.png"
    render(["ZeroDivisionError: division by zero"]).save(shot)
    page.wait_for_function("() => document.querySelector('#profile-switcher input')?.value")  # the page restored
    page.locator("#new-chat").click()
    page.locator("#message-box input[type=file]").set_input_files(str(shot))
    page.wait_for_selector("#message-box img, #message-box .thumbnail-item")  # the upload is in the box
    box = page.locator("#message-box textarea")
    box.fill("Explain this screenshot")
    box.press("Enter")
    page.wait_for_function(THUMB_LOADED)
    assert stored_answer(page.url, "Explain this screenshot").strip()

    page.reload()
    page.wait_for_selector("#message-box textarea")
    page.wait_for_function(THUMB_LOADED)
    summary = page.locator("#conversation details summary", has_text="Image analysis")
    summary.first.click()
    analysis = page.locator("#conversation details pre").first.inner_text()
    assert "ZeroDivisionError" in analysis and "Only the text in the image was read" in analysis
