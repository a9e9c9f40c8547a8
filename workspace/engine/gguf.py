"""GGUF header reader: the metadata the engine shows about a model, read without loading its weights.

Owns parsing of the GGUF key/value section and tensor index (enough to count parameters), and the
translations Ollama shows from them: quantization names and human parameter sizes. It reads a plain
binary stream sequentially, so it works on one file or on split parts read one after the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

GGUF_MAGIC = b"GGUF"
_READ_CHUNK = 1 << 20
# Scalar value types by GGUF type id: struct format and size.
_SCALARS = {
    0: ("<B", 1), 1: ("<b", 1), 2: ("<H", 2), 3: ("<h", 2), 4: ("<I", 4), 5: ("<i", 4),
    6: ("<f", 4), 7: ("<?", 1), 10: ("<Q", 8), 11: ("<q", 8), 12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9
# Arrays longer than this (token lists, merges) are skipped: nobody shows them and they are megabytes.
_MAX_KEPT_ARRAY = 64

# llama.cpp's llama_ftype enum → the names Ollama shows as quantization_level.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}


class GGUFError(ValueError):
    """The stream is not a GGUF file this reader understands."""


@dataclass
class GGUFInfo:
    """What a GGUF header says about its model."""

    version: int
    metadata: dict[str, Any]
    parameter_count: int
    tensor_count: int
    skipped_arrays: dict[str, int] = field(default_factory=dict)  # key → element count

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if value is not None else None

    @property
    def file_type(self) -> int | None:
        value = self.metadata.get("general.file_type")
        return int(value) if value is not None else None

    @property
    def quantization(self) -> str:
        return FILE_TYPES.get(self.file_type, "unknown") if self.file_type is not None else "unknown"

    @property
    def chat_template(self) -> str:
        return str(self.metadata.get("tokenizer.chat_template", ""))

    @property
    def parameter_size(self) -> str:
        return human_number(self.parameter_count)


def human_number(count: int) -> str:
    """Format a parameter count the way Ollama does ("494.03M", "1.5B", "7B")."""
    for unit, scale, decimals in (("B", 1e9, 1), ("M", 1e6, 2)):
        if count >= scale:
            number = count / scale
            if number == int(number):
                return f"{int(number)}{unit}"
            return f"{number:.{decimals}f}{unit}"
    if count >= 1e3:
        return f"{count / 1e3:.0f}K"
    return str(count)


class _Stream:
    """Sequential reader over a binary stream, buffered so small reads stay cheap in Python."""

    def __init__(self, source: BinaryIO):
        self._source = source
        self._buffer = b""
        self._pos = 0

    def _need(self, size: int) -> None:
        if self._pos + size <= len(self._buffer):
            return
        rest = self._buffer[self._pos:]
        more = self._source.read(max(size - len(rest), _READ_CHUNK))
        self._buffer, self._pos = rest + more, 0
        if len(self._buffer) < size:
            raise GGUFError("unexpected end of file in GGUF header")

    def unpack(self, fmt: str, size: int) -> Any:
        self._need(size)
        value = struct.unpack_from(fmt, self._buffer, self._pos)[0]
        self._pos += size
        return value

    def raw(self, size: int) -> bytes:
        self._need(size)
        data = self._buffer[self._pos:self._pos + size]
        self._pos += size
        return data

    def string(self) -> str:
        return self.raw(self.unpack("<Q", 8)).decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        # A hot loop (150k tokens in a typical vocabulary): work on the buffer with locals.
        unpack_length = struct.Struct("<Q").unpack_from
        remaining = count
        while remaining:
            self._need(8)
            buffer, pos, end = self._buffer, self._pos, len(self._buffer)
            while remaining and pos + 8 <= end:
                length = unpack_length(buffer, pos)[0]
                if pos + 8 + length > end:
                    break
                pos += 8 + length
                remaining -= 1
            self._pos = pos
            if remaining:
                self.raw(self.unpack("<Q", 8))
                remaining -= 1


def _read_value(stream: _Stream, value_type: int) -> Any:
    if value_type in _SCALARS:
        return stream.unpack(*_SCALARS[value_type])
    if value_type == _STRING:
        return stream.string()
    raise GGUFError(f"unsupported GGUF value type {value_type}")


def _read_array(stream: _Stream) -> tuple[list[Any] | None, int]:
    """Return (values, count); values is None when the array was too long to keep."""
    item_type = stream.unpack("<I", 4)
    count = stream.unpack("<Q", 8)
    if count <= _MAX_KEPT_ARRAY:
        return [_read_value(stream, item_type) for _ in range(count)], count
    if item_type == _STRING:
        stream.skip_strings(count)
    elif item_type in _SCALARS:
        stream.raw(_SCALARS[item_type][1] * count)
    else:
        raise GGUFError("nested GGUF arrays are not supported")
    return None, count


def _read_tensor_parameters(stream: _Stream) -> int:
    stream.string()  # tensor name
    dims = stream.unpack("<I", 4)
    elements = 1
    for _ in range(dims):
        elements *= stream.unpack("<Q", 8)
    stream.raw(4 + 8)  # ggml type, data offset
    return elements


def read_gguf_stream(source: BinaryIO) -> GGUFInfo:
    """Parse the GGUF header at the start of a binary stream (only reads forward)."""
    stream = _Stream(source)
    if stream.raw(4) != GGUF_MAGIC:
        raise GGUFError("not a GGUF file (bad magic)")
    version = stream.unpack("<I", 4)
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    tensor_count = stream.unpack("<Q", 8)
    kv_count = stream.unpack("<Q", 8)
    metadata: dict[str, Any] = {}
    skipped: dict[str, int] = {}
    for _ in range(kv_count):
        key = stream.string()
        value_type = stream.unpack("<I", 4)
        if value_type == _ARRAY:
            values, count = _read_array(stream)
            if values is None:
                skipped[key] = count
            else:
                metadata[key] = values
        else:
            metadata[key] = _read_value(stream, value_type)
    parameters = sum(_read_tensor_parameters(stream) for _ in range(tensor_count))
    return GGUFInfo(version, metadata, parameters, tensor_count, skipped)


def read_gguf(path: Path) -> GGUFInfo:
    """Parse the header of a GGUF file."""
    with open(path, "rb") as source:
        return read_gguf_stream(source)
