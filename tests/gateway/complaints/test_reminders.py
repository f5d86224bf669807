"""The scheduler's deadline work: one reminder before each deadline to the agency's admins, escalation to the
super-admin when it passes and to viewers after the configured working days, each sent once, even with several
schedulers at once (on PostgreSQL and on SQLite); and `run_forever` does this work."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from gateway.complaints.deadlines import open_assignment
from gateway.complaints.reminders import check_deadlines
from gateway.jobs import build_runtime
from gateway.jobs.scheduler import run_forever
from gateway.settings.deadlines import policy
from models import Assignment, DeadlineAlert, Outbox, StatusEvent, utcnow
from tests.gateway.conftest import DISHUB, SUPER, VIEWER, Admin


def _emails(admin: Admin) -> list[tuple[str, str, str]]:
    with admin.stack.runtime.db.session() as session:
        return [(row.kind, row.recipient, row.subject) for row in session.scalars(
            select(Outbox).where(Outbox.channel == "email").order_by(Outbox.id))]


def _clock(admin: Admin, complaint_id: int) -> Assignment:
    with admin.stack.runtime.db.session() as session:
        return open_assignment(session, complaint_id)


def test_reminder_then_escalation_each_once(admin: Admin) -> None:
    complaint = admin.complaint("lampu pju mati", agency="DISHUB")
    other = admin.complaint("sampah menumpuk", agency="DLH")  # made a moment later: its clock is a moment later
    runtime = admin.stack.runtime
    assert check_deadlines(runtime).clocked == 2  # routed by the worker: the scheduler starts their clocks
    clock = _clock(admin, complaint.id)
    code = f"{complaint.ticket_code[:4]} {complaint.ticket_code[4:]}"

    early = check_deadlines(runtime, now=clock.acknowledge_due - timedelta(hours=5))
    assert (early.reminders, early.overdue) == (0, 0)
    soon = clock.acknowledge_due - timedelta(hours=1)
    assert check_deadlines(runtime, now=soon).reminders == 2  # one per agency's complaint
    assert check_deadlines(runtime, now=soon + timedelta(minutes=30)).reminders == 0  # never twice
    reminders = [email for email in _emails(admin) if email[0] == "deadline_reminder"]
    assert (reminders[0][1], reminders[0][2]) == (
        DISHUB, f"[Sambat] Pengingat: tiket {code} harus diterima sebelum "
                f"{clock.acknowledge_due.astimezone(_wib()).strftime('%d-%m-%Y %H:%M')}")
    assert "dlh@malangkota.go.id" in {email[1] for email in reminders}  # each agency's own admins only

    late = check_deadlines(runtime, now=clock.acknowledge_due + timedelta(minutes=1))
    assert (late.overdue, late.escalated) == (2, 0)
    overdue = [email for email in _emails(admin) if email[0] == "deadline_overdue"]
    assert {email[1] for email in overdue} == {SUPER}
    calendar = policy(runtime.settings).calendar()
    escalate_at = calendar.add_working_days(_clock(admin, other.id).acknowledge_due, 2)
    assert check_deadlines(runtime, now=calendar.add_working_days(clock.acknowledge_due, 2)
                           - timedelta(minutes=1)).escalated == 0
    assert check_deadlines(runtime, now=escalate_at).escalated == 2
    assert check_deadlines(runtime, now=escalate_at + timedelta(hours=1)).escalated == 0
    assert {email[1] for email in _emails(admin) if email[0] == "deadline_escalated"} == {VIEWER}

    # Dashboards show what stands: the super-admin the overdue, the viewer the escalation.
    assert complaint.ticket_code in admin.as_user(SUPER).get("/admin/dashboard").text
    assert "Eskalasi" in admin.as_user(VIEWER).get("/admin/dashboard").text
    # Once acknowledged, the acknowledge alerts no longer stand.
    admin.as_user(DISHUB).post(f"/admin/complaints/{complaint.ticket_code}/status", {"to": "acknowledged"})
    assert complaint.ticket_code not in admin.as_user(VIEWER).get("/admin/dashboard").text
    with runtime.db.session() as session:
        kinds = sorted(session.scalars(select(DeadlineAlert.kind).where(DeadlineAlert.stage == "acknowledge")))
        assert kinds == ["escalated", "escalated", "overdue", "overdue", "reminder", "reminder"]


def _wib():  # noqa: ANN202
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")


def test_several_schedulers_at_once_send_each_reminder_once(admin: Admin) -> None:
    complaints = [admin.complaint(f"lampu pju mati {n}", agency="DISHUB") for n in range(15)]
    runtime = admin.stack.runtime
    check_deadlines(runtime)
    due = _clock(admin, complaints[0].id).acknowledge_due
    others = [build_runtime(runtime.settings, queue=runtime.queue) for _ in range(3)]
    barrier = threading.Barrier(len(others))
    errors: list[BaseException] = []

    def scheduler(other) -> None:  # noqa: ANN001
        try:
            barrier.wait()
            check_deadlines(other, now=due + timedelta(minutes=1))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in others:
        other.db.dispose()
    assert errors == []
    with runtime.db.session() as session:
        alerts = session.scalar(select(func.count()).select_from(DeadlineAlert))
        keys = session.scalar(select(func.count(func.distinct(DeadlineAlert.key))))
    assert alerts == keys == 15  # 15 overdue acknowledgements, one each
    overdue = [email for email in _emails(admin) if email[0] == "deadline_overdue"]
    assert len(overdue) == 15 and {email[1] for email in overdue} == {SUPER}


def test_the_scheduler_loop_runs_the_deadline_work(admin: Admin) -> None:
    complaint = admin.complaint("lampu pju mati", agency="DISHUB")
    with admin.stack.runtime.db.session() as session:
        for event in session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id)):
            event.created_at = utcnow() - timedelta(days=30)  # routed a month ago, never touched
        session.commit()
    stop = threading.Event()
    loop = threading.Thread(target=run_forever, args=(admin.stack.runtime,), kwargs={"interval": 0.05, "stop": stop})
    loop.start()
    try:
        for _ in range(100):
            with admin.stack.runtime.db.session() as session:
                keys = set(session.scalars(select(DeadlineAlert.key)))
            if len(keys) >= 6:  # three overdue alerts and three escalations; they land over several passes
                break
            stop.wait(0.1)
    finally:
        stop.set()
        loop.join(timeout=10)
    clock = _clock(admin, complaint.id)
    assert keys == {f"overdue:{clock.id}:{stage}" for stage in ("acknowledge", "respond", "resolve")} | \
        {f"escalate:{clock.id}:{stage}" for stage in ("acknowledge", "respond", "resolve")}


def test_escalation_to_viewers_waits_the_configured_working_days(admin: Admin) -> None:
    runtime = admin.stack.runtime
    for days in (5, 0):
        runtime.settings = runtime.settings.with_overrides(
            deadlines={**admin.stack.runtime.settings.deadlines, "escalate_to_viewers_after_days": days})
        complaint = admin.complaint(f"lampu pju mati {days}", agency="DISHUB")
        check_deadlines(runtime)
        due = _clock(admin, complaint.id).acknowledge_due
        calendar = policy(runtime.settings).calendar()
        escalate_at = calendar.add_working_days(due, days)
        assert (escalate_at - due).days >= days  # working days: weekends and holidays in between make it longer
        late = check_deadlines(runtime, now=due + timedelta(minutes=1))
        assert late.overdue >= 1 and late.escalated == (1 if days == 0 else 0)
        if days:
            assert check_deadlines(runtime, now=escalate_at - timedelta(minutes=1)).escalated == 0
            assert check_deadlines(runtime, now=escalate_at).escalated >= 1
        with runtime.db.session() as session:
            alert = session.scalar(select(DeadlineAlert).where(DeadlineAlert.complaint_id == complaint.id,
                                                               DeadlineAlert.kind == "escalated",
                                                               DeadlineAlert.stage == "acknowledge"))
            assert alert.audience == "viewer"
        assert complaint.ticket_code in admin.as_user(VIEWER).get("/admin/dashboard").text


def test_several_scheduler_processes_send_each_alert_once(admin: Admin, tmp_path) -> None:  # noqa: ANN001
    """Three real `sambat scheduler` processes on the same database: each clock made once, each alert once."""
    import subprocess
    import time

    from tests.conftest import REDIS_URL
    from tests.support.live import SAMBAT, clean_env

    complaints = [admin.complaint(f"lampu pju mati {n}", agency="DISHUB") for n in range(10)]
    with admin.stack.runtime.db.session() as session:
        for event in session.scalars(select(StatusEvent)):
            event.created_at = utcnow() - timedelta(days=30)  # routed a month ago, never touched
        session.commit()
    env = {"DATABASE_URL": admin.stack.runtime.settings.database_url,
           "SECRET_KEY": "scheduler-test-secret-of-32-characters-or-more",
           "SAMBAT_QUEUE_NAME": f"sambat-schedulers-{tmp_path.name}"}
    if admin.stack.name == "postgres":
        env["REDIS_URL"] = REDIS_URL
    logs = [tmp_path / f"scheduler-{n}.log" for n in range(3)]
    processes = [subprocess.Popen([SAMBAT, "scheduler", "--interval", "0.2"], cwd=tmp_path, env=clean_env(**env),
                                  stdout=log.open("w"), stderr=subprocess.STDOUT) for log in logs]
    expected = len(complaints) * 6  # overdue and escalated, for each of the three stages
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with admin.stack.runtime.db.session() as session:
                if session.scalar(select(func.count()).select_from(DeadlineAlert)) >= expected:
                    break
            time.sleep(0.2)
        time.sleep(1.5)  # let every process finish its pass (and try, and fail, to write them again)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    output = "\n".join(log.read_text() for log in logs)
    assert "Traceback" not in output, output
    with admin.stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Assignment)) == len(complaints)
        keys = list(session.scalars(select(DeadlineAlert.key)))
        emails = list(session.scalars(select(Outbox.dedupe_key).where(Outbox.channel == "email")))
    assert len(keys) == len(set(keys)) == expected
    assert len(emails) == len(set(emails)) == expected  # one super-admin per overdue, one viewer per escalation
