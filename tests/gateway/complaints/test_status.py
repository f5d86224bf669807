"""Status changes reach the citizen on the channel they used, once, and never after STOP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.complaints.status import change_status, enqueue_sends
from models import Complaint, Contact, StatusEvent
from tests.conftest import Stack
from tests.gateway.jobs.test_inbound import CITIZEN, converse, ticket_from
from tests.support.twilio_standin import TwilioStandIn


def resolve(stack: Stack, code: str, note: str) -> None:
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == code))
        _, row = change_status(session, stack.runtime, complaint, "resolved", actor="admin@dpuprpkp.example",
                               note=note)
        session.commit()
        enqueue_sends(stack.runtime, [row])
    stack.work()


def test_citizen_hears_of_a_status_change(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    code = ticket_from(converse(stack, twilio_standin, "lampu PJU mati di jl. Danau Toba"))
    resolve(stack, code, "Lampu sudah diganti tgl 22/11.")

    update = twilio_standin.messages_sent()[-1]
    assert update["to"] == CITIZEN
    assert update["body"] == f"Tiket {code[:4]} {code[4:]}: Selesai. Lampu sudah diganti tgl 22/11."
    with stack.runtime.db.session() as session:
        events = session.scalars(select(StatusEvent).order_by(StatusEvent.id)).all()
        assert [(e.from_status, e.to_status, e.actor) for e in events] == [
            (None, "assigned", "router"), ("assigned", "resolved", "admin@dpuprpkp.example")]
    # And CEK now says so.
    assert "Selesai" in converse(stack, twilio_standin, f"CEK {code}")


def test_stopped_contact_gets_no_update(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    code = ticket_from(converse(stack, twilio_standin, "sampah numpuk di TPS"))
    converse(stack, twilio_standin, "STOP")
    sent_before = len(twilio_standin.messages_sent())
    resolve(stack, code, "Sudah diangkut.")
    assert len(twilio_standin.messages_sent()) == sent_before
    with stack.runtime.db.session() as session:
        assert session.scalar(select(Contact.opted_out).where(Contact.phone == CITIZEN))
        assert session.scalar(select(Complaint.status)) == "resolved"  # the change itself still happens


def test_unknown_status_is_refused(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    converse(stack, twilio_standin, "sampah numpuk di TPS")
    with stack.runtime.db.session() as session, pytest.raises(ValueError, match="unknown status 'done'"):
        change_status(session, stack.runtime, session.scalar(select(Complaint)), "done", actor="x")
