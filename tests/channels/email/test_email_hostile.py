# ruff: noqa: F811 - the mail fixture is imported from test_email
"""Hostile mail (issue 14, findings 3, 4 and the unreadable mail) as tables: the attack is each test's input.

Identity is the envelope sender, checked against the receiving server's Authentication-Results; Reply-To never
decides whose complaint it is nor where the answer goes; answers never echo a subject or a file name; a mail
with an unknown charset or a NUL byte is stored (never 451 forever) and answered like any other.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from channels.email import auth_verdict, parse_mail
from models import Complaint, InboundMessage, Outbox, StatusEvent
from tests.channels.email.test_email import CITY, MailStack, compose, mail, relay  # noqa: F401

VICTIM, ATTACKER = "korban@example.id", "penyerang@evil.example"

VERDICTS = [
    # label, Authentication-Results headers (topmost first), authserv_id, verdict
    ("none recorded", [], "", "none"),
    ("DMARC pass", ["mx.malangkota.go.id; spf=pass smtp.mailfrom=a@x.id; dkim=pass header.i=@x.id; dmarc=pass"],
     "", "pass"),
    ("DMARC fail", ["mx.malangkota.go.id; spf=fail smtp.mailfrom=a@x.id; dmarc=fail (p=reject) header.from=x.id"],
     "", "fail"),
    ("SPF fail, no DKIM", ["mx.malangkota.go.id; spf=fail smtp.mailfrom=korban@example.id"], "", "fail"),
    ("SPF softfail, no DKIM", ["mx.malangkota.go.id; spf=softfail smtp.mailfrom=korban@example.id"], "", "fail"),
    ("SPF fail but DKIM pass (forwarded)", ["mx.malangkota.go.id; spf=fail; dkim=pass header.d=x.id"], "", "pass"),
    ("SPF none", ["mx.malangkota.go.id; spf=none smtp.mailfrom=a@x.id"], "", "none"),
    ("only the topmost counts", ["mx.malangkota.go.id; dmarc=fail", "evil.example; dmarc=pass"], "", "fail"),
    ("the configured server's header counts, a forged one above it does not",
     ["evil.example; dmarc=pass", "mx.malangkota.go.id; dmarc=fail"], "mx.malangkota.go.id", "fail"),
    ("the configured server wrote none", ["evil.example; dmarc=pass"], "mx.malangkota.go.id", "none"),
]


@pytest.mark.parametrize(("label", "headers", "server", "verdict"), VERDICTS, ids=[case[0] for case in VERDICTS])
def test_authentication_results_verdicts(label: str, headers: list[str], server: str, verdict: str) -> None:
    assert auth_verdict(headers, server) == verdict, label


SENDERS = [
    # label, envelope MAIL FROM, extra headers, who the mail is from
    ("envelope sender, not Reply-To", ATTACKER, {"Reply_To": VICTIM}, ATTACKER),
    ("envelope sender, not From", ATTACKER, {}, ATTACKER),
    ("Return-Path from a mailbox, not Reply-To", None, {"Return_Path": f"<{ATTACKER}>", "Reply_To": VICTIM},
     ATTACKER),
    ("From only when nothing else is known", None, {"Reply_To": VICTIM}, "warga@example.id"),
]


@pytest.mark.parametrize(("label", "envelope", "headers", "sender"), SENDERS, ids=[case[0] for case in SENDERS])
def test_who_a_mail_is_from(label: str, envelope: str | None, headers: dict, sender: str) -> None:
    raw = compose("warga@example.id", "Jalan rusak", "jalan rusak", **headers)
    assert parse_mail(raw, envelope).sender == sender, label


def _file_victims_complaint(mail: MailStack) -> tuple[str, EmailMessage]:
    mail.send(compose(VICTIM, "Jalan rusak", "jalan rusak berlubang di Jl. Soekarno Hatta",
                      Message_ID="<victim-1@example.id>"), mail_from=VICTIM)
    mail.work()
    [answer] = mail.relay.mails
    with mail.stack.runtime.db.session() as session:
        return session.scalar(select(Complaint.ticket_code)), answer


ATTACKS = [
    # label, how the attacker's mail is made from the victim's answer: (From header, envelope, headers)
    ("Reply-To victim, [Tiket] subject", lambda answer: (ATTACKER, ATTACKER, {"Reply_To": VICTIM,
                                                                                "Subject": answer["Subject"]})),
    ("Reply-To victim, In-Reply-To our answer", lambda answer: (ATTACKER, ATTACKER, {
        "Reply_To": VICTIM, "In_Reply_To": answer["Message-ID"], "Subject": "Re: x"})),
    ("From victim, envelope attacker", lambda answer: (VICTIM, ATTACKER, {"Subject": answer["Subject"]})),
    ("envelope victim, DMARC fail recorded", lambda answer: (VICTIM, VICTIM, {
        "Subject": answer["Subject"], "In_Reply_To": answer["Message-ID"],
        "Authentication_Results": "mx.malangkota.go.id; spf=fail smtp.mailfrom=korban@example.id; dmarc=fail"})),
]


@pytest.mark.parametrize(("label", "attack"), ATTACKS, ids=[case[0] for case in ATTACKS])
def test_nobody_adds_to_someone_elses_complaint_by_mail(mail: MailStack, label: str, attack) -> None:  # noqa: ANN001
    code, answer = _file_victims_complaint(mail)
    sender, envelope, headers = attack(answer)
    subject = headers.pop("Subject")
    mail.send(compose(sender, subject, "STOP. Abaikan aduan ini, sudah beres.", Message_ID="<attack@evil.example>",
                      **headers), mail_from=envelope)
    mail.work()
    with mail.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(StatusEvent).where(
            StatusEvent.kind == "citizen_info")) == 0, label
        attack_row = session.scalar(select(InboundMessage).where(
            InboundMessage.provider_message_id == "<attack@evil.example>"))
        assert attack_row.complaint_id is not None and session.get(Complaint, attack_row.complaint_id).ticket_code \
            != code, label
    # Nothing was sent to the victim but their own ticket answer.
    assert [m["To"] for m in mail.relay.mails].count(VICTIM) == 1, label


def test_dmarc_fail_is_filed_but_never_answered(mail: MailStack) -> None:
    mail.send(compose(VICTIM, "Jalan rusak", "jalan rusak di Jl. Ijen", Message_ID="<spoof@evil.example>",
                      Authentication_Results="mx.malangkota.go.id; dmarc=fail header.from=example.id"),
              mail_from=VICTIM)
    mail.work()
    assert mail.relay.mails == []
    with mail.stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint is not None and complaint.contact_id is None
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_dmarc_pass_is_answered_to_the_envelope_sender_only(mail: MailStack) -> None:
    mail.send(compose(VICTIM, "Jalan rusak", "jalan rusak di Jl. Ijen", Message_ID="<ok@example.id>",
                      Reply_To=ATTACKER,
                      Authentication_Results="mx.malangkota.go.id; spf=pass; dkim=pass; dmarc=pass"), mail_from=VICTIM)
    mail.work()
    [answer] = mail.relay.mails
    assert answer["To"] == VICTIM and mail.relay.envelopes[0][1] == [VICTIM]


ECHOES = [
    # label, subject, attachment names: none of it may come back in the answer
    ("subject with a phishing link", "Menangkan hadiah di http://evil.example/login sekarang", []),
    ("attachment names with a message", "Jalan rusak",
     ["Transfer ke rekening 123-456 BCA.pdf", "http evil.example login.docx"]),
]


@pytest.mark.parametrize(("label", "subject", "names"), ECHOES, ids=[case[0] for case in ECHOES])
def test_answers_echo_no_subject_and_no_file_name(mail: MailStack, label: str, subject: str,
                                                  names: list[str]) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "warga@example.id", CITY, subject
    message.set_content("jalan rusak berlubang di Jl. Ijen")
    for name in names:
        message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename=name)
    mail.send(bytes(message))
    mail.work()
    [answer] = mail.relay.mails
    text = answer["Subject"] + answer.get_content()
    assert "evil" not in text and "rekening" not in text and "hadiah" not in text, label
    assert answer["Subject"].startswith("Aduan [Tiket "), label
    if names:
        assert f"{len(names)} lampiran tidak kami simpan" in answer.get_content(), label


UNREADABLE = [
    # label, the raw mail's header lines and body
    ("charset x-unknown", b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                          b"Jalan rusak di \xe9\xff sini, mohon diperbaiki\r\n", "unknown charset"),
    ("NUL byte in the body", b"Content-Type: text/plain; charset=utf-8\r\n\r\nJalan rusak\x00 di Jl. Ijen\r\n",
     "NUL"),
    ("NUL byte and x-unknown subject", b"Subject: =?x-unknown?Q?Jalan=00rusak?=\r\n"
                                       b"Content-Type: text/plain; charset=x-unknown\r\n\r\nJalan\x00 rusak \xff\r\n",
     "NUL"),
]


@pytest.mark.parametrize(("label", "tail", "note"), UNREADABLE, ids=[case[0] for case in UNREADABLE])
def test_unreadable_mail_is_stored_with_a_note_and_answered(mail: MailStack, label: str, tail: bytes,
                                                            note: str) -> None:
    raw = (b"From: warga@example.id\r\nTo: " + CITY.encode() + b"\r\nMessage-ID: <unreadable@example.id>\r\n"
           + (b"" if tail.startswith(b"Subject") else b"Subject: Jalan rusak\r\n") + tail)
    response = mail.send(raw)
    assert response == {}, label  # 250: stored, not 451
    mail.work()
    with mail.stack.runtime.db.session() as session:
        message = session.scalar(select(InboundMessage))
        assert note in message.raw["unreadable"] and "\x00" not in message.body, label
        assert message.complaint_id is not None, label
    [answer] = mail.relay.mails
    assert answer.get_content().startswith("Aduan diterima"), label
