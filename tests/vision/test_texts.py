"""Text attachments are recognised by their bytes (UTF-8 text), never by name; size-limited; fenced for the model."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from workspace.chat import fenced, model_text
from workspace.store.records import Attachment, Message
from workspace.vision.images import AttachmentRejected
from workspace.vision.texts import is_text, prepare_text

DIFF = b"--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n-x = 1\n+x = 2\n"
LOG = "2026-12-02 01:14:07\tERROR\tcafé → 500\r\n".encode() * 50


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("data", [DIFF, LOG, b"\xef\xbb\xbfdef f():\n    return 1\n", "é".encode() * 10 + b"\xc3"])
def test_utf8_text_is_text_whatever_its_end(data):
    assert is_text(data)  # the last case: a read cut at the size limit inside a character


@pytest.mark.parametrize("data", [b"", png(), b"GIF89a-not-really", b"RIFF\x10\0\0\0WEBPVP8 ", bytes(range(256)),
                                  "naïve".encode("latin-1"), b"text\x01\x02\x03\x04\x05 with controls"])
def test_images_binary_and_other_encodings_are_not_text(data):
    assert not is_text(data)


def test_a_text_file_keeps_its_shown_name_and_plain_newlines():
    attached = prepare_text(b"\xef\xbb\xbfline 1\r\nline 2\r", "../../logs/server.log", max_kb=1)
    assert attached.name == "server.log" and attached.text == "line 1\nline 2\n"


def test_a_text_file_over_the_limit_is_refused_with_its_size():
    with pytest.raises(AttachmentRejected, match=r"big\.log: the text file is 3 KB; the limit is 2 KB"):
        prepare_text(b"x" * 3 * 1024, "big.log", max_kb=2)


def test_the_fence_is_longer_than_any_backticks_inside():
    block = fenced("notes.md", "```python\nprint(1)\n```\n")
    assert block.startswith("[Attached file: notes.md]\n````\n") and block.endswith("\n```\n````")


def test_the_model_reads_the_text_then_each_file_then_the_image_analysis():
    message = Message(id="a" * 16, role="user", content="Why?", created_at=1, updated_at=1, analysis="OCR text",
                      attachments=[Attachment(name="a.py", text="x = 1"), Attachment(name="b.diff", text="-y")])
    text = model_text(message)
    assert text.index("Why?") < text.index("[Attached file: a.py]\n```\nx = 1\n```") \
        < text.index("[Attached file: b.diff]") < text.index("OCR text")
