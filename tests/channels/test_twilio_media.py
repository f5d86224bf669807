"""MMS and WhatsApp photos: downloaded from Twilio's media URLs after the ticket reply, kept like form photos.

The media URLs point at :class:`tests.support.media_server.MediaServer`, a real HTTP server on 127.0.0.1 that
serves Twilio's media paths with HTTP basic auth (the account's SID and token) or without. Tables: what the
server holds and how it answers, and what becomes of each file (stored, refused, failed, tried again later).
Run on both stacks.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.jobs.scheduler import sweep_once
from models import Attachment, Complaint, InboundMessage, StatusEvent, utcnow
from models.message import MediaFetch
from tests.channels import twilio_payloads as payloads
from tests.channels.test_photo_bombs import jpeg_header, png_bomb, png_header
from tests.channels.test_twilio import SMS_PATH, form
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Stack, post_twilio
from tests.gateway.web.intake_support import assert_clean, photo
from tests.support.media_server import MediaServer, media_server_fixture  # noqa: F401 - a fixture
from tests.support.twilio_standin import TwilioStandIn

MMS_CITIZEN, WHATSAPP_CITIZEN = "+6285655512345", "+6281311122233"
BASIC = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()


@pytest.fixture
def media_stack(stack: Stack, tmp_path: Path) -> Stack:
    """The stack with photos kept under the test's own directory."""
    stack.runtime.settings = stack.runtime.settings.with_overrides(intake__media_dir=str(tmp_path / "media"))
    return stack


@dataclass
class File:
    """A file of the message: the type Twilio announces, the bytes the server holds, how it serves them."""

    declared: str
    data: bytes
    chunked: bool = False
    hosted: bool = True  # False: the URL answers 404 (deleted at Twilio)


@dataclass
class Download:
    label: str
    payload: str
    files: list[File]
    outcome: list[tuple[str, str | None]]  # (status, reason) of each file's fetch, in order
    require_auth: bool = False
    max_mb: float | None = None
    fetched: int | None = None  # requests the server should see (default: one per file announced as a photo)


BIG = os.urandom(120_000)
DOWNLOADS = [
    Download("MMS, two photos, media auth on", payloads.MMS, [File("image/jpeg", photo()), File("image/png",
             photo("PNG"))], [("stored", None), ("stored", None)], require_auth=True),
    Download("WhatsApp photo, media auth off", payloads.WHATSAPP_PHOTO, [File("image/jpeg", photo())],
             [("stored", None)]),
    Download("WhatsApp photo from an iPhone (HEIC)", payloads.WHATSAPP_PHOTO, [File("image/heic", photo("HEIF"))],
             [("stored", None)]),
    Download("too large, said by Content-Length", payloads.WHATSAPP_PHOTO, [File("image/jpeg", BIG)],
             [("refused", "too_large")], max_mb=0.1),
    Download("too large, streamed without a length", payloads.WHATSAPP_PHOTO, [File("image/jpeg", BIG, chunked=True)],
             [("refused", "too_large")], max_mb=0.1),
    Download("a voice note is not fetched", payloads.WHATSAPP_VOICE_NOTE, [File("audio/ogg", b"OggS" + BIG[:500])],
             [("refused", "wrong_type")], fetched=0),
    Download("announced as a photo, is not an image", payloads.WHATSAPP_PHOTO,
             [File("image/jpeg", b"<html><body>not a photo</body></html>")], [("refused", "not_image")]),
    Download("gone at Twilio (404)", payloads.WHATSAPP_PHOTO, [File("image/jpeg", photo(), hosted=False)],
             [("failed", "not_found")]),
    Download("four photos: three kept, like the form", payloads.MMS, [File("image/jpeg", photo())] * 4,
             [("stored", None)] * 3 + [("refused", "too_many")], fetched=3),
    # Image bombs (issue 14): refused from the header, and the citizen gets one polite note.
    Download("image bomb: PNG of 1 x 64,000,000 pixels", payloads.WHATSAPP_PHOTO,
             [File("image/png", png_bomb(1, 64_000_000))], [("refused", "too_many_pixels")]),
    Download("image bombs: JPEG header 65,000 x 65,000 and a PNG header of 64 MP", payloads.MMS,
             [File("image/jpeg", jpeg_header(65_000, 65_000)), File("image/png", png_header(8000, 8000))],
             [("refused", "too_many_pixels"), ("refused", "too_many_pixels")]),
]
# Refusals after a download get one polite note per message; ones decided before it (not a photo, too many) none.
NOTED = {"too_large", "not_image", "too_many_pixels", "too_slow"}


