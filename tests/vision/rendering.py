"""Screenshots rendered in the test: a Python traceback in monospace, light or dark theme."""

from __future__ import annotations

import difflib

from PIL import Image, ImageDraw, ImageFont

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"  # Debian's fonts-dejavu-core
THEMES = {"light": ("white", "#1a1a1a"), "dark": ("#1e1e1e", "#d4d4d4")}
TRACEBACK = [
    "Traceback (most recent call last):",
    '  File "/srv/app/main.py", line 42, in <module>',
    "    result = parse_config(path)",
    '  File "/srv/app/config.py", line 17, in parse_config',
    '    port = int(raw["port"])',
    "ValueError: invalid literal for int() with base 10: 'eighty'",
]


def render(lines: list[str], theme: str = "light", size_px: int = 14) -> Image.Image:
    background, ink = THEMES[theme]
    font = ImageFont.truetype(MONO, size_px)
    step = int(size_px * 1.5)
    width = int(max(font.getlength(line) for line in lines)) + 40
    image = Image.new("RGB", (width, step * len(lines) + 30), background)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((20, 15 + step * number), line, font=font, fill=ink)
    return image


def char_accuracy(expected: str, got: str) -> float:
    """Share of the expected characters read correctly, spaces and line breaks aside."""
    want, have = "".join(expected.split()), "".join(got.split())
    blocks = difflib.SequenceMatcher(None, want, have, autojunk=False).get_matching_blocks()
    matched = sum(block.size for block in blocks)
    return matched / max(len(want), len(have), 1)
