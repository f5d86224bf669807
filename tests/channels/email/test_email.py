"""E-mail: a table of real-world mails parsed, and mail end to end through the real SMTP listener.

Mail goes in with smtplib to the aiosmtpd listener (`sambat smtp`), through the pipeline on both stacks,
and the answers come out over SMTP to an aiosmtpd server on loopback that records what it received.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from channels.email import DeliveryFailure, delivery_failure, parse_mail
from channels.email.listener import start_listener
from gateway.complaints.status import change_status, enqueue_sends
from models import Complaint, InboundMessage, Outbox, StatusEvent
from models.intake import Attachment
from tests.conftest import Stack, _empty_tables, _stack
from tests.support.live import free_port

DATA = Path(__file__).parent.parent / "testdata" / "email"
CITY = "sambat@malangkota.go.id"


@dataclass
class Parsed:
    file: str
    sender: str
    text: str
    automated: str | None = None
    photos: int = 0
    refused: list[str] = field(default_factory=list)
    references: int = 0


PARSED = [
    Parsed("gmail_reply_id.eml", "budi.santoso1987@gmail.com", "Lubangnya sekarang makin besar, tadi pagi ada "
           "pengendara motor yang jatuh.\nMohon segera ditangani \u2014 terima kasih.", references=1),
    Parsed("gmail_reply_en.eml", "sarah.miller.mlg@gmail.com",
           "The light is still off tonight, and the street is very dark near the school.", references=1),
    Parsed("outlook_reply_id.eml", "rina.wulandari@outlook.co.id",
           "Sampai hari ini sampahnya belum diangkut, baunya sampai ke rumah warga.\n\nSalam,\nRina", references=1),
    Parsed("outlook_reply_en.eml", "agus.hartono@company.co.id",
           "The cars are parked there again this morning, blocking the footpath.\n\nRegards,\nAgus Hartono",
           references=1),
    Parsed("html_only.eml", "warga.klojen@yahoo.co.id", "Selamat siang,\n\nSaluran air di depan rumah no. 12 Jl. "
           "Semeru mampet sejak seminggu, air meluap ke jalan kalau hujan.\n\nTerima kasih & salam."),
    Parsed("base64_body.eml", "dewi.lestari88@gmail.com", "Pohon besar di depan SDN Bareng 3 miring dan hampir "
           "tumbang, dahannya sudah menimpa kabel.\nAnak-anak sekolah lewat situ setiap pagi."),
    Parsed("iso_8859_1.eml", "jose.martinez@laposte.net", "Bonjour, je suis Jos\u00e9, \u00e9tudiant \u00e0 "
           "l'Universit\u00e9 Brawijaya.\nLe trottoir devant le caf\u00e9 \u00ab Kopi Tjangkir \u00bb est cass\u00e9, "
           "une dame est tomb\u00e9e hier."),
    Parsed("windows_1252.eml", "jan.devries@hetnet.nl", "Lampu merah di perempatan \u201cKayutangan\u201d mati sejak "
           "kemarin \u2013 sangat berbahaya.\nSaya turis dari Belanda, kemarin hampir ditabrak."),
    Parsed("auto_reply_gmail.eml", "budi.santoso1987@gmail.com", "Terima kasih atas email Anda. Saya sedang cuti "
           "sampai 30 November dan akan membalas setelah kembali.", automated="Auto-Submitted", references=1),
    Parsed("outlook_oof.eml", "rina.wulandari@outlook.co.id", "Saya sedang di luar kantor sampai Senin depan.",
           automated="Auto-Submitted", references=1),
    Parsed("bounce_dsn.eml", "mailer-daemon@googlemail.com", "** Address not found **", automated="Auto-Submitted",
           references=1),
    # Who a mail is from is its envelope sender: from a mailbox, the Return-Path its server wrote.
    Parsed("list_mail.eml", "bounce-mc.us21_4567.8901-sambat=malangkota.go.id@mail245.atl121.mcdlv.net",
           "Lomba kampung bersih 2026 dibuka! Daftarkan RW Anda sebelum 30 November.", automated="Precedence: bulk"),
    Parsed("photo_gmail.eml", "andi.pratama.mlg@gmail.com",
           "Jalan berlubang besar di Jl. Danau Toba dekat pertigaan, fotonya terlampir.", photos=1),
    Parsed("pdf_attachment.eml", "siti.aminah.sukun@gmail.com",
           "Tagihan PBB saya naik dua kali lipat, surat keberatan terlampir.", refused=["keberatan_pbb.pdf"]),
]


@pytest.mark.parametrize("case", PARSED, ids=lambda case: case.file)
def test_parse_real_world_mail(case: Parsed) -> None:
    mail = parse_mail((DATA / case.file).read_bytes())
    assert mail.sender == case.sender
    assert mail.text.startswith(case.text) and (case.automated or mail.text == case.text)
    assert (mail.automated or "").startswith(case.automated or "") and bool(mail.automated) == bool(case.automated)
    assert (len(mail.photos), mail.refused, len(mail.references)) == (case.photos, case.refused, case.references)
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")


def test_bounce_with_only_an_empty_return_path_is_automated() -> None:
    raw = (DATA / "bounce_dsn.eml").read_bytes().replace(b"Auto-Submitted: auto-replied\n", b"")
    assert "multipart/report" in parse_mail(raw).automated
    plain = (DATA / "html_only.eml").read_bytes()
    postmaster = plain.replace(b"From: Warga Klojen <warga.klojen@yahoo.co.id>", b"From: postmaster@example.net")
    assert "postmaster" in parse_mail(postmaster).automated
    assert parse_mail(plain, envelope_from="").automated == "empty return path (a bounce)"
    assert parse_mail(plain, envelope_from="warga.klojen@yahoo.co.id").automated is None


# --- end to end through the listener ----------------------------------------------------------------


class Recorder:
    """An SMTP server on loopback that keeps what it receives (the city's outbound relay, in tests)."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse_rcpt: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.mails.append(message_from_bytes(envelope.original_content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()


@dataclass
class MailStack:
    stack: Stack
    relay: Recorder
    port: int  # the listener's port

    def send(self, raw: bytes, mail_from: str = "warga@example.id", to: str = CITY) -> dict:
        wire = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # on the wire lines end in CRLF
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            return smtp.sendmail(mail_from, [to], wire)

    def work(self) -> None:
        self.stack.work()


@pytest.fixture(params=["postgres", "sqlite"])
def mail(request: pytest.FixtureRequest, twilio_standin, relay, tmp_path: Path) -> Iterator[MailStack]:  # noqa: ANN001
    url = request.getfixturevalue(f"{request.param}_url")
    recorder, relay_port = relay
    built = _stack(request.param, url, twilio_standin, mail__host="127.0.0.1", mail__port=relay_port, mail__tls="none",
                   mail__sender=f"Sambat Kota Malang <{CITY}>", intake__media_dir=str(tmp_path / "media"),
                   smtp__accept=(CITY,), send_rates={})
    listener = start_listener(built.runtime, f"127.0.0.1:{free_port()}")
    yield MailStack(built, recorder, listener.port)
    listener.stop()
    built.runtime.db.dispose()
    _empty_tables(url)


def compose(sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, CITY, subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def test_mail_in_ticket_out_threaded(mail: MailStack) -> None:
    mail.send((DATA / "html_only.eml").read_bytes(), mail_from="warga.klojen@yahoo.co.id")
    mail.work()

    [answer] = mail.relay.mails
    assert answer["To"] == "warga.klojen@yahoo.co.id"
    assert answer["In-Reply-To"] == "<1934215093.2741853.1795405207123@mail.yahoo.com>"
    assert answer["Auto-Submitted"] == "auto-replied"
    body = answer.get_content()
    assert body.startswith("Aduan diterima. Tiket ")
    with mail.stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert (complaint.channel, complaint.medium, complaint.agency_code) == ("email", "email", "DPUPRPKP")
        # Sambat's own subject: the citizen's is never echoed.
        assert answer["Subject"] == f"Aduan [Tiket {complaint.ticket_code[:4]} {complaint.ticket_code[4:]}]"
        row = session.scalar(select(Outbox))
        assert (row.channel, row.medium, row.status) == ("email", "email", "sent")
        assert row.provider_message_id == answer["Message-ID"]  # stored: replies to it find the complaint

    # The citizen answers in the thread (Gmail-style, history quoted): only the new text is added.
    reply = compose("Warga Klojen <warga.klojen@yahoo.co.id>", answer["Subject"],
                    f"Sekarang airnya sudah masuk ke rumah.\n\nPada Sen, 23 Nov 2026 pukul 10.41 Sambat "
                    f"<{CITY}> menulis:\n> {body.splitlines()[0]}\n", In_Reply_To=answer["Message-ID"],
                    References=answer["Message-ID"], Message_ID="<reply-1@mail.yahoo.com>")
    mail.send(reply, mail_from="warga.klojen@yahoo.co.id")
    mail.work()
    with mail.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1
        note = session.scalar(select(StatusEvent.note).where(StatusEvent.kind == "citizen_info"))
        assert note == "Sekarang airnya sudah masuk ke rumah."
    thanks = mail.relay.mails[-1]
    assert thanks.get_content().startswith("Tambahan untuk tiket ")
    assert thanks["In-Reply-To"] == "<reply-1@mail.yahoo.com>" and answer["Message-ID"] in thanks["References"]

    # An agency resolves it: the update goes by e-mail, in the same thread.
    with mail.stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        _, row = change_status(session, mail.stack.runtime, complaint, "resolved", actor="admin@dpuprpkp",
                               note="Saluran sudah dibersihkan.")
        session.commit()
        enqueue_sends(mail.stack.runtime, [row])
    mail.work()
    update = mail.relay.mails[-1]
    assert update["To"] == "warga.klojen@yahoo.co.id" and "[Tiket " in update["Subject"]
    assert "Selesai. Saluran sudah dibersihkan." in update.get_content()
    assert update["In-Reply-To"] == "<1934215093.2741853.1795405207123@mail.yahoo.com>"


def test_subject_token_threads_only_for_the_citizen_who_filed(mail: MailStack) -> None:
    mail.send(compose("budi@example.id", "Jalan rusak", "jalan rusak berlubang di Jl. Soekarno Hatta",
                      Message_ID="<first@example.id>"), mail_from="budi@example.id")
    mail.work()
    subject = mail.relay.mails[0]["Subject"]  # "Aduan [Tiket 1234 5678]", no In-Reply-To below
    mail.send(compose("budi@example.id", subject, "ada tambahan: dua lubang lagi", Message_ID="<second@example.id>"),
              mail_from="budi@example.id")
    mail.send(compose("orang.lain@example.id", subject, "saya juga lihat", Message_ID="<third@example.id>"),
              mail_from="orang.lain@example.id")
    mail.work()
    with mail.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 2  # the stranger's is new
        notes = session.scalars(select(StatusEvent.note).where(StatusEvent.kind == "citizen_info")).all()
        assert notes == ["ada tambahan: dua lubang lagi"]


@pytest.mark.parametrize("file", ["auto_reply_gmail.eml", "outlook_oof.eml", "bounce_dsn.eml", "list_mail.eml"])
def test_automated_mail_is_stored_never_answered(mail: MailStack, file: str) -> None:
    envelope_from = "" if file == "bounce_dsn.eml" else "someone@example.id"
    mail.send((DATA / file).read_bytes(), mail_from=envelope_from)
    mail.work()
    assert mail.relay.mails == []
    with mail.stack.runtime.db.session() as session:
        [message] = session.scalars(select(InboundMessage)).all()
        assert message.automated and message.processed_at is not None and message.raw["automated"]
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0
        assert session.scalar(select(func.count()).select_from(Complaint)) == 0


def test_a_bounce_marks_the_mail_it_returns_undelivered_and_is_not_answered(mail: MailStack) -> None:
    mail.send(compose("Budi <budi.santos01987@gmail.com>", "Jalan rusak", "jalan rusak berlubang di jl semeru",
                      Message_ID="<complaint-1@mail.gmail.com>"), mail_from="budi.santos01987@gmail.com")
    mail.work()
    [answer] = mail.relay.mails
    bounce = (DATA / "bounce_dsn.eml").read_bytes().replace(b"<sambat.46.2b3c4d5e6f70@malangkota.go.id>",
                                                           answer["Message-ID"].encode())
    mail.send(bounce, mail_from="")
    mail.send(bounce, mail_from="")  # the same bounce twice changes nothing more
    mail.work()
    assert len(mail.relay.mails) == 1  # nothing answered
    with mail.stack.runtime.db.session() as session:
        [row] = session.scalars(select(Outbox)).all()
        assert (row.status, row.error_code) == ("undelivered", "5.1.1")
        assert row.last_error == ("bounced: 5.1.1 smtp; 550-5.1.1 The email account that you tried to reach "
                                  "does not exist.")
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1


DSN_PARTS = """Content-Type: multipart/report; boundary="b"; report-type=delivery-status
Subject: Undelivered Mail Returned to Sender
From: MAILER-DAEMON@mx.example.id
Message-ID: <bounce@mx.example.id>

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.id

Final-Recipient: rfc822; warga@example.id
Action: {action}
Status: {status}
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

--b
Content-Type: message/rfc822

Message-ID: <sambat.7.abc@malangkota.go.id>
Subject: Re: Sampah [Tiket 1234 5678]

isi
--b--
"""


@pytest.mark.parametrize(("raw", "expected"), [
    (DSN_PARTS.format(action="failed", status="5.2.2"),
     DeliveryFailure(("<sambat.7.abc@malangkota.go.id>",), "5.2.2", "smtp; 552 5.2.2 mailbox full")),
    (DSN_PARTS.format(action="delayed", status="4.4.1"), None),  # still trying: not a failure yet
    (DSN_PARTS.format(action="delivered", status="2.0.0"), None),
    (DSN_PARTS.replace("report-type=delivery-status", "report-type=disposition-notification")
     .format(action="failed", status="5.0.0"), None),  # a read receipt, not a bounce
], ids=["failed, message returned whole", "delayed", "delivered", "read receipt"])
def test_delivery_failures_are_read_from_the_report(raw: str, expected: DeliveryFailure | None) -> None:
    assert delivery_failure(raw.replace("\n", "\r\n").encode()) == expected
    assert delivery_failure((DATA / "gmail_reply_id.eml").read_bytes()) is None


def test_same_message_id_twice_is_one_message(mail: MailStack) -> None:
    raw = (DATA / "base64_body.eml").read_bytes()
    mail.send(raw)
    mail.send(raw)
    mail.work()
    assert len(mail.relay.mails) == 1
    with mail.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_photo_kept_without_metadata_other_files_refused_politely(mail: MailStack, tmp_path: Path) -> None:
    from PIL import Image

    mail.send((DATA / "photo_gmail.eml").read_bytes())
    mail.send((DATA / "pdf_attachment.eml").read_bytes())
    mail.work()
    with mail.stack.runtime.db.session() as session:
        [attachment] = session.scalars(select(Attachment)).all()
        message = session.get(InboundMessage, attachment.inbound_message_id)
        assert message.media == [{"url": f"media:{attachment.path}", "content_type": "image/jpeg"}]
        assert session.scalar(select(func.count()).select_from(Complaint)) == 2
    with Image.open(tmp_path / "media" / attachment.path) as stored:
        assert not stored.getexif() and (stored.width, stored.height) == (64, 48)
    pdf_answer = next(m for m in mail.relay.mails if "tidak kami simpan" in m.get_content())
    # Polite, and no file name echoed: "1 lampiran tidak kami simpan ...".
    assert "1 lampiran tidak kami simpan" in pdf_answer.get_content()
    assert "keberatan_pbb" not in pdf_answer.get_content() and "PBB" not in pdf_answer["Subject"]


def test_twenty_megabyte_attachment(mail: MailStack) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "arsitek@example.id", CITY, "Gambar kerja trotoar"
    message["Message-ID"] = "<big@example.id>"
    message.set_content("trotoar rusak di Jl. Ijen, gambar kerja terlampir")
    message.add_attachment(bytes(range(256)) * (20 * 4096), maintype="application", subtype="zip",
                           filename="gambar_kerja.zip")  # 20 MB
    mail.send(bytes(message))
    mail.work()
    [answer] = mail.relay.mails
    assert "1 lampiran tidak kami simpan" in answer.get_content() and "gambar_kerja" not in answer.get_content()
    with mail.stack.runtime.db.session() as session:
        assert session.scalar(select(Complaint.text)) == "trotoar rusak di Jl. Ijen, gambar kerja terlampir"

    too_big = bytes(message).replace(b"<big@example.id>", b"<bigger@example.id>") + b"x" * (10 * 1024 * 1024)
    with pytest.raises(smtplib.SMTPResponseException) as refused:
        mail.send(too_big)
    assert refused.value.smtp_code == 552


def test_listener_takes_mail_only_for_our_addresses(mail: MailStack) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail.send(compose("a@example.id", "x", "y"), to="someone.else@example.org")


@pytest.mark.parametrize(("label", "refusal", "status"), [
    ("mailbox unknown 550", "550 5.1.1 No such user", "failed"),
    ("greylisted 451", "451 4.7.1 Try again later", "retry"),
])
def test_outbound_smtp_errors(mail: MailStack, label: str, refusal: str, status: str) -> None:
    mail.relay.refuse_rcpt = refusal
    mail.send((DATA / "base64_body.eml").read_bytes())
    mail.work()
    with mail.stack.runtime.db.session() as session:
        row = session.scalar(select(Outbox))
        assert row.status == status and row.error_code == refusal[:3], row.last_error


@pytest.mark.parametrize(("label", "body", "kept"), [
    ("Pesan Asli separator", "Lampu sudah mati lagi malam ini.\n\n-----Pesan Asli-----\nDari: Sambat Kota Malang\n"
     "Dikirim: Senin\nPerihal: Kabar aduan [Tiket 1234 5678]\n\nAduan Anda diterima.",
     "Lampu sudah mati lagi malam ini."),
    ("Original Message separator", "Still broken.\n\n-----Original Message-----\nFrom: Sambat\nSent: Monday\n\nOld.",
     "Still broken."),
    ("Pada ... menulis", "Sudah diperbaiki, terima kasih.\n\nPada Sen, 23 Nov 2026 pukul 09.15 Sambat Kota Malang\n"
     "<sambat@malangkota.go.id> menulis:\n> Aduan Anda diterima.", "Sudah diperbaiki, terima kasih."),
    ("On ... wrote", "Thanks, it is fixed.\n\nOn Mon, 23 Nov 2026 at 09:15, Sambat <sambat@malangkota.go.id> wrote:\n"
     "> Your complaint was received.", "Thanks, it is fixed."),
    ("bare > block", "Masih bocor.\n> Aduan Anda diterima.\n> Tiket 1234 5678", "Masih bocor."),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else "")
def test_quoted_history_is_cut_so_only_the_new_text_is_added(label: str, body: str, kept: str) -> None:
    from channels.email.text import new_text

    assert new_text(body) == kept
