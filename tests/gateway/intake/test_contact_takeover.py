"""Contact takeover (issue 14, finding 2) as a table: a submission that pairs a victim's phone or e-mail with the
attacker's, then the attacker's INFO, e-mail reply or STOP. None of it reaches the victim's complaint, updates or
opt-in; the victim's own identity still can."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from gateway.complaints.status import change_status
from gateway.jobs.mail import accept_mail
from models import Complaint, Contact, InboundMessage, Outbox, StatusEvent
from models.tickets import format_ticket_code
from tests.conftest import Stack
from tests.gateway.jobs.test_inbound import text_in
from tests.gateway.web.intake_support import new_api_key, web_stack_fixture  # noqa: F401

VICTIM_PHONE, VICTIM_MAIL = "+6281234567890", "korban@example.id"
ATTACKER_PHONE, ATTACKER_MAIL = "+6285655512345", "penyerang@example.net"


def api_file(stack: Stack, key: str, **fields: str) -> str:
    response = stack.client.post("/api/v1/complaints", json={"text": "lampu jalan mati di Jl. Ijen", **fields},
                                 headers={"X-API-Key": key})
    assert response.status_code == 201, response.json
    return response.json["ticket_code"]


def mail_in(stack: Stack, sender: str, subject: str, body: str, message_id: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "sambat@malangkota.go.id", subject
    message["Message-ID"] = message_id
    message.set_content(body)
    accept_mail(stack.runtime, bytes(message), sender)


def victim_files(stack: Stack, key: str, how: str) -> str:
    """The victim's complaint, filed the way ``how`` says; returns its ticket code."""
    if how == "sms":
        text_in(stack, "jalan rusak berlubang depan SDN 3 Sawojajar", VICTIM_PHONE)
        stack.work()
        with stack.runtime.db.session() as session:
            return session.scalar(select(Complaint.ticket_code).order_by(Complaint.id.desc()))
    if how == "mail":
        mail_in(stack, VICTIM_MAIL, "Jalan rusak", "jalan rusak berlubang di Jl. Ijen", "<victim@example.id>")
        stack.work()
        with stack.runtime.db.session() as session:
            return session.scalar(select(Complaint.ticket_code).order_by(Complaint.id.desc()))
    fields = {"web-email": {"email": VICTIM_MAIL}, "web-phone": {"phone": VICTIM_PHONE},
              "web-pair": {"email": VICTIM_MAIL, "phone": VICTIM_PHONE}}[how]
    return api_file(stack, key, **fields)


def attacker_acts(stack: Stack, code: str, action: str) -> None:
    if action == "sms-info":
        text_in(stack, f"INFO {code} sudah beres, tutup saja", ATTACKER_PHONE)
    elif action == "sms-stop":
        text_in(stack, "STOP", ATTACKER_PHONE)
    elif action == "mail-reply":
        mail_in(stack, ATTACKER_MAIL, f"Re: Aduan [Tiket {format_ticket_code(code)}]", "sudah beres, tutup saja",
                "<attack@example.net>")
    elif action == "mail-stop":
        mail_in(stack, ATTACKER_MAIL, "STOP", "STOP", "<attack-stop@example.net>")
    stack.work()


TAKEOVERS = [
    # label, how the victim filed, the attacker's pairing (form/API fields), what the attacker then does
    ("victim's e-mail with attacker's phone, then INFO", "web-email", {"email": VICTIM_MAIL, "phone": ATTACKER_PHONE},
     "sms-info"),
    ("victim's e-mail with attacker's phone, then STOP", "web-email", {"email": VICTIM_MAIL, "phone": ATTACKER_PHONE},
     "sms-stop"),
    ("victim's mail complaint, their address with attacker's phone, INFO", "mail",
     {"email": VICTIM_MAIL, "phone": ATTACKER_PHONE}, "sms-info"),
    ("victim's phone with attacker's e-mail, then an e-mail reply", "sms",
     {"phone": VICTIM_PHONE, "email": ATTACKER_MAIL}, "mail-reply"),
    ("victim's phone with attacker's e-mail, then STOP by e-mail", "sms",
     {"phone": VICTIM_PHONE, "email": ATTACKER_MAIL}, "mail-stop"),
    ("victim's form pair, their e-mail with attacker's phone, INFO", "web-pair",
     {"email": VICTIM_MAIL, "phone": ATTACKER_PHONE}, "sms-info"),
    ("victim's form phone, their phone with attacker's e-mail, e-mail reply", "web-phone",
     {"phone": VICTIM_PHONE, "email": ATTACKER_MAIL}, "mail-reply"),
    ("pairing made before the victim ever wrote, then STOP by e-mail", "sms-later",
     {"phone": VICTIM_PHONE, "email": ATTACKER_MAIL}, "mail-stop"),
]


