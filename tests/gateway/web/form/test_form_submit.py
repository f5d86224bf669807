"""The web form through Flask's test client on both stacks: filing, errors by field, CSRF, honeypot, photos."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from models import Attachment, Complaint, Contact, InboundMessage, Outbox
from tests.conftest import Stack
from tests.gateway.web.intake_support import assert_clean, csrf_token, photo, web_stack_fixture  # noqa: F401
from tests.support.twilio_standin import TwilioStandIn


def open_form(stack: Stack, client=None, path: str = "/aduan"):  # noqa: ANN001, ANN201
    client = client or stack.client
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    submission_id = re.search(r'name="submission_id" value="([0-9a-f]{32})"', html).group(1)
    return client, {"csrf_token": csrf_token(html), "submission_id": submission_id}


def send(client, fields: dict, files: list | None = None):  # noqa: ANN001, ANN201
    data = dict(fields)
    if files:
        data["photos"] = files
    return client.post("/aduan", data=data, content_type="multipart/form-data")


def count(stack: Stack, model) -> int:  # noqa: ANN001
    with stack.runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_form_files_a_complaint_and_shows_the_ticket_large(web_stack: Stack, twilio_standin: TwilioStandIn) -> None:
    client, hidden = open_form(web_stack)
    response = send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar", "kelurahan": "sawojajar",
                             "address": "Jl. Danau Toba", "latitude": "-7,9666", "longitude": "112.6326",
                             "name": "Budi", "phone": "0812-3456-7890"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/aduan/terkirim")
    done = client.get("/aduan/terkirim").get_data(as_text=True)
    code = re.search(r'<p class="ticket" id="ticket-code">(\d{4} \d{4})</p>', done).group(1).replace(" ", "")
    assert "Dinas Pekerjaan Umum" in done and "SMS" in done
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert (complaint.ticket_code, complaint.channel, complaint.medium) == (code, "web", "web")
        assert (complaint.kelurahan, complaint.address) == ("sawojajar", "Jl. Danau Toba")
        assert (complaint.latitude, complaint.longitude) == (-7.9666, 112.6326)
        assert complaint.agency_code == "DPUPRPKP" and complaint.status == "assigned"
        contact = session.get(Contact, complaint.contact_id)
        assert (contact.phone, contact.name, contact.language) == ("+6281234567890", "Budi", "id")
        message = session.get(InboundMessage, complaint.inbound_message_id)
        assert message.processed_at is not None and message.provider_message_id == hidden["submission_id"]
    # The confirmation is the SMS reply's text, sent by the worker through the outbox.
    web_stack.work()
    [sms] = twilio_standin.messages_sent()
    assert sms["to"] == "+6281234567890" and sms["body"].startswith(f"Aduan diterima. Tiket {code[:4]} {code[4:]}")


def test_errors_are_shown_next_to_their_fields_and_typed_text_is_kept(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    response = send(client, {**hidden, "text": "Lampu PJU mati <b>3 hari</b>", "phone": "12345",
                             "email": "bukan-email", "latitude": "-7.9", "kelurahan": "atlantis"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert '<p class="error" id="phone-error">Nomor HP tidak valid.' in html
    assert '<p class="error" id="email-error">Alamat e-mail tidak valid.' in html
    assert 'id="longitude-error">Isi lintang dan bujur' in html
    assert 'id="kelurahan-error">Pilih kelurahan dari daftar.' in html
    assert "Lampu PJU mati &lt;b&gt;3 hari&lt;/b&gt;</textarea>" in html  # kept, and escaped
    assert 'value="12345"' in html and 'value="bukan-email"' in html and 'value="-7.9"' in html
    assert 'id="text-error"' not in html
    assert count(web_stack, Complaint) == 0


def test_english_switch_words_the_errors_in_english(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack, path="/aduan?lang=en")
    html = send(client, {**hidden, "text": ""}).get_data(as_text=True)
    assert 'lang="en"' in html and 'id="text-error">Required.' in html and "Bahasa Indonesia" in html


def test_missing_csrf_token_is_refused_with_the_text_kept(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    response = send(client, {"submission_id": hidden["submission_id"], "text": "sampah menumpuk di TPS"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Formulir kedaluwarsa" in html and "sampah menumpuk di TPS</textarea>" in html
    assert count(web_stack, Complaint) == 0


def test_honeypot_filled_files_nothing(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    response = send(client, {**hidden, "text": "cheap pills", "website": "http://spam.example"})
    assert response.status_code == 400 and count(web_stack, Complaint) == 0


def test_anonymous_complaint_gets_a_ticket_and_no_message(web_stack: Stack, twilio_standin: TwilioStandIn) -> None:
    client, hidden = open_form(web_stack)
    assert send(client, {**hidden, "text": "terima kasih pak"}).status_code == 303
    done = client.get("/aduan/terkirim").get_data(as_text=True)
    assert "Sedang diperiksa" in done or "sedang diperiksa" in done
    web_stack.work()
    assert twilio_standin.messages_sent() == [] and count(web_stack, Outbox) == 0 and count(web_stack, Contact) == 0


def test_double_tap_on_send_files_one_complaint(web_stack: Stack) -> None:
    client, hidden = open_form(web_stack)
    fields = {**hidden, "text": "air PDAM mati sejak pagi", "phone": "081234567890"}
    assert send(client, fields).status_code == 303
    assert send(client, fields).status_code == 303
    assert count(web_stack, Complaint) == 1 and count(web_stack, Outbox) == 1
    # Back, edit, send again with the same form: a second complaint, not a refusal.
    assert send(client, {**fields, "text": "air PDAM mati sejak pagi, sekarang keruh"}).status_code == 303
    assert count(web_stack, Complaint) == 2


def test_photos_are_stored_without_their_metadata(web_stack: Stack, tmp_path: Path) -> None:
    import io

    client, hidden = open_form(web_stack)
    files = [(io.BytesIO(photo("JPEG")), "IMG_0001.jpg"), (io.BytesIO(photo("PNG")), "layar.png"),
             (io.BytesIO(photo("HEIF")), "IMG_0002.HEIC")]
    assert send(client, {**hidden, "text": "pohon tumbang menutup jalan"}, files).status_code == 303
    with web_stack.runtime.db.session() as session:
        attachments = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        complaint = session.scalar(select(Complaint))
    assert [a.original_type for a in attachments] == ["JPEG", "PNG", "HEIF"]
    assert [a.content_type for a in attachments] == ["image/jpeg", "image/png", "image/jpeg"]
    assert all(a.complaint_id == complaint.id for a in attachments)
    for attachment in attachments:
        image = assert_clean(tmp_path / "media" / attachment.path)
        assert image.size == (60, 80) != (80, 60) or attachment.original_type == "HEIF"  # turned upright


def test_wrong_photos_are_refused_next_to_the_photo_field(web_stack: Stack) -> None:
    import io

    client, hidden = open_form(web_stack)
    gif = [(io.BytesIO(photo("GIF")), "animasi.gif")]
    html = send(client, {**hidden, "text": "banjir di jalan"}, gif).get_data(as_text=True)
    assert 'id="photos-error">Hanya foto JPEG, PNG atau HEIC.' in html and "pilih lagi foto Anda" in html
    four = [(io.BytesIO(photo("JPEG")), f"{n}.jpg") for n in range(4)]
    html = send(client, {**hidden, "text": "banjir di jalan"}, four).get_data(as_text=True)
    assert 'id="photos-error">Paling banyak 3 foto.' in html
    text = [(io.BytesIO(b"not an image at all"), "foto.jpg")]
    html = send(client, {**hidden, "text": "banjir di jalan"}, text).get_data(as_text=True)
    assert 'id="photos-error">File ini bukan foto' in html
    assert count(web_stack, Complaint) == 0 and count(web_stack, Attachment) == 0
