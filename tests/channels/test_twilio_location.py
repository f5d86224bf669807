"""WhatsApp location pins: they set where a complaint is, and are never answered "empty message".

A pin (``Latitude``, ``Longitude``, and ``Address`` and ``Label`` when the citizen picked a place; no Body)
belongs to the complaint it came with, or to the same citizen's complaint of the last hour. With none, it is
kept and the citizen is asked for the complaint's text; their next complaint within the hour takes the place.
Run on both stacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Complaint, InboundMessage, StatusEvent, utcnow
from tests.channels import twilio_payloads as payloads
from tests.channels.test_twilio import whatsapp_in
from tests.conftest import Stack
from tests.support.twilio_standin import TwilioStandIn

CITIZEN = "+6281298765432"
PLACE = "Alun-Alun Merdeka Malang, Jl. Merdeka Sel., Kiduldalem, Kec. Klojen, Kota Malang"
WAITING = "Lokasi diterima. Kirim isi aduan Anda dalam 1 jam, lokasi ini kami pakai untuk aduan itu."
EMPTY = "Pesan kosong. Tulis aduan Anda, atau ketik BANTUAN."


@dataclass
class Pin:
    label: str
    payload: str
    complaint_minutes_ago: int | None  # the citizen's complaint before the pin; None: there is none
    added: bool  # the pin set that complaint's place (else it waits for the next complaint)
    where: tuple[float, float] = (-7.9826, 112.6308)
    address: str | None = PLACE


PINS = [
    Pin("a place 10 minutes after the complaint", payloads.WHATSAPP_LOCATION, 10, added=True),
    Pin("current location 59 minutes after", payloads.WHATSAPP_CURRENT_LOCATION, 59, added=True,
        where=(-7.9412345, 112.6154321), address=None),
    Pin("2 hours after the complaint: kept, text asked for", payloads.WHATSAPP_LOCATION, 120, added=False),
    Pin("no complaint at all: kept, text asked for", payloads.WHATSAPP_LOCATION, None, added=False),
]


def complaint_before(stack: Stack, minutes_ago: int) -> Complaint:
    whatsapp_in(stack)
    stack.work()
    with stack.runtime.db.session() as session:
        session.execute(update(Complaint).values(created_at=utcnow() - timedelta(minutes=minutes_ago)))
        session.commit()
        return session.scalar(select(Complaint))


@pytest.mark.parametrize("case", PINS, ids=lambda case: case.label)
def test_location_pin(stack: Stack, twilio_standin: TwilioStandIn, case: Pin) -> None:
    earlier = complaint_before(stack, case.complaint_minutes_ago) if case.complaint_minutes_ago is not None else None

    pin = whatsapp_in(stack, case.payload)
    stack.work()

    reply = twilio_standin.messages_sent()[-1]
    assert reply["to"] == f"whatsapp:{CITIZEN}" and reply["body"] != EMPTY
    with stack.runtime.db.session() as session:
        complaints = session.scalars(select(Complaint)).all()
        assert len(complaints) == (1 if earlier else 0)  # a pin never files a complaint of its own
        message = session.scalar(select(InboundMessage).where(InboundMessage.provider_message_id == pin["MessageSid"]))
        if case.added:
            [complaint] = complaints
            code = complaint.ticket_code
            assert reply["body"] == f"Lokasi untuk tiket {code[:4]} {code[4:]} diterima. Terima kasih."
            assert (complaint.latitude, complaint.longitude, complaint.address) == (*case.where, case.address)
            assert message.complaint_id == complaint.id
            [event] = session.scalars(select(StatusEvent).where(StatusEvent.kind == "citizen_info")).all()
            assert event.note.startswith(f"lokasi {case.where[0]:.6f}, {case.where[1]:.6f}")
        else:
            assert reply["body"] == WAITING
            assert message.complaint_id is None and message.location["latitude"] == case.where[0]
            assert all(complaint.latitude is None for complaint in complaints)


@pytest.mark.parametrize(("minutes_later", "takes_it"), [(15, True), (75, False)],
                         ids=["the text 15 minutes later takes the place", "75 minutes later it does not"])
def test_pin_first_then_the_complaint(stack: Stack, twilio_standin: TwilioStandIn, minutes_later: int,
                                      takes_it: bool) -> None:
    pin = whatsapp_in(stack, payloads.WHATSAPP_LOCATION)
    stack.work()
    with stack.runtime.db.session() as session:
        session.execute(update(InboundMessage).values(received_at=utcnow() - timedelta(minutes=minutes_later)))
        session.commit()

    whatsapp_in(stack)  # "PJU mati di jl. Danau Toba sudah seminggu"
    whatsapp_in(stack)  # a second complaint: the pin went to the first already (or to none)
    stack.work()

    assert twilio_standin.messages_sent()[-1]["body"].startswith("Aduan diterima. Tiket ")
    with stack.runtime.db.session() as session:
        first, second = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        placed = (first.latitude, first.longitude, first.address)
        assert placed == ((-7.9826, 112.6308, PLACE) if takes_it else (None, None, None))
        assert second.latitude is None
        message = session.scalar(select(InboundMessage).where(InboundMessage.provider_message_id == pin["MessageSid"]))
        assert message.complaint_id == (first.id if takes_it else None)


def test_pin_that_came_with_the_complaint(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    """A location message with text files the complaint, placed where the pin is."""
    whatsapp_in(stack, payloads.WHATSAPP_LOCATION, Body="lampu jalan mati di sini sudah tiga malam")
    stack.work()

    assert twilio_standin.messages_sent()[-1]["body"].startswith("Aduan diterima. Tiket ")
    with stack.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        assert (complaint.text, complaint.latitude, complaint.longitude, complaint.address) == (
            "lampu jalan mati di sini sudah tiga malam", -7.9826, 112.6308, PLACE)
        assert complaint.agency_code == "DISHUB"


def test_agency_sees_the_place_on_the_complaint_page(stack: Stack) -> None:
    from tests.gateway.conftest import SUPER, Admin, add_users

    add_users(stack)
    complaint = complaint_before(stack, 5)
    whatsapp_in(stack, payloads.WHATSAPP_LOCATION)
    stack.work()

    page = Admin(stack).as_user(SUPER).get(f"/admin/complaints/{complaint.ticket_code}").text
    assert "<dt>Koordinat</dt><dd>-7.9826, 112.6308</dd>" in page
    assert "Alun-Alun Merdeka Malang" in page
