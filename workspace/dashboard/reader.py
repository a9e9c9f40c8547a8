"""Reading the run history files: newest first, across rotated files, a page at a time.

The history is `runs.jsonl` (being written) plus rotated `runs.<time>.jsonl` files. Lines are read
backwards in blocks from the end of each file, so a page costs the bytes of that page, not of the
file. A last line without its newline is a record still being written (or cut by a crash): it is
left out, not counted. A line that does not parse as a JSON object is skipped and counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

CURRENT = "runs.jsonl"
BLOCK = 64 * 1024


def history_files(logs_dir: Path) -> list[Path]:
    """The history files, newest first: the current file, then the rotated ones by their time stamp."""
    rotated = sorted((p for p in Path(logs_dir).glob("runs.*.jsonl") if p.name != CURRENT),
                     key=lambda p: p.name, reverse=True)  # loguru names them runs.YYYY-MM-DD_HH-MM-SS_ffffff
    current = Path(logs_dir) / CURRENT
    return ([current] if current.is_file() else []) + rotated


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One history line as a record, or None when it is not a JSON object."""
    try:
        record = json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return None
    return record if isinstance(record, dict) else None


def complete_lines(path: Path, start: int = 0) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each newline-terminated line from `start` on, oldest first; the tail is left out."""
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        for raw in f:
            if not raw.endswith(b"\n"):
                return  # half written: not a record yet
            yield offset, raw
            offset += len(raw)


def lines_backwards(path: Path) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of each newline-terminated line, newest first, reading BLOCK bytes at a time."""
    with open(path, "rb") as f:
        position = _end_of_last_line(f, f.seek(0, 2))
        tail = b""  # the start of a line whose rest was in the block after this one
        while position > 0:
            size = min(BLOCK, position)
            position -= size
            f.seek(position)
            parts = (f.read(size) + tail).split(b"\n")  # the last part is empty: the chunk ends a line
            starts, at = [], position
            for part in parts:
                starts.append(at)
                at += len(part) + 1
            first = 0 if position == 0 else 1  # else parts[0] began before this block
            for k in range(len(parts) - 2, first - 1, -1):
                if parts[k].strip():
                    yield starts[k], parts[k]
            tail = parts[0] + b"\n" if position > 0 else b""


def _end_of_last_line(f: Any, end: int) -> int:
    """Where the last complete line ends (a half-written line after it is not a record yet)."""
    position = end
    while position > 0:
        size = min(BLOCK, position)
        position -= size
        f.seek(position)
        newline = f.read(size).rfind(b"\n")
        if newline >= 0:
            return position + newline + 1
    return 0


@dataclass
class Page:
    records: list[dict[str, Any]]
    skipped: int  # corrupt lines met on the way


def read_page(logs_dir: Path, offset: int = 0, limit: int = 50) -> Page:
    """Records `offset` .. `offset + limit` counting from the newest, parsing only the lines up to there."""
    records: list[dict[str, Any]] = []
    skipped = seen = 0
    for path in history_files(logs_dir):
        for _, raw in lines_backwards(path):
            record = parse_line(raw)
            if record is None:
                skipped += 1
                continue
            seen += 1
            if seen > offset:
                records.append(record)
                if len(records) >= limit:
                    return Page(records, skipped)
    return Page(records, skipped)


def read_at(path: Path, offset: int) -> dict[str, Any] | None:
    """The record on the line that starts at `offset` (the index keeps where each run is)."""
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.readline()
    return parse_line(raw) if raw.endswith(b"\n") else None
