"""media_url: what a client sends is checked and stored, never fetched; photos Sambat keeps are served here.

A client's ``media_url`` is kept with the complaint's message and given back as the request's media_url.
Sambat never requests it (a server that fetches addresses its clients name can be turned on the city's own
network: SSRF); staff open it in their own browser. Photos Sambat keeps for complaints (from the form, the
app and e-mail, re-encoded without metadata) are published at ``/open311/v2/media/<path>`` only while
``open311.publish_descriptions`` is true, like the complaints' texts and coordinates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, send_from_directory
from sqlalchemy import select

from gateway.web.open311.blueprint import bp
from gateway.web.open311.formats import Open311Error
from models import Attachment

MAX_MEDIA_URL = 2000


def checked_media_url(value: str | None) -> str | None:
    """The media_url as sent, or None when none was: an absolute http(s) URL without credentials.

    Raises:
        Open311Error: 400 naming media_url for anything else.
    """
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_MEDIA_URL or any(char.isspace() or not char.isprintable() for char in value):
        raise Open311Error(400, f"media_url: at most {MAX_MEDIA_URL} characters, no spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # a port that is not a number in 0-65535 raises ValueError here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Open311Error(400, f"media_url: must be an absolute http or https URL: {value[:60]!r}")
    if "@" in parts.netloc:
        raise Open311Error(400, "media_url: must not carry a user name or password")
    return value


def kept_photo_path(path: str) -> str:
    """Where a kept photo is published, below the Open311 endpoint."""
    return f"{bp.url_prefix}/media/{path}"


@bp.get("/media/<path:path>")
def kept_photo(path: str) -> Any:
    """A photo Sambat keeps for a complaint, while the city publishes them; else 404."""
    runtime = current_app.extensions["sambat"]
    if not runtime.settings.open311.publish_descriptions:
        raise Open311Error(404, "media: photos are not published here")
    with runtime.db.session() as session:
        attachment = session.scalar(select(Attachment).where(Attachment.path == path,
                                                             Attachment.complaint_id.is_not(None)))
    if attachment is None:
        raise Open311Error(404, "media: not found")
    return send_from_directory(Path(runtime.settings.intake.media_dir).resolve(), attachment.path,
                               mimetype=attachment.content_type, max_age=0)
