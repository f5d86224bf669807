"""The scheduler's sweep: whatever the database says is owed goes back to the queue."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gateway.complaints.outbox import add_message
from gateway.jobs import scheduler
from gateway.jobs.claimant import GONE_FOR, ORPHAN_AGE, Orphans, claimant, gone, machine
from gateway.jobs.scheduler import claim_timeout, sweep_once
from models import Contact, InboundMessage, Outbox, utcnow
from tests.channels.test_twilio import SMS_PATH, _outbox_row, form
from tests.channels.twilio_payloads import SMS
from tests.conftest import Stack, post_twilio


class BrokenQueue:
    """A queue whose enqueue fails, as when Redis restarts mid-request."""

    def enqueue(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("Redis went away")

    def ping(self) -> bool:
        return False


def test_a_message_whose_job_was_lost_is_processed_after_all(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    real_queue = stack.runtime.queue
    stack.runtime.queue = BrokenQueue()
    response = post_twilio(stack.client, SMS_PATH, form(SMS))
    assert response.status_code == 200  # committed, so acknowledged, even though the enqueue failed
    stack.runtime.queue = real_queue

    assert sweep_once(stack.runtime).inbound == 0  # too fresh: its own job may still be coming
    assert sweep_once(stack.runtime, grace=timedelta(0)).inbound == 1
    stack.work()
    assert len(twilio_standin.messages_sent()) == 1
    with stack.runtime.db.session() as session:
        assert session.scalar(select(InboundMessage.processed_at)) is not None


def test_a_send_whose_worker_died_is_retried(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = _outbox_row(stack, sid=None, status="claimed")
    with stack.runtime.db.session() as session:
        stale = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.get(Outbox, outbox_id).status_updated_at = stale
        session.commit()

    result = sweep_once(stack.runtime)
    assert (result.reclaimed, result.outbox) == (1, 1)
    stack.work()
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert row.status == "queued" and row.attempts == 1
    assert len(twilio_standin.messages_sent()) == 1


def test_a_recent_claim_is_left_alone(stack: Stack) -> None:
    _outbox_row(stack, sid=None, status="claimed")
    with stack.runtime.db.session() as session:
        session.scalar(select(Outbox)).status_updated_at = utcnow()
        session.commit()
    assert sweep_once(stack.runtime).reclaimed == 0


def _claimed_by(stack: Stack, claimant: str | None, age: timedelta) -> int:
    """A ticket reply claimed ``age`` ago by ``claimant``, with no provider id (its outcome unknown)."""
    with stack.runtime.db.session() as session:
        contact = session.scalar(select(Contact).where(Contact.phone == "+6281234567890"))
        if contact is None:
            contact = Contact(phone="+6281234567890")
            session.add(contact)
            session.flush()
        count = session.scalar(select(func.count()).select_from(Outbox))
        row = add_message(session, dedupe_key=f"test:claim:{count}", kind="test", channel="twilio", medium="sms",
                          recipient="+6281234567890", body=f"Tes {count}", contact_id=contact.id)
        row.status, row.status_updated_at, row.claimed_by, row.attempts = "claimed", utcnow() - age, claimant, 1
        session.commit()
        return row.id


def _exited_process() -> str:
    """The claimant of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    holder = claimant(child.pid)
    child.kill()
    child.wait()
    assert holder is not None
    return holder


@pytest.fixture(autouse=True)
def _fresh_orphans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "ORPHANS", Orphans())


def _later(by: timedelta) -> None:
    """This scheduler's memory of gone claimants, as if its first sighting were ``by`` earlier."""
    scheduler.ORPHANS.first_seen = {key: since - by for key, since in scheduler.ORPHANS.first_seen.items()}


