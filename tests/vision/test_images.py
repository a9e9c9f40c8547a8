"""Uploads are checked by content and normalised; each bad input in the issue gets a clear AttachmentRejected."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from workspace.settings import VisionSettings
from workspace.vision import images
from workspace.vision.images import AttachmentRejected, prepare

SETTINGS = VisionSettings()


def encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width × height, with one tiny compressed row: what a bomb looks like."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
def test_each_accepted_format_becomes_rgb_with_a_small_webp_thumbnail(fmt):
    prepared = prepare(encoded(Image.new("RGB", (900, 300), "navy"), fmt), "shot.bin", SETTINGS)
    assert prepared.image.mode == "RGB" and prepared.image.size == (900, 300)
    with Image.open(io.BytesIO(prepared.thumbnail)) as thumb:
        assert thumb.format == "WEBP" and max(thumb.size) == SETTINGS.thumbnail_side


def test_recognised_by_content_not_by_name():
    jpeg = encoded(Image.new("RGB", (20, 20), "red"), "JPEG")
    assert prepare(jpeg, "notes.txt", SETTINGS).source_format == "JPEG"


def test_exif_orientation_is_applied_and_metadata_dropped():
    image = Image.new("RGB", (40, 20), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to view
    exif[0x010F] = "SecretCam"
    prepared = prepare(encoded(image, "JPEG", exif=exif), "photo.jpg", SETTINGS)
    assert prepared.image.size == (20, 40)
    assert not prepared.image.info.get("exif") and not prepared.image.getexif()


def test_the_kept_image_is_at_most_the_original_max_side():
    prepared = prepare(encoded(Image.new("RGB", (5000, 1000), "white"), "PNG"), "wide.png", SETTINGS)
    assert max(prepared.image.size) == SETTINGS.original_max_side


def test_cmyk_jpeg_and_16_bit_png_with_alpha_are_converted():
    cmyk = prepare(encoded(Image.new("CMYK", (30, 30), (0, 255, 255, 0)), "JPEG"), "cmyk.jpg", SETTINGS)
    assert cmyk.image.mode == "RGB" and cmyk.image.getpixel((15, 15))[0] > 200  # red stays red
    grey16 = Image.new("I;16", (30, 30), 40000)
    converted = prepare(encoded(grey16, "PNG"), "deep.png", SETTINGS)
    assert converted.image.mode == "RGB" and 140 < converted.image.getpixel((5, 5))[0] < 170  # scaled, not clipped
    rgba = Image.new("RGBA", (30, 30), (0, 0, 0, 0))
    flat = prepare(encoded(rgba, "PNG"), "clear.png", SETTINGS)
    assert flat.image.getpixel((5, 5)) == (255, 255, 255)  # transparent reads as white paper


def test_animated_gif_of_a_thousand_frames_gives_its_first_frame():
    frames = [Image.new("P", (16, 16), i % 200) for i in range(1000)]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    prepared = prepare(data, "anim.gif", SETTINGS)
    assert prepared.image.size == (16, 16) and prepared.source_format == "GIF"


@pytest.mark.parametrize(("data", "name", "expected"), [
    (b"", "empty.png", "empty"),
    (bytes(range(256)) * 40, "random.png", "not a readable image"),
    (png_header_only(30_000, 30_000), "huge.png", "too many pixels"),
    (png_header_only(8_000, 8_000), "big.png", "8,000 × 8,000 pixels is more than the limit of 40,000,000"),
])
def test_bad_uploads_are_refused_with_a_clear_message(data, name, expected):
    with pytest.raises(AttachmentRejected, match=expected) as caught:
        prepare(data, name, SETTINGS)
    assert str(caught.value).startswith(name)


def test_truncated_png_is_refused():
    data = encoded(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG")
    with pytest.raises(AttachmentRejected, match="damaged or incomplete"):
        prepare(data[: len(data) // 2], "cut.png", SETTINGS)


def test_decompression_bomb_is_refused_by_pillows_guard_too():
    # Under our own limit but over Pillow's: its guard (kept on, made an error) refuses it before decoding.
    lenient = VisionSettings(max_pixels=10**10)
    with pytest.raises(AttachmentRejected, match="decompression bomb"):
        prepare(png_header_only(10_000, 10_000), "bomb.png", lenient)  # 1e8 px: Pillow warns, we refuse


def test_a_file_over_the_byte_limit_is_refused_before_decoding():
    tight = VisionSettings(max_file_mb=1)
    with pytest.raises(AttachmentRejected, match="limit is 1 MB"):
        prepare(b"\x89PNG" + b"\0" * (1024 * 1024 + 1), "big.png", tight)


def test_a_path_as_a_name_is_only_ever_shown_never_used(tmp_path):
    prepared = prepare(encoded(Image.new("RGB", (10, 10)), "PNG"), "../../x.png", SETTINGS)
    assert prepared.shown_name == "x.png"
    folder = tmp_path / "chat"
    names = images.save(folder, [prepared], keep_original=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted([names[0], images.original_name(names[0])])
    assert not (tmp_path.parent / "x.png").exists()
    with pytest.raises(AttachmentRejected, match=r"^\.\.: not a readable"):
        prepare(b"junk", "a/..", SETTINGS)


def test_save_without_original_keeps_only_the_thumbnail(tmp_path):
    prepared = prepare(encoded(Image.new("RGB", (10, 10)), "PNG"), "a.png", SETTINGS)
    names = images.save(tmp_path, [prepared], keep_original=False)
    assert [p.name for p in tmp_path.iterdir()] == names
