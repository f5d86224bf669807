"""Hostile, signed Twilio webhooks: whatever the fields hold, the answer is a 2xx or a 4xx, never a 5xx, and what
was accepted is stored and worked through the pipeline without an error.

A signed request is what an attacker with a leaked token, a misbehaving proxy or Twilio itself on a bad day can
send; the fields are drawn by hypothesis: any Unicode text (controls, NUL, right-to-left marks, emoji, very long),
numbers that are not numbers, coordinates that are not places, ids of every length, extra fields.
"""

from __future__ import annotations

import os
from itertools import count

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gateway.complaints.cleaning import storable
from gateway.jobs.inbound import handle_inbound
from models import InboundMessage
from tests.channels import twilio_payloads as payloads
from tests.channels.test_twilio import SMS_PATH, STATUS_PATH, form
from tests.conftest import Stack, post_twilio

_sids = count(1)
EXAMPLES = int(os.environ.get("SAMBAT_HOSTILE_EXAMPLES", "40"))  # more for a longer hunt
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
LONG_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1500, max_size=5000)
NUMBERISH = st.one_of(ANY_TEXT, st.integers(-10**12, 10**12).map(str), st.floats().map(repr),
                      st.sampled_from(["nan", "-inf", "1e309"]))
PHONES = st.one_of(ANY_TEXT, st.sampled_from(["+6281234567890", "whatsapp:+6281234567890", "+", "", "+0", "08123",
                                              "+62812345678901234567890", "whatsapp:", "+1 (500) 555-0006"]))
HOSTILE = st.fixed_dictionaries({
    "Body": st.one_of(ANY_TEXT, LONG_TEXT, st.sampled_from(["\x00", "CEK \x00 1234 5678", "\u202e" * 50, "STOP",
                                                            "INFO 4821 7730 " + "x" * 900, "1234 5678"])),
    "From": st.one_of(st.just("+6281234567890"), st.just("+6285655512345"), PHONES),  # mostly a citizen
    "NumMedia": NUMBERISH,
    "Latitude": NUMBERISH,
    "Longitude": NUMBERISH,
    "Address": ANY_TEXT,
    "Label": ANY_TEXT,
    "MediaUrl0": st.one_of(ANY_TEXT, st.just("javascript:alert(1)"), st.just("http://169.254.169.254/latest")),
    "MediaContentType0": ANY_TEXT,
}, optional={"ProfileName": ANY_TEXT, "ButtonPayload": ANY_TEXT, "ReferralBody": ANY_TEXT, "extra": ANY_TEXT})


def _accepted(stack: Stack, sid: str) -> InboundMessage | None:
    with stack.runtime.db.session() as session:
        return session.scalar(select(InboundMessage).where(InboundMessage.provider_message_id == storable(sid)))


@pytest.mark.slow
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fields=HOSTILE, sid=st.one_of(st.just(None), ANY_TEXT))
def test_a_signed_hostile_sms_is_answered_without_a_server_error_and_worked_through(stack: Stack, fields: dict,
                                                                                  sid: str | None) -> None:
    sid = sid if sid is not None else f"SM{next(_sids):032x}"
    params = form(payloads.SMS, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, **fields)
    response = post_twilio(stack.client, SMS_PATH, params)
    assert response.status_code < 500, response.text
    event(f"answered {response.status_code}")
    if response.status_code >= 300:
        assert response.status_code in (400, 403, 413, 422), response.status_code
        return
    row = _accepted(stack, sid)
    event("stored" if row is not None else "not stored")
    if row is None:  # a 200 that stores nothing is only for what is not a citizen's message (no sender)
        return
    handle_inbound(stack.runtime, row.id)  # routing, commands and replies on whatever the text is
    assert _accepted(stack, sid).processed_at is not None


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.fixed_dictionaries({
    "MessageSid": st.one_of(ANY_TEXT, st.just("SM" + "0" * 32)), "MessageStatus": ANY_TEXT,
    "ErrorCode": NUMBERISH, "To": PHONES,
}))
def test_a_signed_hostile_status_callback_is_answered_without_a_server_error(stack: Stack, fields: dict) -> None:
    params = form(payloads.status_body("SM" + "1" * 32, "delivered"), **fields)
    response = post_twilio(stack.client, STATUS_PATH + "?outbox=1", params)
    assert response.status_code < 500, response.text

