"""OCR reads a rendered traceback, light and dark, offline (the suite's network guard is on)."""

from __future__ import annotations

import pytest

from tests.vision.rendering import TRACEBACK, char_accuracy, render
from workspace.vision.parse import TextReader

# rapidocr is deterministic for a given image: a fixed expectation, measured at 1.00 for both themes here.
MIN_ACCURACY = 0.97


@pytest.fixture(scope="module")
def reader():
    return TextReader()


@pytest.mark.parametrize(("theme", "size_px"), [("light", 14), ("dark", 13)])
def test_ocr_reads_a_rendered_traceback(reader, theme, size_px):
    text = reader.read(render(TRACEBACK, theme, size_px))
    accuracy = char_accuracy("\n".join(TRACEBACK), text)
    assert accuracy >= MIN_ACCURACY, f"{theme}: {accuracy:.3f}\n{text}"
    assert len(text.splitlines()) == len(TRACEBACK)  # one line read per line shown, in order
    assert text.splitlines()[0].startswith("Traceback")


def test_a_blank_image_has_no_text(reader):
    assert reader.read(render([""], "light")) == ""
