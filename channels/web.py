"""The web channel: the city's form (/aduan), its mobile app (/api/v1) and Open311 clients.

Unlike a provider's webhook, a submission is checked field by field so every mistake can be shown next to
the field that caused it: :func:`check_fields` turns what a citizen typed into a :class:`Submission` or a
:class:`FieldErrors` naming each bad field by a short code (``required``, ``invalid_phone`` ...) that each
surface words for its readers. :class:`WebChannel` meets the contract of :mod:`channels.base` for the JSON
API: ``parse_inbound`` reads a JSON or multipart request into an :class:`~channels.base.InboundMessage`.
Nothing is sent through this channel: confirmations and updates go by SMS (or e-mail) to the contact.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from werkzeug.wrappers import Request, Response

from channels.base import FetchedMedia, Ignored, InboundError, InboundMessage, MediaFetchError, StatusReport
from channels.kelurahan import find_kelurahan
from channels.photos import DECODE_SECONDS, CleanPhoto, PhotoError, Upload, clean_photo, kept_for_later
from channels.registry import ChannelSpec, ReplyAddress

MAX_TEXT, MIN_TEXT = 4000, 3
LIMITS = {"address": 300, "name": 120, "email": 254, "phone": 32, "kelurahan": 60, "category": 40}
FIELDS = ("text", "kelurahan", "address", "latitude", "longitude", "name", "phone", "email", "language",
          "category")


class FieldErrors(InboundError):
    """Some fields are wrong. ``fields``: field name -> error code; the message lists them."""

    status = 422

    def __init__(self, fields: Mapping[str, str], files: Mapping[str, str] | None = None) -> None:
        self.fields = dict(fields)
        self.files = dict(files or {})  # field name -> the refused file's name (photos)
        super().__init__("invalid fields: " + ", ".join(f"{name} ({code})" for name, code in self.fields.items()))


@dataclass(frozen=True)
class Submission:
    """A complaint as the form, the app or an Open311 client sent it, checked and normalised."""

    text: str
    language: str = "id"
    kelurahan: str | None = None  # a key of the kelurahan list
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    phone: str | None = None  # E.164
    email: str | None = None  # normalised
    category: str | None = None
    photos: tuple[CleanPhoto, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. Open311's device_id, media_url
    later: tuple[Upload, ...] = ()  # header checked, too slow to clean within the request: a worker cleans them

    def public_fields(self) -> dict[str, Any]:
        """Everything but the photos' bytes: what is stored as the message's raw record."""
        values = {name: getattr(self, name) for name in FIELDS}
        return {**values, "photos": len(self.photos) + len(self.later),
                **({"extra": dict(self.extra)} if self.extra else {})}


def _text(values: Mapping[str, Any], name: str) -> str | None:
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(name)
    # Control characters (NUL above all: PostgreSQL refuses it) and lone surrogates are never meant.
    value = "".join(char for char in value if char in "\n\t" or (char.isprintable() or char == "\r")
                    and not 0xD800 <= ord(char) <= 0xDFFF).strip()
    return value or None


def check_fields(values: Mapping[str, Any], uploads: list[Upload], *, region: str, max_photos: int,
                 max_photo_bytes: int, categories: Mapping[str, Any] | None = None,
                 default_language: str = "id", photo_seconds: float = DECODE_SECONDS) -> Submission:
    """Check and normalise a submission's fields and photos.

    Args:
        values: field name -> value as sent (strings; numbers allowed for latitude and longitude).
        uploads: the photos as sent.
        region: the phone region for numbers written without a country code (ID).
        max_photos: how many photos at most.
        max_photo_bytes: the largest photo accepted, in bytes.
        categories: the known category codes (None: any category is refused).
        default_language: when none is given.
        photo_seconds: the most the request spends cleaning one photo; a photo whose header passed but which
            takes longer goes to :attr:`Submission.later`, for a worker.

    Raises:
        FieldErrors: naming every bad field with a code.
    """
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for name in ("text", "kelurahan", "address", "name", "phone", "email", "language", "category"):
        try:
            clean[name] = _text(values, name)
        except TypeError:
            errors[name] = "not_text"
            clean[name] = None
        if clean[name] is not None and len(clean[name]) > LIMITS.get(name, MAX_TEXT):
            errors[name] = "too_long"
    text = clean["text"]
    if "text" in errors:
        pass
    elif not text:
        errors["text"] = "required"
    elif len(text) < MIN_TEXT:
        errors["text"] = "too_short"
    if clean["kelurahan"] and "kelurahan" not in errors:
        place = find_kelurahan(clean["kelurahan"])
        if place is None:
            errors["kelurahan"] = "unknown_kelurahan"
        else:
            clean["kelurahan"] = place.key
    if clean["phone"] and "phone" not in errors:
        clean["phone"] = _phone(clean["phone"], region, errors)
    if clean["email"] and "email" not in errors:
        try:
            clean["email"] = validate_email(clean["email"], check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = "invalid_email"
    language = clean["language"] or default_language
    if language not in ("id", "en"):
        errors["language"] = "unknown_language"
    if clean["category"] and "category" not in errors and clean["category"] not in (categories or {}):
        errors["category"] = "unknown_category"
    latitude, longitude = _coordinates(values, errors)
    photos: list[CleanPhoto] = []
    later: list[Upload] = []
    files: dict[str, str] = {}
    try:
        if len(uploads) > max_photos:
            raise PhotoError("too_many")
        for upload in uploads:
            try:
                photos.append(clean_photo(upload, max_photo_bytes, seconds=photo_seconds))
            except PhotoError as error:
                if not error.timed_out:
                    raise
                later.append(upload)  # its header passed; a worker cleans it off the request
    except PhotoError as error:
        errors["photos"] = error.reason
        if error.filename:
            files["photos"] = error.filename
    if errors:
        raise FieldErrors(errors, files)
    return Submission(
        text=text, language=language, kelurahan=clean["kelurahan"], address=clean["address"], latitude=latitude,
        longitude=longitude, name=clean["name"], phone=clean["phone"], email=clean["email"],
        category=clean["category"], photos=tuple(photos), later=tuple(later),
    )


def _phone(raw: str, region: str, errors: dict[str, str]) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        errors["phone"] = "invalid_phone"
        return None
    if not phonenumbers.is_valid_number(number):
        errors["phone"] = "invalid_phone"
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# A coordinate written in a form field: what the API document's multipart schema declares (its pattern), so the
# document and the app agree; a comma for the decimal point is accepted as Indonesian keyboards write it.
NUMBER_PATTERN = r"^\s*[-+]?[0-9]{1,3}(?:[.,][0-9]{1,15})?\s*$"
NUMBER = re.compile(NUMBER_PATTERN)


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    if isinstance(value, str) and not NUMBER.match(value):
        raise ValueError  # 1_000, 1e2, inf: float() takes them, a coordinate is never written so
    number = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    if not math.isfinite(number):
        raise ValueError
    return number


def _coordinates(values: Mapping[str, Any], errors: dict[str, str]) -> tuple[float | None, float | None]:
    found: dict[str, float | None] = {}
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        try:
            found[name] = _number(values.get(name))
        except (ValueError, TypeError, OverflowError):
            errors[name] = "not_a_number"
            continue
        if found[name] is not None and not -bound <= found[name] <= bound:
            errors[name] = "out_of_range"
    if "latitude" in errors or "longitude" in errors:
        return None, None
    if (found["latitude"] is None) != (found["longitude"] is None):
        errors["longitude" if found["longitude"] is None else "latitude"] = "needs_both_coordinates"
        return None, None
    return found["latitude"], found["longitude"]


# The channel names its messages carry, and the medium of each surface.
FORM, APP = "web", "api"
SURFACES = {"form": (FORM, "web"), "app": (APP, "app"), "open311": (APP, "open311")}


def surface_message(submission: Submission, surface: str, provider_message_id: str,
                    raw: Mapping[str, Any] | None = None) -> InboundMessage:
    """The message record of a submission through one surface: ``form``, ``app`` or ``open311``."""
    channel, medium = SURFACES[surface]
    return to_inbound(submission, channel, medium, provider_message_id, raw)


def to_inbound(submission: Submission, channel: str, medium: str, provider_message_id: str,
               raw: Mapping[str, Any] | None = None) -> InboundMessage:
    """The message record of a submission: sent by its phone, else its e-mail, else ``anonymous``."""
    sender = submission.phone or submission.email or "anonymous"
    return InboundMessage(channel=channel, medium=medium, provider_message_id=provider_message_id, sender=sender,
                          text=submission.text, raw={**submission.public_fields(), **(raw or {})})


class WebChannel:
    """The JSON API's reading of a request, meeting :class:`channels.base.Channel`.

    The form and Open311 check their own requests (CSRF, Open311's field names) and then use the same
    :func:`check_fields` and :func:`to_inbound`.
    """

    name = APP

    def __init__(self, region: str = "ID", max_photos: int = 3, max_photo_bytes: int = 10 * 1024 * 1024,
                 categories: Mapping[str, Any] | None = None, default_language: str = "id") -> None:
        self.region, self.max_photos, self.max_photo_bytes = region, max_photos, max_photo_bytes
        self.categories, self.default_language = categories or {}, default_language

    def read(self, request: Request) -> Submission:
        """Check a JSON body, or a multipart form with photos, into a submission.

        Raises:
            InboundError: 415 for another content type, 400 for a body that is not a JSON object.
            FieldErrors: 422, naming the bad fields.
        """
        if request.mimetype == "application/json":
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                raise InboundError("the body must be a JSON object")
            values, uploads = body, []
        elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            values = {name: request.form.get(name) for name in FIELDS if name in request.form}
            uploads = [Upload(file.filename or "photo", file.read())
                       for name in ("photos", "photo") for file in request.files.getlist(name) if file]
        else:
            raise UnsupportedMediaType("send application/json, or multipart/form-data with photos")
        return check_fields(values, uploads, region=self.region, max_photos=self.max_photos,
                            max_photo_bytes=self.max_photo_bytes, categories=self.categories,
                            default_language=self.default_language)

    def parse_inbound(self, request: Request, url: str) -> InboundMessage:
        """The channel contract: the checked request as a message (its photos are not part of it)."""
        key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        return to_inbound(self.read(request), self.name, "app", key)

    def parse_status(self, request: Request, url: str) -> StatusReport:
        raise Ignored("the web channel has no delivery reports")

    def answer(self) -> Response:
        return Response('{"status": "accepted"}\n', status=202, mimetype="application/json")


class UnsupportedMediaType(InboundError):
    status = 415


def build_channel(settings: Any) -> WebChannel:
    """The web channel for these settings (phone region, photo limits, categories)."""

    return WebChannel(region=settings.phone_region, max_photos=settings.intake.max_photos,
                      max_photo_bytes=int(settings.intake.max_photo_mb * 1024 * 1024),
                      categories={category.code: category for category in settings.categories},
                      default_language=settings.default_language)


def _contact_address(contact: Any, complaint: Any, origin: Any, settings: Any) -> ReplyAddress | None:
    """A citizen who gave a phone number hears by SMS, sent by the provider config names (``sms.provider``:
    this channel sends nothing itself); one who gave only an e-mail address: None, so the e-mail channel
    (the channel that can reach them) addresses it."""
    if not contact.phone:
        return None
    return ReplyAddress(medium="sms", recipient=contact.phone)


def fetch_kept(settings: Any, url: str, max_bytes: int) -> FetchedMedia:
    """A photo a web request kept for later (``local:incoming/...``), read for the worker that cleans it."""
    if not url.startswith("local:"):
        raise MediaFetchError(f"not a photo kept by a web request: {url!r}", "unsupported")
    try:
        data = kept_for_later(settings.intake.media_dir, url.removeprefix("local:")).read_bytes()
    except (OSError, ValueError) as error:
        raise MediaFetchError(f"{url}: {error}", "not_found") from None
    if len(data) > max_bytes:
        raise MediaFetchError(f"{url}: larger than {max_bytes} bytes", "too_large")
    return FetchedMedia(data=data)


# The form files messages as channel ``web``, the JSON API and Open311 as ``api``. No webhooks and no sender
# of its own: confirmations and updates reach the contact by SMS (or e-mail) through the contract above.
SPEC = ChannelSpec(name=FORM, aliases=(APP,), build_channel=build_channel, contact_address=_contact_address,
                   answers_in_kind=False, fetch_media=fetch_kept)
