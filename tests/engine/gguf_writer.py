"""Writes tiny synthetic GGUF files for tests (header, metadata and tensor index only)."""

from __future__ import annotations

import struct
from pathlib import Path


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(value) -> bytes:
    if isinstance(value, bool):
        return struct.pack("<I?", 7, value)
    if isinstance(value, int):
        return struct.pack("<II", 4, value)
    if isinstance(value, float):
        return struct.pack("<If", 6, value)
    if isinstance(value, str):
        return struct.pack("<I", 8) + _string(value)
    if isinstance(value, list):  # lists of strings only, enough for a vocabulary
        return struct.pack("<IIQ", 9, 8, len(value)) + b"".join(_string(v) for v in value)
    raise TypeError(value)


def write_gguf(path: Path, metadata: dict, tensors: dict[str, list[int]]) -> Path:
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, value in metadata.items():
        out += _string(key) + _value(value)
    for name, dims in tensors.items():
        out += _string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", 0, 0)
    path.write_bytes(bytes(out) + b"\0" * 64)
    return path


def tiny_model(path: Path) -> Path:
    """A GGUF that reads like a 40-parameter Q4_K_M 'tiny' model with a 128-token context."""
    return write_gguf(path, {
        "general.architecture": "tiny",
        "general.name": "Tiny Test",
        "general.file_type": 15,
        "tiny.context_length": 128,
        "tiny.embedding_length": 8,
        "tokenizer.ggml.tokens": [f"tok{i}" for i in range(100)],
        "tokenizer.chat_template": "{{ messages }}",
        "tokenizer.ggml.add_bos_token": False,
    }, {"token_embd.weight": [8, 4], "output_norm.weight": [8]})
