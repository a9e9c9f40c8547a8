"""A chat's image files in its JSON export: base64 out, checked and written back on import.

An export carries `files`: {file name: base64} for each image a message lists (its thumbnail and, when
kept, its normalised original). On import each file is checked (a name the app itself makes, base64 that
decodes, the bytes of the format its name says) and written into a folder at once, so only one file is ever
in memory; `read_export` reads a whole export that way from a stream (a file, a request body), building
every other section as plain JSON.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any, BinaryIO, Callable

import ijson

from workspace.store.errors import InvalidInput

FILES_KEY = "files"
# Only names the app makes (vision/images.py): a thumbnail and its original.
_IMAGE_FILE = re.compile(r"img-[0-9a-f]{16}\.(thumb\.webp|png)")
_ORIGINAL_OF = re.compile(r"\.thumb\.webp$")
DEFAULT_MAX_BYTES = 1 << 30  # an import's image files together (the app passes its setting)
MAX_FILES = 2 * 64 * 64  # originals and thumbnails of 64 images in each of 64 messages


def original_of(thumbnail: str) -> str:
    return _ORIGINAL_OF.sub(".png", thumbnail)


def files_of(folder: Path, images: list[str]) -> dict[str, str]:
    """The export's `files` section: each listed thumbnail and its original, when on disk, as base64."""
    out: dict[str, str] = {}
    for name in images:
        for file_name in (name, original_of(name)):
            path = folder / file_name
            if _IMAGE_FILE.fullmatch(file_name) and path.is_file():
                out[file_name] = base64.b64encode(path.read_bytes()).decode("ascii")
    return out


def _bad(problem: str) -> InvalidInput:
    return InvalidInput(f"This is not a chat export this app can import: {problem}. Nothing was imported.")


class FileWriter:
    """Checks each imported file and writes it into `folder`; remembers the names written."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder, self.max_bytes, self.written, self.total = folder, max_bytes, set(), 0

    def __call__(self, name: Any, text: Any) -> None:
        if not isinstance(name, str) or not _IMAGE_FILE.fullmatch(name):
            raise _bad(f"the file name {str(name)[:40]!r} is not one the app makes")
        if not isinstance(text, str) or len(self.written) >= MAX_FILES:
            raise _bad(f"the file {name} is not base64 text, or there are too many files")
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"the file {name} is not valid base64") from None
        webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        if not (webp if name.endswith(".webp") else data.startswith(b"\x89PNG\r\n\x1a\n")):
            raise _bad(f"the file {name} does not hold the image its name says")
        self.total += len(data)
        if self.total > self.max_bytes:
            raise _bad("its image files are larger than the import limit")
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(data)
        self.written.add(name)

    def write_all(self, files: Any) -> None:
        if files is None:
            return
        if not isinstance(files, dict):
            raise _bad(f"'{FILES_KEY}' is not an object")
        for name, text in files.items():
            self(name, text)


def read_export(stream: BinaryIO, on_file: Callable[[Any, Any], None]) -> dict[str, Any]:
    """Parse an export from `stream` in one pass: each `files` entry goes to `on_file(name, base64)` as soon as
    it is read; the other sections come back as plain JSON values. Uses the parser's basic events (no
    prefixes: ijson builds each event's dotted path, which grows with the nesting — 100,000 open brackets
    would need gigabytes) and refuses nesting deeper than MAX_DEPTH."""
    data: dict[str, Any] = {}
    reader = _Sections(on_file)
    try:
        events = ijson.basic_parse(stream, use_float=True)
        first = next(events, None)
        if first is None or first[0] != "start_map":
            raise _bad("expected a JSON object")
        for event, value in events:
            reader.feed(event, value, data)
    except (ijson.JSONError, ValueError) as exc:  # not JSON, not UTF-8, an integer too long to convert
        raise InvalidInput(f"The body is not a chat export (JSON): {exc}. Nothing was imported.") from None
    return data


MAX_DEPTH = 64  # an export is a few levels deep; anything near this is not one


class _Sections:
    """The top-level object's sections, event by event: `files` streamed to `on_file`, the rest built."""

    def __init__(self, on_file: Callable[[Any, Any], None]):
        self.on_file, self.depth, self.key, self.name, self.builder = on_file, 1, None, None, None

    def feed(self, event: str, value: Any, data: dict[str, Any]) -> None:
        self.depth += event in ("start_map", "start_array")
        self.depth -= event in ("end_map", "end_array")
        if self.depth > MAX_DEPTH:
            raise _bad("it is nested too deeply")
        if self.depth == 0:  # the top-level object closed
            return
        if self.depth == 1 and event == "map_key" and self.builder is None and self.name is None:
            self.key = value
            self.builder = ijson.ObjectBuilder() if value != FILES_KEY else None
            return
        if self.key == FILES_KEY:
            self._file_event(event, value)
        elif self.builder is not None:
            self.builder.event(event, value)
            if self.depth == 1:  # the section's value is complete
                data[self.key], self.builder = self.builder.value, None

    def _file_event(self, event: str, value: Any) -> None:
        """Inside `files`: `{`, then name → base64 string pairs, then `}` (anything else is refused)."""
        if event in ("start_map", "end_map") and self.name is None and self.depth in (1, 2):
            return
        if event == "map_key" and self.depth == 2 and self.name is None:
            self.name = value
            return
        if event == "string" and self.depth == 2 and self.name is not None:
            self.on_file(self.name, value)
            self.name = None
            return
        raise _bad(f"'{FILES_KEY}' must map file names to base64 strings")
