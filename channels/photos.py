"""Photos as they arrive on any channel (the form, the app, e-mail, MMS, WhatsApp): check size and type, drop
every bit of metadata, store only the pixels.

Only the pixels survive: the photo is decoded (JPEG, PNG or HEIC/HEIF as phones send them), turned the
right way up from its EXIF orientation, scaled down to at most :data:`MAX_SIDE` pixels, and written as a
new JPEG (PNG stays PNG) from a fresh image that carries no EXIF, GPS, XMP, comments or text chunks.

Hostile files get nowhere: the width, height and pixel count are read from the header first (each side at
most :data:`MAX_INPUT_SIDE`, at most :data:`MAX_PIXELS` in all), so an image bomb (a 124 kB PNG of
1 x 64,000,000 pixels) is refused before a byte of it is decoded. What passes is decoded in a forked child
process (:func:`clean_photo`) under an address-space limit (:data:`DECODE_MEMORY`) and a time limit
(:data:`DECODE_SECONDS`): a worker never spends more than that on one photo, whatever its content. JPEG is
decoded at a reduced scale (``draft``) straight to the size kept.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import multiprocessing
import resource
import secrets
from dataclasses import dataclass
from pathlib import Path
from struct import error as struct_error
from typing import Any

import pillow_heif
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from models import Attachment, utcnow

pillow_heif.register_heif_opener()

# What Pillow calls the formats we take (MPO: the multi-picture JPEG some phones write).
ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "HEIF": "HEIF"}
MAX_INPUT_SIDE = 10_000  # pixels on either side, read from the header; more is refused before decoding
MAX_PIXELS = 40_000_000  # 40 megapixels (a 10,000 x 4,000 panorama); more is refused before decoding
MAX_SIDE = 2560  # the largest side kept
DECODE_SECONDS = 1.0  # the most a web request spends on one photo (wall clock); slower ones go to a job
LATER_SECONDS = 10.0  # the bound off the request: a worker's job, the mail intake
DECODE_MEMORY = 1024 * 1024 * 1024  # address space the child may add while it decodes (bytes)


class PhotoError(Exception):
    """A photo we refuse. ``reason``: too_large, empty, not_image, wrong_type, too_many_pixels, too_many,
    too_slow (it took longer than :data:`DECODE_SECONDS` or more memory than :data:`DECODE_MEMORY`)."""

    def __init__(self, reason: str, filename: str = "", timed_out: bool = False) -> None:
        super().__init__(f"{filename or 'photo'}: {reason}")
        self.reason, self.filename = reason, filename
        self.timed_out = timed_out  # the time bound ran out (not memory, not the content): worth a later try


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


def check_header(upload: Upload, max_bytes: int) -> str:
    """Refuse an upload by its size, its header's dimensions and its format, decoding nothing.

    Returns:
        The format kept (``JPEG``, ``PNG`` or ``HEIF``).

    Raises:
        PhotoError: ``empty``, ``too_large``, ``too_many_pixels``, ``wrong_type`` or ``not_image``.
    """
    if not upload.data:
        raise PhotoError("empty", upload.filename)
    if len(upload.data) > max_bytes:
        raise PhotoError("too_large", upload.filename)
    try:
        with Image.open(io.BytesIO(upload.data)) as image:  # reads the header only
            width, height, kind = image.width, image.height, image.format or ""
    except Image.DecompressionBombError:  # Pillow's own ceiling, far above ours
        raise PhotoError("too_many_pixels", upload.filename) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, RuntimeError, struct_error):
        raise PhotoError("not_image", upload.filename) from None
    if width < 1 or height < 1:
        raise PhotoError("not_image", upload.filename)
    if width > MAX_INPUT_SIDE or height > MAX_INPUT_SIDE or width * height > MAX_PIXELS:
        raise PhotoError("too_many_pixels", upload.filename)
    original = ACCEPTED_FORMATS.get(kind)
    if original is None:
        raise PhotoError("wrong_type", upload.filename)
    return original


def clean_photo(upload: Upload, max_bytes: int, *, seconds: float = DECODE_SECONDS,
                memory: int = DECODE_MEMORY) -> CleanPhoto:
    """Check one upload and re-encode it without metadata, within a time and a memory bound.

    The header is checked here (:func:`check_header`); the decoding runs in a child process limited to
    ``memory`` bytes of address space and killed after ``seconds``.

    Raises:
        PhotoError: with the reason it was refused.
    """
    check_header(upload, max_bytes)
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_decode_in_child, args=(sender, upload, max_bytes, memory), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise PhotoError("too_slow", upload.filename, timed_out=True)
        try:
            outcome = receiver.recv()
        except (EOFError, OSError):  # the child died (out of memory): the photo is refused, not the request
            raise PhotoError("too_slow", upload.filename) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if isinstance(outcome, PhotoError):
        raise outcome
    return outcome


def _context() -> Any:
    """How decoders start: a fork of this process (a few milliseconds; the bytes are shared, not copied).

    The child runs only Pillow on the bytes, sends its answer through a pipe and exits without running any
    of the parent's exit handlers.
    """
    return multiprocessing.get_context("fork")


def _address_space() -> int:
    """This process's address space now, in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


# glibc's mallopt parameters (malloc.h): large blocks from mmap above this many bytes.
M_MMAP_THRESHOLD = -3
CHILD_MMAP_THRESHOLD = 128 * 1024