def test_a_claim_whose_process_is_gone_is_taken_back_without_the_timeout(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    """The worker was SIGKILLed mid-send: once the claim is ORPHAN_AGE old and the sweeps have seen its process gone
    for GONE_FOR, not after the 90 s timeout, the row is unsure and due; the provider is asked (nothing there) and
    it is sent once."""
    outbox_id = _claimed_by(stack, _exited_process(), ORPHAN_AGE + timedelta(seconds=1))
    assert ORPHAN_AGE + GONE_FOR < claim_timeout(stack.runtime)
    assert sweep_once(stack.runtime).reclaimed == 0  # first seen gone: the provider may still be at its request
    _later(GONE_FOR - timedelta(seconds=1))
    assert sweep_once(stack.runtime).reclaimed == 0
    _later(timedelta(seconds=1))
    result = sweep_once(stack.runtime)
    assert (result.reclaimed, result.outbox) == (1, 1)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert row.unsure_since is not None and "worker stopped mid-send" in row.last_error
    stack.work()
    assert len(twilio_standin.messages_sent()) == 1
    lookups = [r for r in twilio_standin.requests if r.method == "GET" and r.path.endswith("/Messages.json")]
    assert len(lookups) >= 1  # List Messages to that number: asked before sending again


def test_claims_that_cannot_be_judged_gone_wait_for_the_timeout(stack: Stack) -> None:
    """A claim younger than ORPHAN_AGE (the provider may still be at it), a live claimant (this process), one of
    another machine or container, an old claim with no claimant, and one whose claimant is this very PID but
    started at another time (a reused PID: gone): only the last is taken back."""
    young = _claimed_by(stack, _exited_process(), ORPHAN_AGE - timedelta(seconds=5))
    alive = _claimed_by(stack, claimant(), ORPHAN_AGE + timedelta(seconds=5))
    elsewhere = _claimed_by(stack, "another-boot/pid:[1]/4242/99", ORPHAN_AGE + timedelta(seconds=5))
    unnamed = _claimed_by(stack, None, ORPHAN_AGE + timedelta(seconds=5))
    where, pid, started = claimant().rsplit("/", 2)
    reused = _claimed_by(stack, f"{where}/{pid}/{int(started) - 1}", ORPHAN_AGE + timedelta(seconds=5))
    assert sweep_once(stack.runtime).reclaimed == 0
    _later(GONE_FOR)
    assert sweep_once(stack.runtime).reclaimed == 1
    with stack.runtime.db.session() as session:
        status = dict(session.execute(select(Outbox.id, Outbox.status)).all())
    assert [status[i] for i in (young, alive, elsewhere, unnamed)] == ["claimed"] * 4
    assert status[reused] == "retry"


def test_a_claim_names_its_process(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    post_twilio(stack.client, SMS_PATH, form(SMS))
    stack.work()
    with stack.runtime.db.session() as session:
        assert session.scalar(select(Outbox.claimed_by)) == claimant()


def test_a_claimant_seen_alive_again_starts_over() -> None:
    """Orphans remembers a gone claimant only while every sweep sees it gone."""
    orphans, now, key = Orphans(), utcnow(), (1, "holder")
    assert orphans.settled([key], now) == []
    assert orphans.settled([], now + GONE_FOR / 2) == []  # not seen gone this time (recorded, taken back ...)
    assert orphans.settled([key], now + GONE_FOR) == []  # seen again: counted from now
    assert orphans.settled([key], now + 2 * GONE_FOR) == [key]


def test_claimant_and_gone_on_this_machine() -> None:
    me = claimant()
    assert me is not None and me.startswith(machine() + f"/{os.getpid()}/")
    assert gone(me) is False
    assert gone(_exited_process()) is True
    assert gone(None) is False and gone("") is False and gone(machine() + "/x/y") is False
    assert claimant(pid=2 ** 22 + 12345) is None  # no such process: nothing to name


def test_a_claim_taken_again_meanwhile_is_not_taken_back(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another scheduler took the dead claim back and a live worker claimed the row again between this sweep's
    look and its UPDATE: the row and the claimant it saw no longer go together, so the live claim stays."""
    outbox_id = _claimed_by(stack, claimant(), ORPHAN_AGE + timedelta(seconds=5))  # held now by this live process
    monkeypatch.setattr(scheduler, "orphaned_claims", lambda session, now: [(outbox_id, _exited_process())])
    assert sweep_once(stack.runtime).reclaimed == 0
    with stack.runtime.db.session() as session:
        assert session.get(Outbox, outbox_id).status == "claimed"