def with_media(payload: str, server: MediaServer, files: list[File], host: str = "127.0.0.1") -> dict[str, str]:
    """The payload with its media fields replaced by files at the media server."""
    params = {key: value for key, value in form(payload).items() if not key.startswith(("MediaUrl", "MediaContent"))}
    params["NumMedia"] = str(len(files))
    for number, item in enumerate(files):
        url = server.add(item.data, item.declared, params["MessageSid"], item.chunked, host=host)
        params[f"MediaUrl{number}"] = url if item.hosted else url + "-deleted"
        params[f"MediaContentType{number}"] = item.declared
    return params


def fetches(stack: Stack) -> list[MediaFetch]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(MediaFetch).order_by(MediaFetch.position)))


@pytest.mark.parametrize("case", DOWNLOADS, ids=lambda case: case.label)
def test_media_download(media_stack: Stack, twilio_standin: TwilioStandIn, media_server: MediaServer,
                        case: Download) -> None:
    stack = media_stack
    if case.max_mb:
        stack.runtime.settings = stack.runtime.settings.with_overrides(intake__max_photo_mb=case.max_mb)
    media_server.require_auth = case.require_auth

    assert post_twilio(stack.client, SMS_PATH, with_media(case.payload, media_server, case.files)).status_code == 200
    stack.work()

    reply, *notes = twilio_standin.messages_sent()
    assert reply["body"].startswith("Aduan diterima. Tiket ")
    noted = any(status == "refused" and reason in NOTED for status, reason in case.outcome)
    assert [note["body"][:36] for note in notes] == (["Foto Anda tidak kami simpan: hanya f"] if noted else [])
    assert all(len(note["body"]) <= 160 and "#" not in note["body"] for note in notes)  # no file name echoed
    rows = fetches(stack)
    assert [(row.status, row.reason) for row in rows] == case.outcome, [row.last_error for row in rows]
    expected_requests = case.fetched if case.fetched is not None else len(case.files)
    assert len(media_server.requests) == expected_requests
    if case.require_auth:
        assert {request.authorization for request in media_server.requests} == {BASIC}
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        attachments = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        stored = [row for row in rows if row.status == "stored"]
        assert [a.id for a in attachments] == [row.attachment_id for row in stored]
        message = session.scalar(select(InboundMessage))
        for attachment in attachments:
            assert (attachment.complaint_id, attachment.inbound_message_id) == (complaint.id, message.id)
            assert attachment.content_type in ("image/jpeg", "image/png")
            assert_clean(Path(stack.runtime.settings.intake.media_dir) / attachment.path)
        assert all(row.next_attempt_at is None and row.attempts <= 1 for row in rows)  # nothing to try again


@dataclass
class Retry:
    label: str
    break_it: str  # how the first download fails: 503, 401 (a wrong token), unreachable
    reason: str
    fixed: bool = True


RETRIES = [
    Retry("Twilio answers 503", "503", "unavailable"),
    Retry("credentials refused (401): an operator may fix them", "401", "refused"),
    Retry("media host unreachable", "unreachable", "unavailable", fixed=False),
]


