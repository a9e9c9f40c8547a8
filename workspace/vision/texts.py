"""Text attachments (source files, logs, diffs): recognised as UTF-8 text by their bytes, never by name.

A text attachment is stored with its message (`Message.attachments`), so follow-up questions and exports keep
it; the chat model reads it as a fenced block headed by its name (`chat.fenced`).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from workspace.vision.images import AttachmentRejected, shown_name

# Bytes that open an image format which is also plain ASCII: such a file is a (maybe damaged) image.
ASCII_IMAGE_MAGIC = (b"GIF87a", b"GIF89a")
CONTROL_SHARE = 0.01  # more control characters than this (besides tab, newline, CR, form feed): binary


@dataclass(frozen=True)
class TextAttachment:
    name: str
    text: str

    def stored(self) -> dict[str, str]:
        return {"name": self.name, "text": self.text}


def is_text(data: bytes) -> bool:
    """Whether `data` is UTF-8 text: it decodes strictly, holds no NUL and hardly any control characters."""
    if not data or b"\x00" in data or data.startswith(ASCII_IMAGE_MAGIC) or _riff_webp(data):
        return False
    try:  # not final: a read cut at the size limit may end inside a character
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f")
    return controls <= len(text) * CONTROL_SHARE


def prepare_text(data: bytes, name: str | None, max_kb: int) -> TextAttachment:
    """One text upload checked against the size limit; its line endings made `\\n`, a BOM dropped."""
    shown = shown_name(name)
    if len(data) > max_kb * 1024:
        raise AttachmentRejected(f"{shown}: the text file is {len(data) / 1024:,.0f} KB; the limit is {max_kb:,} KB.")
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    return TextAttachment(shown, text)


def _riff_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