def _allocate_by_mapping() -> None:
    """In the child: every large block (a decoder's pixels) from a new mapping, never from the heap it inherited.

    A long-running parent's heap can hold hundreds of MB it has freed but kept (glibc raises its mmap threshold
    after large frees, and keeps freed heap memory below its trim threshold). Forked, the child could decode into
    that memory without its address space growing, past any RLIMIT_AS bound. With glibc's mmap threshold fixed
    low, a block of 128 kB or more is a new mapping, counted against the bound; what is free at the heap's top is
    given back first. Elsewhere (no glibc) nothing changes.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_MMAP_THRESHOLD, CHILD_MMAP_THRESHOLD)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _decode_in_child(sender: Any, upload: Upload, max_bytes: int, memory: int) -> None:
    """The child's work: bound its memory, clean the photo, send back the photo or the refusal.

    The bound is ``memory`` bytes more than the address space the child was forked with: a long-running worker
    (the router's model loaded, many threads) can hold more than ``memory`` already, and a bound below that would
    refuse every photo.
    """
    _allocate_by_mapping()
    limit = _address_space() + memory
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a lower hard limit is already set: that one holds
        pass
    try:
        outcome: CleanPhoto | PhotoError = decode_photo(upload, max_bytes)
    except PhotoError as error:
        outcome = error
    except MemoryError:
        outcome = PhotoError("too_slow", upload.filename)
    sender.send(outcome)
    sender.close()


def decode_photo(upload: Upload, max_bytes: int) -> CleanPhoto:
    """Decode and re-encode one upload in this process (no time or memory bound: :func:`clean_photo` adds them).

    Raises:
        PhotoError: with the reason it was refused.
    """
    original = check_header(upload, max_bytes)
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            if image.format in ("JPEG", "MPO") and max(image.width, image.height) > MAX_SIDE:
                # Decode at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, the cheapest way to fewer pixels)
                # when the result keeps at least half of the largest side kept: a 12 MP phone photo decodes
                # as 3 MP and is kept at 2000 x 1500, in a fraction of the time and memory.
                scale = MAX_SIDE / max(image.width, image.height) / 2
                image.draft("RGB", (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
            image.load()
            orientation = image.getexif().get(0x0112, 1)
            keep_png = original == "PNG"
            alpha = "A" in image.getbands() or "transparency" in image.info
            mode = ("RGBA" if alpha else "RGB") if keep_png else "RGB"
            converted = image if image.mode == mode else image.convert(mode)
            converted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.BICUBIC, reducing_gap=2.0)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            EOFError, RuntimeError, struct_error):
        raise PhotoError("not_image", upload.filename) from None
    upright = _turn(converted, orientation)
    # A fresh image from raw pixels: nothing of the original's info (EXIF, XMP, comments) comes along.
    pixels = Image.frombytes(mode, upright.size, upright.tobytes())
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


_TURNS = {2: (Image.Transpose.FLIP_LEFT_RIGHT,), 3: (Image.Transpose.ROTATE_180,),
          4: (Image.Transpose.FLIP_TOP_BOTTOM,), 5: (Image.Transpose.TRANSPOSE,), 6: (Image.Transpose.ROTATE_270,),
          7: (Image.Transpose.TRANSVERSE,), 8: (Image.Transpose.ROTATE_90,)}


def _turn(image: Image.Image, orientation: Any) -> Image.Image:
    """The image the right way up for its EXIF orientation (what ImageOps.exif_transpose does), after scaling."""
    for method in _TURNS.get(orientation if isinstance(orientation, int) else 1, ()):
        image = image.transpose(method)
    return image


def clean_all(uploads: list[Upload], max_photos: int, max_bytes: int) -> list[CleanPhoto]:
    """Check and clean every upload; the first refusal raises (nothing is stored yet)."""
    if len(uploads) > max_photos:
        raise PhotoError("too_many")
    return [clean_photo(upload, max_bytes) for upload in uploads]


LATER_DIR = "incoming"  # under media_dir: header-checked uploads waiting for a worker to clean them


def keep_for_later(media_dir: str, upload: Upload) -> str:
    """Write an upload whose header passed but whose decoding took too long, for a worker (``local:`` URL).

    Returns the path relative to ``media_dir``.
    """
    relative = f"{LATER_DIR}/{secrets.token_hex(16)}"
    path = Path(media_dir) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(upload.data)
    return relative


def kept_for_later(media_dir: str, relative: str) -> Path:
    """The file :func:`keep_for_later` wrote (only under ``media_dir/incoming``).

    Raises:
        ValueError: a path outside that folder.
    """
    base = (Path(media_dir) / LATER_DIR).resolve()
    path = (Path(media_dir) / relative).resolve()
    if base not in path.parents:
        raise ValueError(f"not a file kept for later: {relative!r}")
    return path


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
               filename: str = "photo", seconds: float = LATER_SECONDS) -> tuple[Path, Attachment]:
    """Keep one photo that came as bytes (an MMS or WhatsApp download, any channel's file) for a complaint.

    Cleaned like a web-form photo (decoded, turned upright, scaled, re-encoded without metadata, the same size
    and pixel limits: ``intake.max_photo_mb``), written under ``intake.media_dir``, and its attachment row added
    to ``session`` and flushed. The caller commits, and removes the returned file if the commit fails.

    Raises:
        PhotoError: ``wrong_type`` for a declared content type that is not an image, else as :func:`clean_photo`.
    """
    if not is_photo_type(content_type):
        raise PhotoError("wrong_type", filename)
    photo = clean_photo(Upload(filename, data), max_bytes=int(settings.intake.max_photo_mb * 1024 * 1024),
                        seconds=seconds)
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
