"""Uploaded images: recognised by content, checked against the limits, normalised, thumbnailed, saved.

Nothing here trusts a file's name: the format comes from its bytes (Pillow), and what is saved gets a
name made here. The header's declared size is checked before any pixel is decoded, and Pillow's own
decompression-bomb guard stays on (its warning is an error here), so a small file that would unpack
into gigabytes is refused cheaply.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from workspace.settings import VisionSettings

FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF", "BMP": "BMP"}
THUMB_SUFFIX = ".thumb.webp"
ORIGINAL_SUFFIX = ".png"
SHOWN_NAME_CHARS = 60


class AttachmentRejected(ValueError):
    """An upload refused — an image or a text file we do not accept (unreadable, too big, too many); the message
    says which file and why."""


@dataclass(frozen=True)
class PreparedImage:
    image: Image.Image  # RGB, upright, no metadata, longest side <= settings.original_max_side
    thumbnail: bytes  # WebP, longest side <= settings.thumbnail_side
    source_format: str
    shown_name: str  # the uploader's name, for messages only: never part of a path


def shown_name(name: str | None) -> str:
    """The last part of an uploaded name, short and printable (a name may be `../../x.png`)."""
    base = (name or "image").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable())[:SHOWN_NAME_CHARS]
    return base or "image"


def prepare(data: bytes, name: str | None, settings: VisionSettings) -> PreparedImage:
    """Check and normalise one upload; raises AttachmentRejected with a message a person can act on."""
    shown = shown_name(name)
    if not data:
        raise AttachmentRejected(f"{shown}: the file is empty.")
    limit = settings.max_file_mb * 1024 * 1024
    if len(data) > limit:
        raise AttachmentRejected(f"{shown}: the file is {len(data) / 1048576:.1f} MB; "
                                 f"the limit is {settings.max_file_mb} MB.")
    image = _decode(data, shown, settings.max_pixels)
    image = _upright_rgb(image)
    image.thumbnail((settings.original_max_side, settings.original_max_side), Image.Resampling.LANCZOS)
    thumb = image.copy()
    thumb.thumbnail((settings.thumbnail_side, settings.thumbnail_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    thumb.save(buffer, "WEBP", quality=80)
    return PreparedImage(image, buffer.getvalue(), FORMATS[image_format(data)], shown)


def image_format(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as probe:
        return probe.format or ""


def _decode(data: bytes, shown: str, max_pixels: int) -> Image.Image:
    """Open by content, check the declared size, then decode the first frame only."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = image.size
            if width * height > max_pixels:
                raise AttachmentRejected(f"{shown}: {width:,} × {height:,} pixels is more than the limit of "
                                    f"{max_pixels:,} pixels.")
            image.seek(0)  # an animation: its first frame only, whatever the number of frames
            image.load()
        except AttachmentRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentRejected(f"{shown}: the image would decompress to too many pixels "
                                     "(a decompression bomb?).") from None
        except UnidentifiedImageError:
            raise AttachmentRejected(f"{shown}: not a readable image. Accepted: PNG, JPEG, WebP, GIF, BMP images "
                                     "and UTF-8 text files (recognised by content, not by name).") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # truncated or corrupt data
            raise AttachmentRejected(f"{shown}: the image data is damaged or incomplete ({exc}).") from None
    return image


def _upright_rgb(image: Image.Image) -> Image.Image:
    """EXIF orientation applied, then plain RGB pixels: metadata (EXIF, ICC, text chunks) stay behind."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale to 8 bits, not clip to white
        image = image.point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")  # transparent screenshots read as on a white page
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    clean = Image.new("RGB", image.size)  # pixels only: the file's EXIF, ICC and text chunks stay behind
    clean.paste(image.convert("RGB"))
    return clean


# -- the chat folder -------------------------------------------------------------------------------------
def save(folder: Path, images: list[PreparedImage], keep_original: bool) -> list[str]:
    """Write each image's thumbnail (and its original when kept) into `folder`; returns the thumbnail names,
    which are what a message lists. On any failure the files written so far are removed."""
    names: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for prepared in images:
            stem = "img-" + secrets.token_hex(8)
            _write(folder / (stem + THUMB_SUFFIX), prepared.thumbnail)
            names.append(stem + THUMB_SUFFIX)
            if keep_original:
                buffer = io.BytesIO()
                prepared.image.save(buffer, "PNG", optimize=False, compress_level=6)
                _write(folder / (stem + ORIGINAL_SUFFIX), buffer.getvalue())
    except BaseException:
        remove(folder, names)
        raise
    return names


def remove(folder: Path, names: list[str]) -> None:
    for name in names:
        for path in (folder / name, folder / original_name(name)):
            path.unlink(missing_ok=True)


def original_name(thumbnail: str) -> str:
    return thumbnail.removesuffix(THUMB_SUFFIX) + ORIGINAL_SUFFIX


def _write(path: Path, data: bytes) -> None:
    """Write then rename, so a reader (or a backup's hard link) never sees half a file."""
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
