"""Model files without loading any: GGUF headers, naming, request options, and the verified assembly
of packaged models (on tiny fake parts, through the real assembly functions)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from tests.engine.gguf_writer import tiny_model
from workspace.engine import ModelUnavailable
from workspace.engine.gguf import GGUFError, human_number, read_gguf, read_gguf_stream
from workspace.engine.models import (
    STARTER,
    ModelRegistry,
    PackagedModel,
    assemble_model,
    find_part_files,
    is_verified,
    normalize_name,
    verify_or_assemble,
)
from workspace.engine.options import (
    BadRequest,
    effective_num_ctx,
    parse_format,
    parse_keep_alive,
    parse_options,
)


def test_header_reader_reads_metadata_and_counts_parameters(tmp_path):
    info = read_gguf(tiny_model(tmp_path / "tiny.gguf"))
    assert info.architecture == "tiny" and info.context_length == 128
    assert info.parameter_count == 8 * 4 + 8 and info.parameter_size == "40"
    assert info.quantization == "Q4_K_M" and info.chat_template == "{{ messages }}"
    assert info.skipped_arrays == {"tokenizer.ggml.tokens": 100}


def test_header_reader_refuses_other_files():
    with pytest.raises(GGUFError):
        read_gguf_stream(io.BytesIO(b"PK\x03\x04 not a gguf"))
    with pytest.raises(GGUFError):
        read_gguf_stream(io.BytesIO(b"GGUF\x03\x00\x00\x00"))  # truncated


@pytest.mark.parametrize("count, text", [
    (494_032_768, "494.03M"), (1_500_000_000, "1.5B"), (7_000_000_000, "7B"), (40, "40")])
def test_parameter_sizes_read_like_ollama(count, text):
    assert human_number(count) == text


def test_names_are_case_insensitive_with_latest_implied():
    assert normalize_name("Llama3") == normalize_name("llama3:latest") == "llama3:latest"
    assert normalize_name("qwen2.5-coder:0.5b") == "qwen2.5-coder:0.5b"


def test_a_dropped_gguf_is_listed_by_its_stem(tmp_path):
    tiny_model(tmp_path / "MyTiny.gguf")
    (tmp_path / "notes.gguf").write_text("not a model")
    registry = ModelRegistry(tmp_path, packaged=())
    assert list(registry.entries()) == ["mytiny:latest"]
    entry = registry.find("mytiny")
    assert entry is not None and entry.name == "mytiny:latest" and len(entry.digest) == 64
    assert registry.info(entry).architecture == "tiny"


def test_options_defaults_types_and_limits():
    sampling = parse_options({"temperature": 0, "stop": ["\n"], "num_ctx": 999999, "unknown": 1})
    assert sampling.temperature == 0.0 and sampling.stop == ["\n"] and sampling.top_k == 40
    assert effective_num_ctx(sampling.num_ctx, 32768) == 32768
    assert effective_num_ctx(None, 32768) == 4096
    with pytest.raises(BadRequest):
        parse_options({"stop": "\n"})  # must be a list, like Ollama
    with pytest.raises(BadRequest):
        parse_options({"temperature": "hot"})


@pytest.mark.parametrize("raw, seconds", [
    (None, 300.0), (0, 0.0), (10, 10.0), ("5m", 300.0), ("1h30m", 5400.0), ("-1m", -60.0), ("0", 0.0)])
def test_keep_alive_numbers_and_go_durations(raw, seconds):
    assert parse_keep_alive(raw, 300) == seconds


def test_keep_alive_bare_numeric_string_is_refused():
    with pytest.raises(BadRequest, match="missing unit"):
        parse_keep_alive("10", 300)


def test_format_accepts_json_and_schemas_only():
    assert parse_format(None) is None and parse_format("") is None
    assert parse_format("json") is not None
    assert parse_format({"type": "object", "properties": {"a": {"type": "integer"}}}) is not None
    with pytest.raises(BadRequest, match="invalid format"):
        parse_format("yaml")


def _parts(tmp_path: Path) -> tuple[list[Path], bytes]:
    chunks = [b"first part|", b"second part|", b"third"]
    parts = []
    for i, chunk in enumerate(chunks):
        parts.append(tmp_path / f"part{i:02}.bin")
        parts[-1].write_bytes(chunk)
    return parts, b"".join(chunks)


def test_assembly_concatenates_and_verifies(tmp_path):
    parts, whole = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    assemble_model(parts, dest, len(whole), hashlib.sha256(whole).hexdigest())
    assert dest.read_bytes() == whole and is_verified(dest, len(whole), hashlib.sha256(whole).hexdigest())


def test_assembly_refuses_a_wrong_hash_and_leaves_no_file(tmp_path):
    parts, whole = _parts(tmp_path)
    dest = tmp_path / "models" / "m.gguf"
    with pytest.raises(ModelUnavailable, match="sha256"):
        assemble_model(parts, dest, len(whole), "0" * 64)
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_assembly_refuses_parts_of_the_wrong_size(tmp_path):
    parts, whole = _parts(tmp_path)
    with pytest.raises(ModelUnavailable, match="bytes"):
        assemble_model(parts, tmp_path / "m.gguf", len(whole) + 1, hashlib.sha256(whole).hexdigest())
    assert not (tmp_path / "m.gguf").exists()


def test_a_truncated_or_corrupt_model_file_is_detected_and_rebuilt(tmp_path):
    parts, whole = _parts(tmp_path)
    size, digest = len(whole), hashlib.sha256(whole).hexdigest()
    dest = verify_or_assemble(parts, tmp_path / "m.gguf", size, digest)
    dest.write_bytes(whole[:-3])  # truncated after verification
    assert not is_verified(dest, size, digest)
    assert verify_or_assemble(parts, dest, size, digest).read_bytes() == whole
    dest.write_bytes(b"X" * size)  # same size, different content, marker now stale
    assert verify_or_assemble(parts, dest, size, digest).read_bytes() == whole


def test_a_corrupt_file_without_parts_is_refused_and_removed(tmp_path):
    _, whole = _parts(tmp_path)
    dest = tmp_path / "m.gguf"
    dest.write_bytes(b"X" * len(whole))
    with pytest.raises(ModelUnavailable, match="pip install x"):
        verify_or_assemble(None, dest, len(whole), hashlib.sha256(whole).hexdigest(),
                           pip_command="pip install x")
    assert not dest.exists()


def test_a_missing_packaged_model_is_absent_with_the_pip_command(tmp_path):
    spec = PackagedModel("fake:1b", ("no-such-distribution-part1",), "1.0", 10, "0" * 64, "fake.gguf")
    registry = ModelRegistry(tmp_path, packaged=(spec,))
    assert registry.find("fake:1b") is None
    assert "pip install no-such-distribution-part1==1.0" in registry.missing_reason("fake:1b")


def test_starter_parts_are_found_through_package_metadata():
    parts = find_part_files(STARTER.packages)
    if parts is None:
        pytest.fail(f"starter packages not installed: {STARTER.pip_command}")
    assert len(parts) == 6 and sum(p.stat().st_size for p in parts) == STARTER.size
