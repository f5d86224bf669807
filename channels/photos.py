"""Photos as they arrive on any channel (the form, the app, e-mail, MMS, WhatsApp): check size and type, drop
every bit of metadata, store only the pixels.

Only the pixels survive: the photo is decoded (JPEG, PNG or HEIC/HEIF as phones send them), turned the
right way up from its EXIF orientation, scaled down to at most :data:`MAX_SIDE` pixels, and written as a
new JPEG (PNG stays PNG) from a fresh image that carries no EXIF, GPS, XMP, comments or text chunks.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from models import Attachment, utcnow

pillow_heif.register_heif_opener()

# What Pillow calls the formats we take (MPO: the multi-picture JPEG some phones write).
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "HEIF": "HEIF"}
MAX_PIXELS = 64_000_000  # a 64-megapixel phone photo; more is refused before it is decoded
MAX_SIDE = 2560


class PhotoError(Exception):
    """A photo we refuse. ``reason``: too_large, empty, not_image, wrong_type, too_many_pixels, too_many."""

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


def store_photos(media_dir: str, photos: list[CleanPhoto]) -> list[tuple[Path, Attachment]]:
    """Write cleaned photos under ``media_dir/YYYY/MM/`` and build (not add) their attachment rows.

    Returns the written files with their rows, so a caller whose transaction fails can remove the files.
    """
    stored = []
    now = utcnow()
    for photo in photos:
        relative = f"{now:%Y}/{now:%m}/{secrets.token_hex(16)}.{photo.extension}"
        path = Path(media_dir) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo.data)
        stored.append((path, Attachment(
            path=relative, content_type=photo.content_type, original_type=photo.original_type,
            size_bytes=len(photo.data), width=photo.width, height=photo.height, sha256=photo.sha256,
        )))
    return stored


def is_photo_type(content_type: str | None) -> bool:
    """True for a content type that may be a photo we keep (``image/...``), or none given (the bytes decide)."""
    return not content_type or content_type.split(";")[0].strip().lower().startswith("image/")


def keep_photo(session: Session, settings: Any, data: bytes, *, complaint_id: int | None,
               inbound_message_id: int | None, content_type: str | None = None,
               filename: str = "photo") -> tuple[Path, Attachment]:
    """Keep one photo that came as bytes (an MMS or WhatsApp download, any channel's file) for a complaint.

    Cleaned like a web-form photo (decoded, turned upright, scaled, re-encoded without metadata, the same size
    and pixel limits: ``intake.max_photo_mb``), written under ``intake.media_dir``, and its attachment row added
    to ``session`` and flushed. The caller commits, and removes the returned file if the commit fails.

    Raises:
        PhotoError: ``wrong_type`` for a declared content type that is not an image, else as :func:`clean_photo`.
    """
    if not is_photo_type(content_type):
        raise PhotoError("wrong_type", filename)
    photo = clean_photo(Upload(filename, data), max_bytes=int(settings.intake.max_photo_mb * 1024 * 1024))
    [(path, attachment)] = store_photos(settings.intake.media_dir, [photo])
    attachment.complaint_id, attachment.inbound_message_id = complaint_id, inbound_message_id
    session.add(attachment)
    try:
        session.flush()
    except BaseException:
        remove_files([path])
        raise
    return path, attachment


def remove_files(paths: list[Path]) -> None:
    """Remove files written for a submission that was not committed."""
    for path in paths:
        path.unlink(missing_ok=True)