@pytest.mark.parametrize("case", RETRIES, ids=lambda case: case.label)
def test_failed_download_is_tried_again_later_and_never_holds_up_the_reply(
        media_stack: Stack, twilio_standin: TwilioStandIn, media_server: MediaServer, case: Retry) -> None:
    stack = media_stack
    media_server.require_auth = True
    params = with_media(payloads.WHATSAPP_PHOTO, media_server, [File("image/jpeg", photo())])
    if case.break_it == "503":
        media_server.fail_next(503)
    elif case.break_it == "401":
        media_server.auth_token = "a-token-rotated-at-twilio"
    else:
        params["MediaUrl0"] = f"http://127.0.0.1:{_closed_port()}/2010-04-01/Accounts/{ACCOUNT_SID}/Media/ME1"

    post_twilio(stack.client, SMS_PATH, params)
    stack.work()

    [reply] = twilio_standin.messages_sent()  # the ticket reply went out; the photo did not hold it up
    assert reply["to"] == f"whatsapp:{WHATSAPP_CITIZEN}" and "Tiket" in reply["body"]
    if media_server.requests:
        assert twilio_standin.requests[0].received_at <= media_server.requests[0].received_at  # the reply first
    [row] = fetches(stack)
    assert (row.status, row.reason, row.attempts) == ("retry", case.reason, 1), row.last_error
    assert row.next_attempt_at > utcnow()
    assert sweep_once(stack.runtime, grace=timedelta(0)).media == 0  # not due yet
    if not case.fixed:
        return

    media_server.auth_token = AUTH_TOKEN
    with stack.runtime.db.session() as session:
        session.execute(update(MediaFetch).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert sweep_once(stack.runtime, grace=timedelta(0)).media == 1
    stack.work()

    [row] = fetches(stack)
    assert (row.status, row.attempts, row.reason) == ("stored", 2, None)
    with stack.runtime.db.session() as session:
        attachment = session.get(Attachment, row.attachment_id)
        assert attachment.complaint_id == session.scalar(select(Complaint.id))
    assert len(twilio_standin.messages_sent()) == 1  # still the one reply


def test_download_failing_every_time_fails_for_good(media_stack: Stack, media_server: MediaServer) -> None:
    stack = media_stack
    post_twilio(stack.client, SMS_PATH, with_media(payloads.WHATSAPP_PHOTO, media_server, [File("image/jpeg",
                                                                                            photo())]))
    attempts = stack.runtime.settings.outbox.max_attempts
    media_server.fail_next(500, times=attempts)
    stack.work()
    for _ in range(attempts - 1):
        with stack.runtime.db.session() as session:
            session.execute(update(MediaFetch).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            session.commit()
        sweep_once(stack.runtime, grace=timedelta(0))
        stack.work()
    [row] = fetches(stack)
    assert (row.status, row.attempts, row.reason) == ("failed", attempts, "unavailable")
    assert len(media_server.requests) == attempts


def test_credentials_go_to_twilio_hosts_only(media_stack: Stack, media_server: MediaServer) -> None:
    """A media URL on another host than Twilio's (here: localhost, not the API base URL's 127.0.0.1) is fetched
    without the account's SID and token."""
    stack = media_stack
    post_twilio(stack.client, SMS_PATH, with_media(payloads.WHATSAPP_PHOTO, media_server,
                                                   [File("image/jpeg", photo())], host="localhost"))
    stack.work()
    [request] = media_server.requests
    assert request.authorization is None
    [row] = fetches(stack)
    assert row.status == "stored"


@pytest.mark.parametrize(("minutes_later", "adds_to_it"), [(20, True), (90, False)],
                         ids=["20 minutes after the complaint: added to it", "90 minutes after: a new complaint"])
def test_photo_sent_after_the_complaint_text(media_stack: Stack, twilio_standin: TwilioStandIn,
                                             media_server: MediaServer, minutes_later: int, adds_to_it: bool) -> None:
    """WhatsApp sends each photo as a message of its own: one without text belongs with the complaint of the hour."""
    stack = media_stack
    text = form(payloads.WHATSAPP, From=f"whatsapp:{WHATSAPP_CITIZEN}")
    post_twilio(stack.client, SMS_PATH, text)
    stack.work()
    with stack.runtime.db.session() as session:
        session.execute(update(Complaint).values(created_at=utcnow() - timedelta(minutes=minutes_later)))
        session.commit()

    post_twilio(stack.client, SMS_PATH, with_media(payloads.WHATSAPP_PHOTO, media_server, [File("image/jpeg",
                                                                                            photo())]))
    stack.work()

    first, second = twilio_standin.messages_sent()
    with stack.runtime.db.session() as session:
        complaints = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        [attachment] = session.scalars(select(Attachment)).all()
        if adds_to_it:
            [complaint] = complaints
            code = complaint.ticket_code
            assert second["body"] == f"Tambahan untuk tiket {code[:4]} {code[4:]} diterima. Terima kasih."
            [event] = session.scalars(select(StatusEvent).where(StatusEvent.kind == "citizen_info")).all()
            assert event.complaint_id == complaint.id
        else:
            assert len(complaints) == 2 and second["body"].startswith("Aduan diterima. Tiket ")
        assert attachment.complaint_id == complaints[-1].id


def test_agency_sees_the_photos_on_the_complaint_page(media_stack: Stack, media_server: MediaServer) -> None:
    """Like a web-form photo: on the complaint's page, and served to the staff who may see the complaint."""
    from tests.gateway.conftest import SUPER, Admin, add_users

    stack = media_stack
    add_users(stack)
    post_twilio(stack.client, SMS_PATH, with_media(payloads.MMS, media_server, [File("image/jpeg", photo())]))
    stack.work()
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        attachment = session.scalar(select(Attachment))
    console = Admin(stack).as_user(SUPER)

    page = console.get(f"/admin/complaints/{complaint.ticket_code}").text
    url = f"/admin/complaints/{complaint.ticket_code}/photos/{attachment.id}"
    assert f'src="{url}"' in page
    served = console.get(url)
    assert (served.status_code, served.mimetype) == (200, "image/jpeg")
    assert served.data == (Path(stack.runtime.settings.intake.media_dir) / attachment.path).read_bytes()
    assert Admin(stack).as_user(None).get(url).status_code in (302, 401, 403)


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

