"""Hostile, signed events from the Android SMS gateway: whatever the JSON holds (wrong types, NUL, huge numbers,
dates that are not dates, nested junk), the answer is a 2xx or a 4xx, never a 5xx, and what was accepted is worked
through the pipeline without an error. The signature is right: a leaked signing key, or an app version that sends
something new."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.channels import android_payloads as payloads
from tests.channels.test_android_sms import android, post_event  # noqa: F401 - the fixture
from tests.conftest import Stack

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), TEXT),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
                    max_leaves=8)
FIELD = st.one_of(TEXT, JUNK)
EVENTS = st.sampled_from(["sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed",
                          "system:ping", "mms:received", "mms:downloaded", "no:such-event"])


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("SAMBAT_HOSTILE_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=EVENTS, changes=st.dictionaries(
    st.sampled_from(["messageId", "message", "sender", "recipient", "simNumber", "receivedAt", "phoneNumber", "data",
                     "attachments", "reason", "deliveredAt", "extra"]), FIELD, max_size=5))
@example(name="sms:received", changes={"messageId": float("inf"), "extra": [float("nan"), {"x": -float("inf")}]})
def test_a_signed_hostile_event_is_answered_without_a_server_error_and_worked_through(
        android: Stack, name: str, changes: dict) -> None:  # noqa: F811
    payload = {**payloads.sms_received(), **changes}
    response = post_event(android, name, payload)
    assert response.status_code < 500, response.text
    event(f"{name} answered {response.status_code}")
    if response.status_code >= 300:
        assert response.status_code in (400, 403, 413, 422), response.status_code
        return
    android.work()  # routing, commands and replies on whatever arrived, as a worker would