@pytest.mark.parametrize(("label", "how", "pairing", "action"), TAKEOVERS, ids=[case[0] for case in TAKEOVERS])
def test_an_unproven_pair_takes_over_nothing(web_stack: Stack, label: str, how: str, pairing: dict,
                                             action: str) -> None:
    key = new_api_key(web_stack)
    code = None if how == "sms-later" else victim_files(web_stack, key, how)
    api_file(web_stack, key, **pairing)  # the attacker's pairing, through the app's API
    if code is None:
        code = victim_files(web_stack, key, "sms")
    attacker_acts(web_stack, code, action)
    runtime = web_stack.runtime
    with runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        assert session.scalar(select(func.count()).select_from(StatusEvent).where(
            StatusEvent.complaint_id == complaint.id, StatusEvent.kind == "citizen_info")) == 0, label
        victim = session.get(Contact, complaint.contact_id)
        assert not victim.opted_out, label
        assert ATTACKER_PHONE != victim.phone and ATTACKER_MAIL != victim.email, label
        # The victim's update goes to the victim alone.
        _, row = change_status(session, runtime, complaint, "resolved", actor="admin@dpuprpkp", note="Sudah.")
        session.commit()
        assert row is not None and row.recipient in (VICTIM_PHONE, VICTIM_MAIL), label
        attacker_rows = session.scalar(select(func.count()).select_from(Outbox).where(
            Outbox.complaint_id == complaint.id, Outbox.recipient.in_((ATTACKER_PHONE, ATTACKER_MAIL))))
        assert attacker_rows == 0, label


PROVEN = [
    # label, how the victim filed, the victim's own addition
    ("SMS complaint, INFO from the same phone", "sms", "sms-info"),
    ("form complaint with phone, INFO from that phone", "web-phone", "sms-info"),
    ("form pair, INFO from its phone", "web-pair", "sms-info"),
    ("mail complaint, reply from the same address", "mail", "mail-reply"),
]


@pytest.mark.parametrize(("label", "how", "action"), PROVEN, ids=[case[0] for case in PROVEN])
def test_the_identity_that_filed_still_adds(web_stack: Stack, label: str, how: str, action: str) -> None:
    key = new_api_key(web_stack)
    code = victim_files(web_stack, key, how)
    if action == "sms-info":
        text_in(web_stack, f"INFO {code} lubangnya makin besar", VICTIM_PHONE)
    else:
        mail_in(web_stack, VICTIM_MAIL, f"Re: Aduan [Tiket {format_ticket_code(code)}]", "lubangnya makin besar",
                "<victim-2@example.id>")
    web_stack.work()
    with web_stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        notes = session.scalars(select(StatusEvent.note).where(StatusEvent.complaint_id == complaint.id,
                                                               StatusEvent.kind == "citizen_info")).all()
        assert notes == ["lubangnya makin besar"], label
        assert session.scalar(select(func.count()).select_from(InboundMessage)) >= 2


def test_stop_from_a_phone_reaches_the_pairs_it_was_given_in(web_stack: Stack) -> None:
    key = new_api_key(web_stack)
    api_file(web_stack, key, phone=VICTIM_PHONE, email=VICTIM_MAIL)
    text_in(web_stack, "STOP", VICTIM_PHONE)
    web_stack.work()
    with web_stack.runtime.db.session() as session:
        contacts = session.scalars(select(Contact).where(Contact.phone == VICTIM_PHONE)).all()
        assert len(contacts) == 2 and all(contact.opted_out for contact in contacts)
