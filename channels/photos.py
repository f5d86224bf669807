"""Photos as they arrive on any channel: check size and type, drop every bit of metadata, keep only the pixels.

Only the pixels survive: the photo is decoded (JPEG, PNG or HEIC/HEIF as phones send them), turned the
right way up from its EXIF orientation, scaled down to at most :data:`MAX_SIDE` pixels, and written as a
new JPEG (PNG stays PNG) from a fresh image that carries no EXIF, GPS, XMP, comments or text chunks.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

# What Pillow calls the formats we take (MPO: the multi-picture JPEG some phones write).
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "HEIF": "HEIF"}
MAX_PIXELS = 64_000_000  # a 64-megapixel phone photo; more is refused before it is decoded
MAX_SIDE = 2560


class PhotoError(Exception):
    """A photo we refuse. ``reason``: too_large, empty, not_image, wrong_type, too_many_pixels."""

    def __init__(self, reason: str, filename: str = "") -> None:
        super().__init__(f"{filename or 'photo'}: {reason}")
        self.reason, self.filename = reason, filename


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its name (only for messages) and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: new bytes without metadata, and what we know of it."""

    data: bytes
    content_type: str
    extension: str
    original_type: str
    width: int
    height: int
    sha256: str


def clean_photo(upload: Upload, max_bytes: int) -> CleanPhoto:
    """Check one upload and re-encode it without metadata.

    Raises:
        PhotoError: with the reason it was refused.
    """
    if not upload.data:
        raise PhotoError("empty", upload.filename)
    if len(upload.data) > max_bytes:
        raise PhotoError("too_large", upload.filename)
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            original = ACCEPTED_FORMATS.get(image.format or "")
            if original is None:
                raise PhotoError("wrong_type", upload.filename)
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError("too_many_pixels", upload.filename)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            EOFError, RuntimeError):
        raise PhotoError("not_image", upload.filename) from None
    keep_png = original == "PNG"
    mode = ("RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB") if keep_png else "RGB"
    converted = upright.convert(mode)
    converted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image from raw pixels: nothing of the original's info (EXIF, XMP, comments) comes along.
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    buffer = io.BytesIO()
    if keep_png:
        pixels.save(buffer, format="PNG", optimize=True)
    else:
        pixels.save(buffer, format="JPEG", quality=85, optimize=True)
    data = buffer.getvalue()
    return CleanPhoto(
        data=data, content_type="image/png" if keep_png else "image/jpeg", extension="png" if keep_png else "jpg",
        original_type=original, width=pixels.width, height=pixels.height, sha256=hashlib.sha256(data).hexdigest(),
    )


def clean_all(uploads: list[Upload], max_photos: int, max_bytes: int) -> list[CleanPhoto]:
    """Check and clean every upload; the first refusal raises (nothing is stored yet)."""
    if len(uploads) > max_photos:
        raise PhotoError("too_many")
    return [clean_photo(upload, max_bytes) for upload in uploads]
