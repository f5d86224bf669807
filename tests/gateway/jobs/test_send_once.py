"""At most one send per reply (issue 13, point 2): a send whose outcome is unknown is looked up at the provider
before it is sent again, and messages that stay non-final have their state fetched.

Every test runs the real pipeline (PostgreSQL + rq on Redis, SQLite + the embedded queue) against the provider
stand-ins, which check each request (List Messages, Fetch Message, ``GET /messages/{id}``) against the provider's
own API description.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from channels.android_sms.sender import AndroidSmsSender
from channels.base import OutboundMessage
from channels.twilio import TwilioSender
from gateway.complaints.outbox import add_message
from gateway.jobs import outbox as outbox_jobs
from gateway.jobs.outbox import check, deliver
from gateway.jobs.scheduler import claim_timeout, sweep_once
from models import Contact, InboundMessage, Outbox, utcnow
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, Stack
from tests.support.android_sms_standin import PASSWORD, USERNAME, AndroidSmsStandIn

CITIZEN = "+6281234567890"
REPLY = "Aduan diterima. Tiket 1234 5678. Diteruskan ke DPUPRPKP. Cek status: ketik CEK 12345678"


def reply_row(stack: Stack, body: str = REPLY, channel: str = "twilio", key: str = "reply:1",
              sender: str | None = None) -> int:
    """A ticket reply's outbox row, answering a stored SMS, pending."""
    with stack.runtime.db.session() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == CITIZEN)) or Contact(phone=CITIZEN)
        session.add(contact)
        session.flush()
        message = InboundMessage(channel=channel, medium="sms", provider_message_id=f"in-{key}", sender=CITIZEN,
                                 body="jalan rusak", raw={}, processed_at=utcnow(), contact_id=contact.id)
        session.add(message)
        session.flush()
        row = add_message(session, dedupe_key=key, kind="ticket_created", channel=channel, medium="sms",
                          recipient=CITIZEN, body=body, contact_id=contact.id, inbound_message_id=message.id,
                          sender=sender)
        session.commit()
        return row.id


def row_of(stack: Stack, outbox_id: int) -> Outbox:
    with stack.runtime.db.session() as session:
        return session.get(Outbox, outbox_id)


