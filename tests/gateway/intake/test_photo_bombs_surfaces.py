"""Image bombs (issue 14, finding 1) through every surface: the form shows the field's error, the API answers
422 naming the file, an e-mail is answered with a polite note (the file unnamed); nothing is decoded."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from gateway.jobs.mail import accept_mail
from models import Attachment, Complaint, Outbox
from tests.channels.test_photo_bombs import gif_header, jpeg_header, png_bomb, png_header
from tests.conftest import Stack
from tests.gateway.web.form.test_form_submit import open_form, send
from tests.gateway.web.intake_support import new_api_key, photo, web_stack_fixture  # noqa: F401

BOMBS = [
    # label, file name, bytes, content type
    ("PNG 1 x 64,000,000", "bomb.png", lambda: png_bomb(1, 64_000_000), "image/png"),
    ("JPEG header 65,000 x 65,000", "bomb.jpg", lambda: jpeg_header(65_000, 65_000), "image/jpeg"),
    ("PNG header 8,000 x 8,000", "wide.png", lambda: png_header(8000, 8000), "image/png"),
    ("GIF header 65,535 x 65,535", "bomb.gif", lambda: gif_header(65_535, 65_535), "image/gif"),
]


@pytest.mark.parametrize(("label", "name", "make", "kind"), BOMBS, ids=[case[0] for case in BOMBS])
def test_the_form_shows_the_fields_error(web_stack: Stack, label: str, name: str, make, kind: str) -> None:  # noqa: ANN001
    client, hidden = open_form(web_stack)
    response = send(client, {**hidden, "text": "Jalan rusak berlubang depan SDN 3 Sawojajar"},
                    [(io.BytesIO(make()), name), (io.BytesIO(photo("JPEG")), "ok.jpg")])
    assert response.status_code == 422, label
    assert "Resolusi foto terlalu besar" in response.get_data(as_text=True), label
    with web_stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 0, label


@pytest.mark.parametrize(("label", "name", "make", "kind"), BOMBS, ids=[case[0] for case in BOMBS])
def test_the_api_answers_422_naming_the_file(web_stack: Stack, label: str, name: str, make, kind: str) -> None:  # noqa: ANN001
    response = web_stack.client.post("/api/v1/complaints", content_type="multipart/form-data",
                                     headers={"X-API-Key": new_api_key(web_stack)},
                                     data={"text": "sampah menumpuk di TPS", "photos": [(io.BytesIO(make()), name)]})
    assert response.status_code == 422, label
    error = response.json["error"]
    assert error["fields"]["photos"]["code"] == "too_many_pixels" and error["fields"]["photos"]["file"] == name
    assert name in error["message"], label


@pytest.mark.parametrize(("label", "name", "make", "kind"), BOMBS, ids=[case[0] for case in BOMBS])
def test_an_email_is_answered_with_a_polite_note(web_stack: Stack, label: str, name: str, make, kind: str) -> None:  # noqa: ANN001
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "warga@example.id", "sambat@malangkota.go.id", "Foto jalan"
    message["Message-ID"] = f"<bomb-{name}@example.id>"
    message.set_content("jalan rusak berlubang di Jl. Ijen, foto terlampir")
    maintype, subtype = kind.split("/")
    message.add_attachment(make(), maintype=maintype, subtype=subtype, filename=name)
    accept_mail(web_stack.runtime, bytes(message), "warga@example.id")
    web_stack.work()
    with web_stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0, label
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1, label
        answer = session.scalar(select(Outbox).where(Outbox.medium == "email"))
        assert "1 lampiran tidak kami simpan" in answer.body and name not in answer.body, label
