"""Helpers for the form, API, Open311 and ticket-page tests: photos with GPS metadata, keys, CSRF tokens.

``web_stack`` is the ``stack`` fixture (PostgreSQL + rq, SQLite + embedded queue) with photos stored under
the test's own temporary directory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from gateway.jobs.queue import RQQueue
from gateway.web.apikeys import create_key
from tests.conftest import Stack, _empty_tables, _stack

GPS = {1: "S", 2: (7.0, 58.0, 12.5), 3: "E", 4: (112.0, 37.0, 48.25)}  # a place in Malang
SECRET = b"SECRET-HOME-OF-CITIZEN"


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = GPS
    return exif.tobytes()


def photo(kind: str = "JPEG", size: tuple[int, int] = (80, 60)) -> bytes:
    """A photo as a phone makes it: EXIF with GPS, a comment or text chunk carrying a secret."""
    image = Image.new("RGB", size, (200, 40, 40))
    buffer = io.BytesIO()
    if kind == "JPEG":
        image.save(buffer, "JPEG", exif=exif_with_gps(), comment=SECRET)
    elif kind == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", SECRET.decode())
        image.save(buffer, "PNG", pnginfo=info, exif=exif_with_gps())
    elif kind == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        image.save(buffer, "HEIF", exif=exif_with_gps())
    else:
        image.save(buffer, kind)
    data = buffer.getvalue()
    assert b"PhoneMaker" in data or kind in ("HEIF", "GIF")
    return data


def assert_clean(path: Path) -> Image.Image:
    """The stored file has pixels only: no EXIF, no GPS, no comment, no text chunks."""
    data = path.read_bytes()
    assert SECRET not in data and b"PhoneMaker" not in data and b"Exif" not in data
    image = Image.open(path)
    assert dict(image.getexif()) == {}
    assert not {"exif", "comment", "Comment", "xmp"} & set(image.info)
    return image


def new_api_key(stack: Stack, name: str = "test app") -> str:
    with stack.runtime.db.session() as session:
        return create_key(session, name)[1]


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture(name="web_stack", params=["postgres", "sqlite"])
def web_stack_fixture(request: pytest.FixtureRequest, twilio_standin, tmp_path: Path) -> Iterator[Stack]:  # noqa: ANN001
    """``stack`` with photos kept under tmp_path."""
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, intake__media_dir=str(tmp_path / "media"))
    yield built
    built.runtime.db.dispose()
    if isinstance(built.runtime.queue, RQQueue):
        built.runtime.queue.connection.flushdb()
    _empty_tables(url)
