"""OCR reads a rendered traceback, light and dark, offline (the suite's network guard is on)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.vision.rendering import TRACEBACK, char_accuracy, render
from workspace.vision.parse import CROP_MARGIN, TextReader, content_area

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


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_screenshot_is_read_without_its_empty_background(reader, theme):
    text_block = render(TRACEBACK, theme, 14)
    shot = Image.new("RGB", (1600, 900), text_block.getpixel((0, 0)))
    shot.paste(text_block, (300, 200))
    cropped = content_area(shot)
    assert cropped.width < text_block.width + 2 * CROP_MARGIN and cropped.height < text_block.height + 2 * CROP_MARGIN
    assert char_accuracy("\n".join(TRACEBACK), reader.read(shot)) >= MIN_ACCURACY


def test_an_image_without_plain_margins_is_read_whole():
    noisy = Image.effect_noise((64, 48), 80).convert("RGB")
    assert content_area(noisy).size == (64, 48)
    blank = Image.new("RGB", (64, 48), "white")
    assert content_area(blank).size == (64, 48)


def test_the_ocr_sessions_let_idle_workers_sleep(reader):
    """The app's reader rebuilds rapidocr's sessions without spinning workers (parse._sleeping_workers); this
    fails if a rapidocr upgrade makes it fall back to rapidocr's own sessions."""
    reader.read(render(["warm-up"]))
    for stage in (reader._engine.text_det, reader._engine.text_rec):
        options = stage.session.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        assert options.intra_op_num_threads == 2
