"""In a real browser: attach an image in the Chat tab's message box, see its thumbnail (served by the app's
own route) and an answer; reload — the thumbnail and the folded image analysis are still there. Attach a text
file: its name folds open in the bubble and the store keeps it with the message."""

from __future__ import annotations

import httpx

from tests.test_browser import page, stored_answer  # noqa: F401 (the page fixture and its loopback check)
from tests.vision.rendering import render

THUMB_LOADED = ("() => [...document.querySelectorAll('#conversation img.chat-thumb')]"
                ".some(img => img.complete && img.naturalWidth > 0)")


def send_in_a_new_chat(page, path, message: str, uploaded: str) -> None:  # noqa: F811
    """Open a new chat, attach `path` in the message box, wait until `uploaded` shows it there, send `message`."""
    page.wait_for_function("() => document.querySelector('#profile-switcher input')?.value")  # the page restored
    page.locator("#new-chat").click()
    page.locator("#message-box input[type=file]").set_input_files(str(path))
    page.wait_for_selector(uploaded)  # the upload is in the box
    box = page.locator("#message-box textarea")
    box.fill(message)
    box.press("Enter")


def test_attach_an_image_see_thumbnail_answer_and_analysis_after_reload(page, tmp_path):  # noqa: F811
    shot = tmp_path / "shot.png"
    render(["ZeroDivisionError: division by zero"]).save(shot)
    send_in_a_new_chat(page, shot, "Explain this screenshot", "#message-box img, #message-box .thumbnail-item")
    page.wait_for_function(THUMB_LOADED)
    assert stored_answer(page.url, "Explain this screenshot").strip()

    page.reload()
    page.wait_for_selector("#message-box textarea")
    page.wait_for_function(THUMB_LOADED)
    summary = page.locator("#conversation details summary", has_text="Image analysis")
    summary.first.click()
    analysis = page.locator("#conversation details pre").first.inner_text()
    assert "ZeroDivisionError" in analysis and "Only the text in the image was read" in analysis


def test_attach_a_text_file_see_it_in_the_bubble_and_stored(running_app, page, tmp_path):  # noqa: F811
    source = tmp_path / "config_loader.py"
    source.write_text("def port(config):\n    return config['port']  # KeyError when missing\n")
    send_in_a_new_chat(page, source, "Review this file", "#message-box .thumbnail-item")
    bubble_file = page.locator("#conversation details summary", has_text="File: config_loader.py")
    bubble_file.first.wait_for()
    assert stored_answer(page.url, "Review this file").strip()
    with httpx.Client(base_url=running_app[0] + "/api", timeout=30) as api:
        chat_id = next(c["id"] for p in api.get("/profiles").json()
                       for c in api.get(f"/profiles/{p['id']}/chats").json() if c["title"] == "Review this file")
        user = api.get(f"/chats/{chat_id}/messages").json()[0]
    assert user["content"] == "Review this file" and user["images"] == []
    assert [(f["name"], f["text"]) for f in user["attachments"]] == [("config_loader.py", source.read_text())]
    bubble_file.first.click()  # unfolds the file's text in the bubble
    assert "KeyError when missing" in page.locator("#conversation details pre").first.inner_text()
