"""The spine end to end: SMS in through the webhook, worked by the real queue, reply at the Twilio stand-in.

Runs on PostgreSQL with rq on Redis (SimpleWorker, burst) and on SQLite with the embedded queue.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from sqlalchemy import func, select
from stdnum import damm

from gateway.jobs.inbound import handle_inbound
from gateway.jobs.scheduler import sweep_once
from models import Complaint, Contact, InboundMessage, Outbox, StatusEvent
from models.tickets import format_ticket_code
from tests.channels.test_twilio import SMS_PATH, form
from tests.channels.twilio_payloads import SMS
from tests.conftest import Stack, post_twilio
from tests.support.twilio_standin import TwilioStandIn

CITIZEN, NEIGHBOUR = "+6281234567890", "+6285655512345"
_sids = count(1)


def text_in(stack: Stack, body: str, sender: str = CITIZEN) -> None:
    """A citizen texts Sambat: a signed Twilio webhook with a fresh MessageSid."""
    sid = f"SM{next(_sids):032x}"
    response = post_twilio(stack.client, SMS_PATH, form(SMS, Body=body, From=sender, MessageSid=sid,
                                                         SmsMessageSid=sid, SmsSid=sid))
    assert response.status_code == 200, response.text


def converse(stack: Stack, standin: TwilioStandIn, body: str, sender: str = CITIZEN) -> str:
    """Text in, work the queue, return the one reply the stand-in received."""
    before = len(standin.messages_sent())
    text_in(stack, body, sender)
    stack.work()
    sent = standin.messages_sent()
    assert len(sent) == before + 1, f"expected one reply to {body!r}, got {sent[before:]}"
    reply = sent[-1]
    assert reply["to"] == sender
    assert len(reply["body"]) <= 160, reply["body"]
    return reply["body"]


def ticket_from(reply: str) -> str:
    match = re.search(r"Tiket (\d{4} \d{4})", reply)
    assert match, reply
    return match.group(1).replace(" ", "")


def test_complaint_gets_a_ticket_and_an_agency(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    reply = converse(stack, twilio_standin, "jalan rusak berlubang depan SDN 3 Sawojajar")

    code = ticket_from(reply)
    assert reply.startswith("Aduan diterima. Tiket ")
    assert f"CEK {code}" in reply
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert complaint.ticket_code == code
        assert complaint.agency_code == "DPUPRPKP" and complaint.status == "assigned"
        assert complaint.routing["agency"] == "DPUPRPKP" and complaint.routing["matched"]
        assert session.get(Contact, complaint.contact_id).phone == CITIZEN
        [event] = session.scalars(select(StatusEvent)).all()
        assert (event.to_status, event.actor, event.agency_code) == ("assigned", "router", "DPUPRPKP")
        outbox = session.scalar(select(Outbox))
        assert (outbox.kind, outbox.status, outbox.complaint_id) == ("ticket_created", "queued", complaint.id)
        assert outbox.provider_message_id == twilio_standin.messages_sent()[0]["sid"]


def test_unplaceable_complaint_waits_for_review_with_candidates(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    reply = converse(stack, twilio_standin, "terima kasih pak")
    assert "Sedang kami periksa" in reply
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert (complaint.agency_code, complaint.status) == (None, "new")
        assert set(complaint.routing) >= {"agency", "confidence", "matched", "candidates"}


@pytest.mark.parametrize("typed", ["CEK {spaced}", "cek {code}", "STATUS {dashed}", "{code}", "  Cek:{code}. ",
                                   "cek tiket {spaced}"])
def test_status_lookup_in_every_spelling(stack: Stack, twilio_standin: TwilioStandIn, typed: str) -> None:
    code = ticket_from(converse(stack, twilio_standin, "lampu PJU mati di jl. Danau Toba"))
    spaced, dashed = format_ticket_code(code), f"{code[:4]}-{code[4:]}"

    reply = converse(stack, twilio_standin, typed.format(code=code, spaced=spaced, dashed=dashed))

    assert reply.startswith(f"Tiket {spaced}: ")
    assert "Diteruskan ke dinas" in reply and "DISHUB" in reply


def test_mistyped_code_never_finds_another_ticket(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    code = ticket_from(converse(stack, twilio_standin, "sampah numpuk di TPS"))
    wrong_digit = code[:3] + str((int(code[3]) + 1) % 10) + code[4:]
    swapped = code[:2] + code[3] + code[2] + code[4:] if code[2] != code[3] else code[:4] + code[5] + code[4] + code[6:]

    for typed in (wrong_digit, swapped):
        reply = converse(stack, twilio_standin, f"CEK {typed}", sender=NEIGHBOUR)
        assert reply.startswith("Tiket tidak ditemukan, periksa nomornya") and "salah ketik" in reply
        assert code not in reply.replace(" ", "")
    assert converse(stack, twilio_standin, "CEK 12345").startswith("Tiket tidak ditemukan, periksa nomornya")
    unused = "1000000" + damm.calc_check_digit("1000000")  # a valid code nobody holds
    assert converse(stack, twilio_standin, f"CEK {unused}").startswith("Tiket tidak ditemukan, periksa nomornya")


def test_help_stop_start(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    assert "CEK <tiket>" in converse(stack, twilio_standin, "BANTUAN")
    assert "START" in converse(stack, twilio_standin, "help")  # English alias, English reply

    assert "MULAI" in converse(stack, twilio_standin, "berhenti")
    with stack.runtime.db.session() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == CITIZEN))
        assert contact.opted_out and contact.opted_out_at is not None
    converse(stack, twilio_standin, "MULAI")
    with stack.runtime.db.session() as session:
        assert not session.scalar(select(Contact).where(Contact.phone == CITIZEN)).opted_out


def test_info_adds_to_a_complaint_only_from_the_phone_that_filed_it(stack: Stack,
                                                                      twilio_standin: TwilioStandIn) -> None:
    code = ticket_from(converse(stack, twilio_standin, "got mampet, air meluber ke jalan"))

    assert "diterima" in converse(stack, twilio_standin, f"INFO {code} sekarang lubangnya makin besar")
    assert "tidak ditemukan" in converse(stack, twilio_standin, f"INFO {code} bohong itu", sender=NEIGHBOUR)
    assert "Format: INFO" in converse(stack, twilio_standin, f"INFO {code}")

    with stack.runtime.db.session() as session:
        notes = session.scalars(select(StatusEvent.note).where(StatusEvent.kind == "citizen_info")).all()
        assert notes == ["sekarang lubangnya makin besar"]


def test_every_job_is_safe_to_run_twice(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    text_in(stack, "jalan rusak di Jl. Soekarno Hatta")
    with stack.runtime.db.session() as session:
        message_id = session.scalar(select(InboundMessage.id))
    first = handle_inbound(stack.runtime, message_id)
    second = handle_inbound(stack.runtime, message_id)  # a retried or duplicated job
    assert first == second and len(first) == 1
    stack.work()  # the webhook's own job, plus any sends: all of it again
    stack.runtime.queue.enqueue(__import__("gateway.jobs.outbox").jobs.outbox.send_outbound, first[0])
    stack.work()

    assert len(twilio_standin.messages_sent()) == 1
    with stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 1
        assert session.scalar(select(func.count()).select_from(Outbox)) == 1


def test_reply_waits_in_the_outbox_while_twilio_is_down(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    twilio_standin.fail_next(status=503)
    text_in(stack, "lampu merah mati di perempatan Kayutangan")
    stack.work()
    with stack.runtime.db.session() as session:
        row = session.scalar(select(Outbox))
        assert row.status == "retry"
        row.next_attempt_at = row.created_at  # due now
        session.commit()
    assert sweep_once(stack.runtime).outbox == 1
    stack.work()
    assert len(twilio_standin.messages_sent()) == 1
    with stack.runtime.db.session() as session:
        assert session.scalar(select(Outbox.status)) == "queued"


def test_two_workers_on_the_same_message_at_once(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    import threading

    for attempt in range(5):
        text_in(stack, f"sampah numpuk di TPS Jl. Bantaran nomor {attempt}", sender=f"+62812000000{attempt:02d}")
    with stack.runtime.db.session() as session:
        message_ids = session.scalars(select(InboundMessage.id)).all()
    barrier = threading.Barrier(2)
    results: dict[tuple[int, int], list[int]] = {}

    def run(message_id: int, worker: int) -> None:
        barrier.wait()
        results[(message_id, worker)] = handle_inbound(stack.runtime, message_id)

    for message_id in message_ids:
        threads = [threading.Thread(target=run, args=(message_id, n)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results[(message_id, 0)] == results[(message_id, 1)]
    # Filed outside a job, nothing sent them: the sweep's fallback does.
    assert sweep_once(stack.runtime, grace=timedelta(0)).outbox == 5
    stack.work()

    assert len(twilio_standin.messages_sent()) == 5
    with stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 5
        assert session.scalar(select(func.count()).select_from(Outbox)) == 5
        assert session.scalar(select(func.count()).select_from(Contact)) == 5
