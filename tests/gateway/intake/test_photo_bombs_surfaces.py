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


def test_a_photo_too_slow_for_the_request_is_cleaned_by_a_worker(web_stack: Stack, tmp_path) -> None:  # noqa: ANN001
    """A photo whose header passed but whose cleaning outlasts the request's bound is not refused: it is kept as
    sent, the ticket is shown at once, and a worker's job cleans and attaches it (then removes what was kept)."""
    from channels.photos import Upload
    from channels.web import check_fields, surface_message
    from gateway.complaints.intake import file_submission
    from models.message import MediaFetch

    # 12 MP of PNG takes a good tenth of a second to clean; the request's bound here is none at all.
    big = photo("PNG", size=(4000, 3000))
    submission = check_fields({"text": "pohon tumbang menutup jalan"}, [Upload("big.png", big)],
                              region="ID", max_photos=3, max_photo_bytes=1_000_000, photo_seconds=0)
    assert submission.photos == () and [upload.filename for upload in submission.later] == ["big.png"]
    filed = file_submission(web_stack.runtime, submission, surface_message(submission, "app", "slow-1"))
    incoming = tmp_path / "media" / "incoming"
    assert len(list(incoming.iterdir())) == 1
    web_stack.work()
    with web_stack.runtime.db.session() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        assert attachment.complaint_id == filed.complaint_id and attachment.original_type == "PNG"
        assert max(attachment.width, attachment.height) == 2560
        assert session.scalar(select(MediaFetch.status)) == "stored"
    assert list(incoming.iterdir()) == []