def lose_the_record(stack: Stack, outbox_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the row, but fail to record the provider's id (PostgreSQL stopped): the row stays claimed, and the
    claim is then older than the claim timeout, as the scheduler finds it."""
    def database_gone(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("UPDATE outbox", {}, Exception("server closed the connection unexpectedly"))

    hand_back = outbox_jobs.hand_back
    with monkeypatch.context() as patched:
        patched.setattr(outbox_jobs, "_record_sent", database_gone)
        # Still down as the worker puts the claim back, and longer than it tries: that fails too (logged), and
        # the claim stays.
        patched.setattr(outbox_jobs, "HAND_BACK_DELAYS", (0.0,))
        patched.setattr(outbox_jobs, "hand_back", lambda runtime, *args: hand_back(
            SimpleNamespace(db=SimpleNamespace(session=database_gone)), *args))
        with pytest.raises(OperationalError):
            deliver(stack.runtime, outbox_id)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert (row.status, row.provider_message_id) == ("claimed", None)
        row.status_updated_at = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.commit()


def creates(standin: Any) -> int:
    return sum(1 for r in standin.requests if r.method == "POST")


# --- Twilio: List Messages to that number since the claim, matching the body -----------------------------------


def test_a_send_twilio_took_is_recorded_not_sent_again(stack: Stack, twilio_standin, monkeypatch) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack)
    lose_the_record(stack, outbox_id, monkeypatch)
    [taken] = twilio_standin.messages_sent()

    result = sweep_once(stack.runtime)
    assert (result.reclaimed, result.outbox) == (1, 1)
    assert row_of(stack, outbox_id).unsure_since is not None
    stack.work()

    row = row_of(stack, outbox_id)
    assert (row.status, row.provider_message_id, row.unsure_since) == ("queued", taken["sid"], None)
    assert creates(twilio_standin) == 1  # no second SMS
    [listing] = [r for r in twilio_standin.requests if r.method == "GET"]
    assert listing.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert "To=%2B6281234567890" in listing.query


def test_a_send_stopped_by_redis_going_away_is_put_back_at_once(stack: Stack, twilio_standin,  # noqa: ANN001
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis restarting while the send waits for its pacing slot (the fault-injection run): the claimed row is put
    back due at once, unsure (the provider is asked first), not left claimed for the sweep's claim timeout."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    def redis_gone(*args: Any, **kwargs: Any) -> float:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    outbox_id = reply_row(stack)
    with monkeypatch.context() as patched:
        patched.setattr(outbox_jobs, "pace", redis_gone)
        with pytest.raises(RedisConnectionError):
            deliver(stack.runtime, outbox_id)
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts, row.provider_message_id) == ("retry", 1, None)
    assert row.unsure_since is not None and row.next_attempt_at <= utcnow()
    assert row.last_error.startswith("send stopped: ConnectionError")
    assert creates(twilio_standin) == 0

    assert sweep_once(stack.runtime).outbox == 1  # due now: no claim timeout to wait out
    stack.work()
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts, row.unsure_since) == ("queued", 2, None)
    assert creates(twilio_standin) == 1  # asked first: no record, so sent, once


def test_a_claim_is_put_back_once_the_database_is_back(stack: Stack, twilio_standin,  # noqa: ANN001
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL restarting as a refused send is recorded (the fault-injection run): the worker tries again to put
    its claim back while the database returns, instead of leaving the row to the sweep's claim timeout."""
    def database_gone(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("UPDATE outbox", {}, Exception("terminating connection due to administrator command"))

    session, tries = stack.runtime.db.session, []

    def restarting() -> Any:
        tries.append(1)
        if 2 <= len(tries) <= 3:  # the claim's session works; the next two find the database away
            database_gone()
        return session()

    outbox_id = reply_row(stack)
    monkeypatch.setattr(outbox_jobs, "HAND_BACK_DELAYS", (0.0, 0.0, 0.0))
    with monkeypatch.context() as patched:
        patched.setattr(outbox_jobs, "_record_failure", database_gone)
        patched.setattr(stack.runtime.db, "session", restarting)
        twilio_standin.fail_next(status=429)
        with pytest.raises(OperationalError):
            deliver(stack.runtime, outbox_id)
    assert len(tries) == 4
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts) == ("retry", 1) and row.unsure_since is not None


def test_only_its_own_claim_is_put_back(stack: Stack) -> None:
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:  # claimed again since, by another worker
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts = "claimed", 2
        session.commit()
    outbox_jobs.hand_back(stack.runtime, outbox_id, 1, RuntimeError("stopped"))
    assert (row_of(stack, outbox_id).status, row_of(stack, outbox_id).attempts) == ("claimed", 2)


def test_a_send_twilio_never_got_is_sent(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:  # claimed by a worker that stopped before it reached Twilio
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts = "claimed", 1
        row.status_updated_at = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.commit()

    assert sweep_once(stack.runtime).reclaimed == 1
    stack.work()

    row = row_of(stack, outbox_id)
    assert row.status == "queued" and row.provider_message_id == twilio_standin.messages_sent()[0]["sid"]
    assert (creates(twilio_standin), row.attempts) == (1, 2)


@pytest.mark.parametrize(("label", "earlier_body", "earlier_known", "sent_again"), [
    ("the same text, ours", REPLY, False, False),
    ("another text to the same number", "Tiket 9999 0000: Selesai.", False, True),
    ("the same text, recorded for another row", REPLY, True, True),
])
def test_only_a_matching_message_counts_as_taken(stack: Stack, twilio_standin, label: str, earlier_body: str,  # noqa: ANN001
                                                 earlier_known: bool, sent_again: bool) -> None:
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    earlier = client.messages.create(to=CITIZEN, from_=CITY_NUMBER, body=earlier_body)
    if earlier_known:
        other = reply_row(stack, key="reply:other")
        with stack.runtime.db.session() as session:
            session.get(Outbox, other).provider_message_id, session.get(Outbox, other).status = earlier.sid, "sent"
            session.commit()
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts, row.unsure_since = "retry", 1, utcnow() - timedelta(minutes=6)
        session.commit()

    deliver(stack.runtime, outbox_id)

    row = row_of(stack, outbox_id)
    assert (creates(twilio_standin) == 2) == sent_again, label
    assert (row.provider_message_id != earlier.sid) == sent_again, label


def test_an_answer_that_timed_out_is_looked_up_before_the_retry(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    """Twilio took the message but answered after the client's timeout (2 s in tests): not sent twice."""
    outbox_id = reply_row(stack)
    twilio_standin.delay_next(3)
    assert deliver(stack.runtime, outbox_id) == "retry"
    row = row_of(stack, outbox_id)
    assert row.unsure_since is not None and "Twilio unreachable" in row.last_error
    [taken] = twilio_standin.messages_sent()

    with stack.runtime.db.session() as session:
        session.get(Outbox, outbox_id).next_attempt_at = utcnow()
        session.commit()
    assert deliver(stack.runtime, outbox_id) == "queued"
    assert row_of(stack, outbox_id).provider_message_id == taken["sid"]
    assert creates(twilio_standin) == 1


def test_when_twilio_cannot_be_asked_nothing_is_sent(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts, row.unsure_since = "retry", 1, utcnow() - timedelta(minutes=6)
        session.commit()
    stack.runtime.senders["twilio"] = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=CITY_NUMBER,
                                                   api_base_url="http://127.0.0.1:9", timeout=1)

    assert deliver(stack.runtime, outbox_id) == "retry"

    row = row_of(stack, outbox_id)
    assert row.unsure_since is not None and "not sent again until the provider can say" in row.last_error
    assert twilio_standin.requests == []


# --- the Android gateway: Sambat's own id, GET /messages/{id} -------------------------------------------------


@pytest.fixture
def android_sender(stack: Stack, android_standin: AndroidSmsStandIn) -> AndroidSmsSender:
    sender = AndroidSmsSender(android_standin.base_url, USERNAME, PASSWORD, timeout=2)
    stack.runtime.senders["android-sms"] = sender
    return sender


def test_the_app_keeps_our_id(stack: Stack, android_standin: AndroidSmsStandIn,
                              android_sender: AndroidSmsSender) -> None:
    outbox_id = reply_row(stack, channel="android-sms")
    deliver(stack.runtime, outbox_id)
    row = row_of(stack, outbox_id)
    [sent] = android_standin.messages_sent()
    assert sent["id"] == row.provider_message_id and row.provider_message_id.startswith(f"sambat-{outbox_id}-")


def test_a_send_the_app_took_is_recorded_not_sent_again(stack: Stack, android_standin: AndroidSmsStandIn,
                                                        android_sender: AndroidSmsSender, monkeypatch) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack, channel="android-sms")
    lose_the_record(stack, outbox_id, monkeypatch)
    android_standin.set_state(android_standin.messages_sent()[0]["id"], "Sent")

    assert sweep_once(stack.runtime).reclaimed == 1
    stack.work()

    row = row_of(stack, outbox_id)
    assert (row.status, row.provider_message_id) == ("sent", android_standin.messages_sent()[0]["id"])
    assert [(r.method, r.answered) for r in android_standin.requests] == [("POST", 202), ("GET", 200)]
    assert android_standin.requests[1].path == f"/messages/{row.provider_message_id}"


def test_a_send_the_app_never_got_is_sent(stack: Stack, android_standin: AndroidSmsStandIn,
                                          android_sender: AndroidSmsSender) -> None:
    outbox_id = reply_row(stack, channel="android-sms")
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts, row.unsure_since = "retry", 1, utcnow() - timedelta(minutes=6)
        session.commit()

    assert deliver(stack.runtime, outbox_id) == "queued"
    assert [(r.method, r.answered) for r in android_standin.requests] == [("GET", 404), ("POST", 202)]


def test_when_the_app_cannot_be_asked_nothing_is_sent(stack: Stack, android_standin: AndroidSmsStandIn,
                                                      android_sender: AndroidSmsSender) -> None:
    outbox_id = reply_row(stack, channel="android-sms")
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts, row.unsure_since = "retry", 1, utcnow() - timedelta(minutes=6)
        session.commit()
    android_standin.fail_next(503)

    assert deliver(stack.runtime, outbox_id) == "retry"
    assert [(r.method, r.answered) for r in android_standin.requests] == [("GET", 503)]


# --- delivery states that stay non-final are fetched -----------------------------------------------------------


def test_a_state_that_stays_queued_is_fetched_from_twilio(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack)
    deliver(stack.runtime, outbox_id)
    row = row_of(stack, outbox_id)
    reconcile_after = timedelta(seconds=stack.runtime.settings.outbox.reconcile_after)
    assert row.next_attempt_at == row.sent_at + reconcile_after
    assert sweep_once(stack.runtime).checks == 0  # not yet

    twilio_standin.set_status(row.provider_message_id, "delivered")
    with stack.runtime.db.session() as session:  # ten minutes later, no callback came
        stale = session.get(Outbox, outbox_id)
        stale.sent_at, stale.next_attempt_at = utcnow() - reconcile_after, utcnow()
        session.commit()
    assert sweep_once(stack.runtime).checks == 1
    stack.work()

    assert row_of(stack, outbox_id).status == "delivered"
    fetches = [r for r in twilio_standin.requests if r.method == "GET"]
    assert [r.path.rsplit("/", 1)[1] for r in fetches] == [f"{row.provider_message_id}.json"]
    assert sweep_once(stack.runtime).checks == 0  # final: never asked again


def test_checks_back_off_and_stop_after_a_day(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = reply_row(stack)
    deliver(stack.runtime, outbox_id)
    for sent_ago, next_in in ((timedelta(minutes=10), timedelta(minutes=10)), (timedelta(hours=2), timedelta(hours=2)),
                              (timedelta(hours=13), None)):
        with stack.runtime.db.session() as session:
            row = session.get(Outbox, outbox_id)
            row.sent_at, row.next_attempt_at = utcnow() - sent_ago, utcnow()
            session.commit()
        assert "older" in check(stack.runtime, outbox_id)  # Twilio still says queued: nothing changes
        row = row_of(stack, outbox_id)
        if next_in is None:
            assert row.next_attempt_at is None
        else:
            assert abs((row.next_attempt_at - utcnow()) - next_in) < timedelta(seconds=30)


def test_a_state_that_stays_pending_is_fetched_from_the_app(stack: Stack, android_standin: AndroidSmsStandIn,
                                                            android_sender: AndroidSmsSender) -> None:
    outbox_id = reply_row(stack, channel="android-sms")
    deliver(stack.runtime, outbox_id)
    our_id = row_of(stack, outbox_id).provider_message_id
    android_standin.set_state(our_id, "Delivered")
    with stack.runtime.db.session() as session:
        session.get(Outbox, outbox_id).next_attempt_at = utcnow()
        session.commit()

    assert check(stack.runtime, outbox_id) == "updated"
    assert row_of(stack, outbox_id).status == "delivered"


def test_find_is_part_of_both_senders() -> None:
    message = OutboundMessage(outbox_id=1, medium="sms", recipient=CITIZEN, body=REPLY)
    assert AndroidSmsSender.message_id(message) == AndroidSmsSender.message_id(message)  # one id per row and text
    for sender in (TwilioSender, AndroidSmsSender):
        assert callable(sender.find) and callable(sender.fetch_status)
