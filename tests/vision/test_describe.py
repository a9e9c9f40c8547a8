"""A vision-capable model is sent the image as plain base64 (no `data:` prefix, longest side <= the
setting); a model without the capability is never sent images, and the analysis says only text was read."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.vision.stub_ollama import DESCRIPTION, StubOllama
from workspace.llm import LLMGateway
from workspace.vision.parse import Describer, analyse


class CountingReader:
    """Stands in for OCR here (the OCR itself is tested on real renders in test_ocr.py)."""

    def __init__(self) -> None:
        self.calls = 0

    def read(self, image: Image.Image) -> str:
        self.calls += 1
        return "Traceback (most recent call last):"


@pytest.fixture
def stub():
    with StubOllama(vision_models=("seer:1b",), plain_models=("plain:1b",)) as server:
        yield server


@pytest.fixture
def gateway():
    gateway = LLMGateway("http://127.0.0.1:9")
    yield gateway
    gateway.close()


def test_a_vision_model_gets_plain_base64_of_a_downscaled_image(stub, gateway):
    describer = Describer(gateway, "seer:1b", stub.url, max_side=1024)
    image = Image.new("RGB", (2048, 1152), "navy")
    text = analyse([("shot.png", image)], CountingReader(), describer)
    assert len(stub.chats) == 1
    sent = stub.chats[0]["messages"][0]["images"]
    assert len(sent) == 1 and isinstance(sent[0], str) and not sent[0].startswith("data:")
    with Image.open(io.BytesIO(base64.b64decode(sent[0], validate=True))) as received:
        assert received.size == (1024, 576)
    assert DESCRIPTION in text and "Description by seer:1b" in text and "Traceback" in text
    assert "Only the text" not in text


def test_a_model_without_vision_is_never_sent_images(stub, gateway):
    reader = CountingReader()
    text = analyse([("a.png", Image.new("RGB", (40, 40))), ("b.png", Image.new("RGB", (40, 40)))], reader,
                   Describer(gateway, "plain:1b", stub.url, max_side=1024))
    assert stub.chats == [] and reader.calls == 2
    assert "plain:1b has no vision capability" in text and "Only the text in the image was read" in text
    assert text.count("Text read from the image (OCR)") == 2


def test_a_missing_vision_model_is_reported_not_fatal(stub, gateway):
    text = analyse([("a.png", Image.new("RGB", (40, 40)))], CountingReader(),
                   Describer(gateway, "absent:7b", stub.url, max_side=1024))
    assert stub.chats == [] and "absent:7b is not available" in text and "Only the text" in text
