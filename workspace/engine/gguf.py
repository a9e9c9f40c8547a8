"""GGUF header reader: the metadata the engine shows about a model, read without loading its weights.

Owns parsing of the GGUF key/value section and tensor index (enough to count parameters), and the
translations Ollama shows from them: quantization names and human parameter sizes. It reads a plain
binary stream sequentially, so it works on one file or on split parts read one after the other.
Every length and count the header claims is checked against the bytes the file holds (and kept
strings against a cap) before anything is allocated: a corrupt file is a GGUFError, never a
MemoryError or OverflowError.
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
_MAX_KEPT_STRING = 16 << 20  # a chat template is kilobytes; a longer metadata string is corruption
_MAX_DIMS = 4  # GGML_MAX_DIMS
# The fewest bytes one key/value pair and one tensor index entry can take: bounds their counts.
_MIN_KV_BYTES, _MIN_TENSOR_BYTES = 8 + 4 + 1, 8 + 4 + 8 + 4 + 8
_DEFAULT_ALIGNMENT = 32

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
    """Sequential reader over a binary stream, buffered so small reads stay cheap in Python.

    `size` is how many bytes the stream holds (None: unknown, then only the caps apply)."""

    def __init__(self, source: BinaryIO, size: int | None):
        self._source = source
        self.size = size
        self._buffer = b""
        self._pos = 0
        self._base = 0  # stream offset of the buffer's first byte

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def check(self, size: int, what: str) -> None:
        """Refuse a claimed length that cannot be in the file, before allocating for it."""
        if size < 0 or (self.size is not None and size > self.size - self.offset):
            raise GGUFError(f"GGUF header claims {what} of {size} bytes, more than the file holds")

    def _need(self, size: int) -> None:
        if self._pos + size <= len(self._buffer):
            return
        self.check(size, "a field")
        rest = self._buffer[self._pos:]
        more = self._source.read(max(size - len(rest), _READ_CHUNK))
        self._base += self._pos
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

    def skip(self, size: int) -> None:
        """Move past `size` bytes without holding them all in memory."""
        self.check(size, "a skipped array")
        while size > 0:
            step = min(size, _READ_CHUNK)
            self.raw(step)
            size -= step

    def string(self) -> str:
        length = self.unpack("<Q", 8)
        if length > _MAX_KEPT_STRING:
            raise GGUFError(f"GGUF header claims a string of {length} bytes")
        return self.raw(length).decode("utf-8", errors="replace")

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
                self.skip(self.unpack("<Q", 8))
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
    if item_type not in _SCALARS and item_type != _STRING:
        raise GGUFError(f"unsupported GGUF array item type {item_type}")
    item_size = 8 if item_type == _STRING else _SCALARS[item_type][1]
    stream.check(count * item_size, f"an array of {count} items")
    if count <= _MAX_KEPT_ARRAY:
        return [_read_value(stream, item_type) for _ in range(count)], count
    if item_type == _STRING:
        stream.skip_strings(count)
    else:
        stream.skip(item_size * count)
    return None, count


def _read_tensor(stream: _Stream) -> tuple[int, int]:
    """(parameter count, data offset) of one tensor index entry."""
    stream.string()  # tensor name
    dims = stream.unpack("<I", 4)
    if dims > _MAX_DIMS:
        raise GGUFError(f"GGUF tensor with {dims} dimensions")
    elements = 1
    for _ in range(dims):
        elements *= stream.unpack("<Q", 8)
    stream.unpack("<I", 4)  # ggml type
    return elements, stream.unpack("<Q", 8)


def _read_metadata(stream: _Stream, kv_count: int) -> tuple[dict[str, Any], dict[str, int]]:
    stream.check(kv_count * _MIN_KV_BYTES, f"{kv_count} metadata entries")
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
    return metadata, skipped


def _read_tensors(stream: _Stream, tensor_count: int, alignment: Any, size: int | None) -> int:
    """Total parameters; a tensor whose data would start past the end of the file is a truncated file."""
    stream.check(tensor_count * _MIN_TENSOR_BYTES, f"{tensor_count} tensors")
    tensors = [_read_tensor(stream) for _ in range(tensor_count)]
    if size is not None and tensors:
        align = alignment if isinstance(alignment, int) and alignment > 0 else _DEFAULT_ALIGNMENT
        data_start = -(-stream.offset // align) * align
        last = max(offset for _, offset in tensors)
        if data_start + last >= size:
            raise GGUFError(f"GGUF tensor data starts at byte {data_start + last}, past the end of the "
                            f"file ({size} bytes): the file is truncated")
    return sum(elements for elements, _ in tensors)


def _stream_size(source: BinaryIO) -> int | None:
    try:
        if source.seekable():
            here = source.tell()
            size = source.seek(0, 2)
            source.seek(here)
            return size - here
    except (OSError, AttributeError, ValueError):
        pass
    return None


def read_gguf_stream(source: BinaryIO, size: int | None = None) -> GGUFInfo:
    """Parse the GGUF header at the start of a binary stream of `size` bytes (found by seeking when
    not given); only reads forward."""
    stream = _Stream(source, size if size is not None else _stream_size(source))
    if stream.raw(4) != GGUF_MAGIC:
        raise GGUFError("not a GGUF file (bad magic)")
    version = stream.unpack("<I", 4)
    if version not in (2, 3):
        raise GGUFError(f"unsupported GGUF version {version}")
    tensor_count = stream.unpack("<Q", 8)
    metadata, skipped = _read_metadata(stream, stream.unpack("<Q", 8))
    parameters = _read_tensors(stream, tensor_count, metadata.get("general.alignment"), stream.size)
    return GGUFInfo(version, metadata, parameters, tensor_count, skipped)


def read_gguf(path: Path) -> GGUFInfo:
    """Parse the header of a GGUF file."""
    with open(path, "rb") as source:
        return read_gguf_stream(source)
