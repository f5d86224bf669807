"""Keeping a complaint's photos: cleaned pixels (``channels.photos``) written under the media folder, one
attachment row each."""

from __future__ import annotations

import secrets
from pathlib import Path

from channels.photos import CleanPhoto
from models import Attachment, utcnow


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


def remove_files(paths: list[Path]) -> None:
    """Remove files written for a submission that was not committed."""
    for path in paths:
        path.unlink(missing_ok=True)
