"""The web channel as tables: what a citizen or an app sends, and what it becomes (or which fields are wrong)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from channels.base import Ignored, InboundError
from channels.photos import MAX_SIDE, PhotoError, Upload, clean_photo
from channels.web import FieldErrors, Submission, WebChannel, check_fields, to_inbound
from tests.gateway.web.intake_support import SECRET, photo

LIMITS = {"region": "ID", "max_photos": 3, "max_photo_bytes": 1_000_000, "categories": {"jalan": object()}}

ACCEPTED = [
    # label, fields as sent, what the submission holds
    ("text only", {"text": "  jalan rusak  "}, {"text": "jalan rusak", "language": "id", "phone": None}),
    ("local phone", {"text": "lampu mati", "phone": "0812-3456-7890"}, {"phone": "+6281234567890"}),
    ("phone with country code", {"text": "lampu mati", "phone": "+62 812 3456 7890"}, {"phone": "+6281234567890"}),
    ("e-mail normalised", {"text": "air keruh", "email": "Warga@Example.ID"}, {"email": "Warga@example.id"}),
    ("kelurahan by name", {"text": "sampah", "kelurahan": "Kel. Oro Oro Dowo"}, {"kelurahan": "oro-oro-dowo"}),
    ("kelurahan by key", {"text": "sampah", "kelurahan": "rampal-celaket"}, {"kelurahan": "rampal-celaket"}),
    ("coordinates as text with comma", {"text": "banjir", "latitude": "-7,98", "longitude": "112.63"},
     {"latitude": -7.98, "longitude": 112.63}),
    ("coordinates as numbers", {"text": "banjir", "latitude": -7.98, "longitude": 112}, {"longitude": 112.0}),
    ("English", {"text": "broken road", "language": "en"}, {"language": "en"}),
    ("control characters dropped", {"text": "jalan\x00 rusak\x07"}, {"text": "jalan rusak"}),
    ("known category", {"text": "jalan rusak", "category": "jalan"}, {"category": "jalan"}),
    ("empty optional fields", {"text": "jalan rusak", "phone": "", "email": " ", "latitude": "", "longitude": ""},
     {"phone": None, "email": None, "latitude": None}),
]

REFUSED = [
    ("nothing", {}, {"text": "required"}),
    ("blank text", {"text": "   "}, {"text": "required"}),
    ("too short", {"text": "ok"}, {"text": "too_short"}),
    ("too long", {"text": "x" * 4001}, {"text": "too_long"}),
    ("text is a number", {"text": 12345}, {"text": "not_text"}),
    ("phone not a number", {"text": "jalan rusak", "phone": "halo"}, {"phone": "invalid_phone"}),
    ("phone too short", {"text": "jalan rusak", "phone": "0812"}, {"phone": "invalid_phone"}),
    ("e-mail without domain", {"text": "jalan rusak", "email": "warga@"}, {"email": "invalid_email"}),
    ("unknown kelurahan", {"text": "jalan rusak", "kelurahan": "Menteng"}, {"kelurahan": "unknown_kelurahan"}),
    ("latitude only", {"text": "jalan rusak", "latitude": "-7.9"}, {"longitude": "needs_both_coordinates"}),
    ("longitude out of range", {"text": "jalan rusak", "latitude": "1", "longitude": "200"},
     {"longitude": "out_of_range"}),
    ("infinite", {"text": "jalan rusak", "latitude": "inf", "longitude": "1"}, {"latitude": "not_a_number"}),
    ("boolean coordinate", {"text": "jalan rusak", "latitude": True, "longitude": 1}, {"latitude": "not_a_number"}),
    ("unknown language", {"text": "jalan rusak", "language": "jv"}, {"language": "unknown_language"}),
    ("unknown category", {"text": "jalan rusak", "category": "pajak"}, {"category": "unknown_category"}),
    ("several at once", {"phone": "1", "email": "x"}, {"text": "required", "phone": "invalid_phone",
                                                        "email": "invalid_email"}),
]


@pytest.mark.parametrize(("label", "fields", "expected"), ACCEPTED, ids=[case[0] for case in ACCEPTED])
def test_accepted_submissions(label: str, fields: dict, expected: dict) -> None:
    submission = check_fields(fields, [], **LIMITS)
    assert {name: getattr(submission, name) for name in expected} == expected, label


@pytest.mark.parametrize(("label", "fields", "errors"), REFUSED, ids=[case[0] for case in REFUSED])
def test_refused_submissions_name_each_bad_field(label: str, fields: dict, errors: dict) -> None:
    with pytest.raises(FieldErrors) as refused:
        check_fields(fields, [], **LIMITS)
    assert refused.value.fields == errors and refused.value.status == 422, label


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "HEIF"])
def test_photos_keep_their_pixels_and_lose_their_metadata(kind: str) -> None:
    cleaned = clean_photo(Upload(f"photo.{kind.lower()}", photo(kind)), 1_000_000)
    assert cleaned.original_type == kind and SECRET not in cleaned.data and b"Exif" not in cleaned.data
    image = Image.open(io.BytesIO(cleaned.data))
    assert dict(image.getexif()) == {} and image.getpixel((5, 5))[:3] == pytest.approx((200, 40, 40), abs=12)


def test_big_photos_are_scaled_down_and_oversized_files_refused() -> None:
    big = clean_photo(Upload("big.jpg", photo("JPEG", size=(MAX_SIDE * 2, 100))), 5_000_000)
    # A JPEG is decoded at a reduced scale (1/2, 1/4 ...) that keeps at least half the largest side kept.
    assert MAX_SIDE // 2 <= max(big.width, big.height) <= MAX_SIDE
    png = clean_photo(Upload("big.png", photo("PNG", size=(MAX_SIDE * 2, 100))), 5_000_000)
    assert max(png.width, png.height) == MAX_SIDE
    with pytest.raises(PhotoError) as refused:
        clean_photo(Upload("big.jpg", photo("JPEG")), 100)
    assert refused.value.reason == "too_large"


@pytest.mark.parametrize(("label", "data", "reason"), [
    ("empty", b"", "empty"), ("text", b"hello, this is not a photo", "not_image"),
    ("GIF", photo("GIF"), "wrong_type"), ("truncated JPEG", photo("JPEG")[:200], "not_image"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_refused_photos(label: str, data: bytes, reason: str) -> None:
    with pytest.raises(PhotoError) as refused:
        clean_photo(Upload("x", data), 1_000_000)
    assert refused.value.reason == reason, label


def request(body: bytes | dict | None = None, content_type: str = "application/json", **kwargs) -> Request:  # noqa: ANN003
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    return Request(EnvironBuilder(method="POST", data=data, content_type=content_type, **kwargs).get_environ())


def test_channel_contract_parse_inbound_reads_json_into_a_message() -> None:
    channel = WebChannel()
    message = channel.parse_inbound(request({"text": "jalan rusak", "phone": "081234567890"},
                                            headers={"Idempotency-Key": "k-1"}), "http://localhost/")
    assert (message.channel, message.medium, message.provider_message_id) == ("api", "app", "k-1")
    assert (message.sender, message.text, message.raw["phone"]) == ("+6281234567890", "jalan rusak", "+6281234567890")
    with pytest.raises(Ignored):
        channel.parse_status(request({}), "http://localhost/")
    assert channel.answer().status_code == 202


@pytest.mark.parametrize(("label", "req", "status"), [
    ("JSON array", lambda: request(b"[1]"), 400),
    ("broken JSON", lambda: request(b"{"), 400),
    ("plain text", lambda: request(b"jalan rusak", "text/plain"), 415),
    ("invalid field", lambda: request({"text": ""}), 422),
], ids=lambda value: value if isinstance(value, str) else "")
def test_channel_refuses_with_a_clear_status(label: str, req, status: int) -> None:  # noqa: ANN001
    with pytest.raises(InboundError) as refused:
        WebChannel().parse_inbound(req(), "http://localhost/")
    assert refused.value.status == status, label


def test_multipart_photos_and_an_anonymous_sender() -> None:
    environ = EnvironBuilder(method="POST", data={"text": "pohon tumbang", "photos": (io.BytesIO(photo()), "a.jpg")})
    submission = WebChannel().read(Request(environ.get_environ()))
    assert len(submission.photos) == 1
    message = to_inbound(submission, "web", "web", "id-1")
    assert message.sender == "anonymous" and message.raw["photos"] == 1 and "data" not in json.dumps(message.raw)


def test_submission_record_holds_no_photo_bytes() -> None:
    assert Submission(text="x").public_fields()["photos"] == 0


@pytest.mark.parametrize("channel", ["web", "api"])
def test_the_web_channel_is_registered_under_both_names_its_messages_carry(channel: str) -> None:
    from channels import registry
    from channels.web import SPEC

    assert "channels.web" in registry.CHANNEL_MODULES and registry.spec_for(channel) is SPEC
    assert SPEC.webhooks == () and SPEC.build_sender is None  # it sends nothing itself
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.ChannelSpec(name="other", aliases=(channel,)))


@pytest.mark.parametrize(("label", "phone", "email", "expected"), [
    ("phone only", "+6281234567890", None, ("sms", "+6281234567890")),
    ("phone and e-mail", "+6281234567890", "warga@example.id", ("sms", "+6281234567890")),
    ("e-mail only", None, "warga@example.id", ("email", "warga@example.id")),
    ("neither", None, None, None),
], ids=lambda value: value if isinstance(value, str) and " " in value else "")
def test_updates_to_a_web_citizen_route_by_the_channel_contract(label: str, phone: str | None, email: str | None,
                                                               expected: tuple[str, str] | None) -> None:
    """The runtime asks the web channel; with a phone it answers SMS (sent by the configured SMS provider),
    with only an e-mail it passes, and the e-mail channel's contract addresses the mail."""
    from types import SimpleNamespace

    from gateway.runtime import Runtime
    from gateway.settings import load_settings
    from tests.conftest import ROOT

    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml")).with_overrides(
        mail__sender="sambat@example.id")
    runtime = Runtime(settings=settings, db=None, queue=None,  # type: ignore[arg-type]
                      senders={"console": object(), "email": object()}, channels={}, throttle=None)
    for channel in ("web", "api"):
        complaint = SimpleNamespace(channel=channel, medium="web", ticket_code="12345674")
        contact = SimpleNamespace(phone=phone, email=email)
        routed = runtime.update_address(complaint, contact, None)
        if expected is None:
            assert routed is None
            continue
        sender, address = routed
        assert (address.medium, address.recipient) == expected
        if address.medium == "sms":
            assert sender == runtime.default_sms_sender
        else:
            assert sender == "email" and "[Tiket 1234 5674]" in address.subject
