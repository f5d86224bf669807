"""Dashboard figures with fixed timestamps: open, overdue, resolved, bounced, medians to acknowledge and resolve,
share within deadline, for 7, 30 and 90 days; and the public transparency page shows them with no personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.complaints.figures import agency_figures, duration_text, share_text, totals
from models import Assignment, StatusEvent
from tests.gateway.conftest import SUPER, VIEWER, Admin

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def _clock(admin: Admin, agency: str, assigned: datetime, ack: timedelta | None = None,
           resolved: timedelta | None = None, due: timedelta = 9 * DAY, outcome: str | None = None,
           ended: datetime | None = None) -> None:
    complaint = admin.complaint("uji angka", agency=agency)
    with admin.stack.runtime.db.session() as session:
        event = session.scalar(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id))
        session.add(Assignment(
            complaint_id=complaint.id, event_id=event.id, agency_code=agency, assigned_at=assigned,
            acknowledge_due=assigned + DAY, respond_due=assigned + 3 * DAY, resolve_due=assigned + due,
            acknowledged_at=assigned + ack if ack else None, responded_at=assigned + resolved if resolved else None,
            resolved_at=assigned + resolved if resolved else None,
            ended_at=(assigned + resolved) if resolved else ended, outcome="resolved" if resolved else outcome,
        ))
        session.commit()


@pytest.fixture
def clocks(admin: Admin) -> Admin:
    _clock(admin, "DISHUB", NOW - 10 * DAY, ack=2 * HOUR, resolved=48 * HOUR)  # on time, 8 days ago
    _clock(admin, "DISHUB", NOW - 20 * DAY, ack=30 * HOUR, resolved=12 * DAY)  # late, 8 days ago
    _clock(admin, "DISHUB", NOW - 3 * DAY, ack=1 * HOUR, resolved=24 * HOUR)  # on time, 2 days ago
    _clock(admin, "DISHUB", NOW - 15 * DAY)  # open, never acknowledged: overdue, resolve deadline 6 days ago
    _clock(admin, "DISHUB", NOW - 1 * HOUR)  # open, in time
    _clock(admin, "DISHUB", NOW - 5 * DAY, outcome="bounced", ended=NOW - 4 * DAY)  # "bukan wewenang"
    _clock(admin, "DISHUB", NOW - 60 * DAY, ack=4 * HOUR, resolved=72 * HOUR)  # on time, 57 days ago
    _clock(admin, "DLH", NOW - 2 * DAY, ack=3 * HOUR, resolved=10 * HOUR)  # on time, 2 days ago
    return admin


# days -> DISHUB's (open, overdue, resolved, bounced, median ack h, median resolve h, share, decided)
EXPECTED = {
    7: (2, 1, 1, 1, 1.0, 24.0, 0.5, 2),
    30: (2, 1, 3, 1, 2.0, 48.0, 0.5, 4),
    90: (2, 1, 4, 1, 3.0, 60.0, 0.6, 5),
}


@pytest.mark.parametrize("days", [7, 30, 90])
def test_agency_figures_for_each_window(clocks: Admin, days: int) -> None:
    with clocks.stack.runtime.db.session() as session:
        figures = {f.agency_code: f for f in agency_figures(session, days, now=NOW)}
    dishub = figures["DISHUB"]
    assert (dishub.open, dishub.overdue, dishub.resolved, dishub.bounced, dishub.median_acknowledge_hours,
            dishub.median_resolve_hours, dishub.within_deadline, dishub.decided) == EXPECTED[days]
    assert dishub.agency_name == "Dinas Perhubungan"
    quiet = figures["DINKES"]
    assert (quiet.open, quiet.resolved, quiet.median_resolve_hours, quiet.within_deadline) == (0, 0, None, None)


def test_city_totals_take_the_median_over_every_clock(clocks: Admin) -> None:
    with clocks.stack.runtime.db.session() as session:
        figures = agency_figures(session, 7, now=NOW)
        city = totals(figures, session, 7, now=NOW)
    assert (city.open, city.overdue, city.resolved, city.median_acknowledge_hours, city.median_resolve_hours,
            round(city.within_deadline, 4), city.decided) == (2, 1, 2, 2.0, 17.0, 0.6667, 3)


def test_agency_admins_see_their_own_figures(clocks: Admin) -> None:
    with clocks.stack.runtime.db.session() as session:
        assert [f.agency_code for f in agency_figures(session, 30, now=NOW, agency_codes=["DLH"])] == ["DLH"]


@pytest.mark.parametrize(("hours", "text"), [(None, "-"), (0.5, "30 menit"), (1.0, "1 jam"), (17.5, "17,5 jam"),
                                            (60.0, "2,5 hari"), (48.0, "2 hari")])
def test_durations_read_in_indonesian(hours: float | None, text: str) -> None:
    assert duration_text(hours) == text


def test_shares_read_as_percentages() -> None:
    assert (share_text(None), share_text(0.6667), share_text(1.0)) == ("-", "67%", "100%")


def test_transparency_page_has_the_figures_and_no_personal_data(admin: Admin) -> None:
    complaint = admin.complaint("Jalan depan rumah Bu Sri Wahyuni no. 12 berlubang", agency="DISHUB",
                                phone="+6281298765432", address="Jl. Kawi 12")
    admin.as_user(SUPER).get(f"/admin/complaints/{complaint.ticket_code}")  # starts its clock
    page = admin.stack.client.get("/transparansi?days=7")
    assert page.status_code == 200
    html = page.text
    assert 'data-agency="DISHUB"' in html and "Dinas Perhubungan" in html
    for private in ("Sri Wahyuni", "+6281298765432", "81298765432", "Jl. Kawi", complaint.ticket_code,
                    f"{complaint.ticket_code[:4]} {complaint.ticket_code[4:]}", "@"):
        assert private not in html
    dashboard = admin.as_user(VIEWER).get("/admin/dashboard?days=90")
    assert dashboard.status_code == 200 and 'data-agency="DISHUB"' in dashboard.text
