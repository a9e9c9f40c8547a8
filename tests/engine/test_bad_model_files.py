"""Broken `*.gguf` files beside the starter model: skipped with a logged reason, never a 500.

The header reader bounds every length a file claims by what the file holds, so a corrupt header is a
GGUFError (not a MemoryError or OverflowError), and the running engine keeps listing and serving
the good model.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import httpx
import ollama
import pytest

from workspace.engine.gguf import GGUFError, read_gguf
from workspace.engine.models import PACKAGED_DIR, STARTER

HUGE = 2 ** 62


def _string(text: str) -> bytes:
    return struct.pack("<Q", len(text)) + text.encode()


def _header(kv_count: int, tensor_count: int = 0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, tensor_count, kv_count)


def huge_string_header() -> bytes:
    """One metadata value, a string said to be 2**62 bytes long."""
    return _header(1) + _string("general.name") + struct.pack("<IQ", 8, HUGE) + b"x" * 64


def huge_array_header() -> bytes:
    """One metadata value, an array of 2**62 uint32."""
    array = struct.pack("<IIQ", 9, 4, HUGE)
    return _header(1) + _string("tokenizer.ggml.token_type") + array + b"\0" * 64


def huge_counts_header() -> bytes:
    """A header claiming 2**62 tensors and 2**62 metadata entries, then garbage."""
    return _header(HUGE, HUGE) + bytes(range(256)) * 64


@pytest.mark.parametrize("data", [
    huge_string_header(), huge_array_header(), huge_counts_header(),
    _header(1) + _string("k") + struct.pack("<IIQ", 9, 8, HUGE) + b"\0" * 64,
], ids=["string", "array", "counts", "string array"])
def test_claimed_lengths_are_bounded_by_the_file(tmp_path, data):
    path = tmp_path / "broken.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFError, match="claims"):  # before: MemoryError or OverflowError
        read_gguf(path)


def _starter_file(models_dir: Path) -> Path:
    return models_dir / PACKAGED_DIR / STARTER.filename


@pytest.fixture
def broken_files(engine_models_dir, starter_model):
    """Broken model files dropped next to the starter model, removed afterwards."""
    starter = _starter_file(engine_models_dir)
    with open(starter, "rb") as source:
        head = source.read(8 << 20)  # the whole header (about 6 MB) and the start of the weights
    files = {
        "corrupt": _header(7, 291) + bytes(range(256)) * 4096,
        "truncated-header": head[:1 << 20],
        "truncated-weights": head,
        "huge-string": huge_string_header(),
        "huge-array": huge_array_header(),
    }
    paths = [engine_models_dir / f"{name}.gguf" for name in files]
    for path, data in zip(paths, files.values(), strict=True):
        path.write_bytes(data)
    yield [f"{name}:latest" for name in files]
    for path in paths:
        path.unlink(missing_ok=True)


def test_broken_model_files_leave_the_starter_listed_and_working(
        engine_server, engine_url, starter_model, broken_files, caplog):
    with caplog.at_level(logging.WARNING, logger="workspace.engine.models"):
        tags = httpx.get(engine_url + "/api/tags", timeout=60)
    assert tags.status_code == 200
    listed = [m["name"] for m in tags.json()["models"]]
    assert starter_model in listed and not set(broken_files) & set(listed)
    assert starter_model in engine_server.model_names()
    assert not set(broken_files) & set(engine_server.model_names())
    skipped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping model file")]
    for name in broken_files:
        assert any(f"{name.split(':')[0]}.gguf" in message for message in skipped), name
    answer = ollama.Client(host=engine_url, timeout=300).generate(
        starter_model, "Hi", options={"temperature": 0, "num_predict": 2})
    assert answer.done and answer.eval_count > 0
    shown = httpx.post(engine_url + "/api/show", json={"model": "huge-string"}, timeout=60)
    assert shown.status_code == 404
