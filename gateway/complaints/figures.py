"""Dashboard figures per agency, from the deadline clocks: open, overdue, resolved, medians, share within deadline.

The same figures feed the console's dashboard and the public transparency page (which shows no personal data:
these are counts and durations only).

Definitions, for a window of the last N days ending at ``now``:

- open: complaints in the agency's hands now (any age); overdue: those of them past their next deadline.
- resolved: resolved within the window; bounced: sent back as "bukan wewenang" within the window.
- median time to acknowledge: over clocks acknowledged within the window, from reaching the agency.
- median time to resolve: over clocks resolved within the window, from reaching the agency.
- share within deadline: of the clocks whose resolution was due or done within the window (resolved in it,
  or still open with the resolve deadline passed in it), the share resolved by the deadline.
- confirmed fixed by citizens (:func:`confirmed_fixed`, issue 15): of the questionnaires asked within the window
  ("Sudah beres? Balas YA atau BELUM") that were answered, the share answered YA; a BELUM, or a reply saying it
  is not fixed, counts as not fixed. Questions nobody could be asked (no address, STOP) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gateway.settings.deadlines import WorkingCalendar
from models import Agency, Assignment, Complaint, Questionnaire, utcnow
from models.complaint import NEW

WINDOWS = (7, 30, 90)


@dataclass(frozen=True)
class AgencyFigures:
    """One agency's figures over one window. Durations are in hours; the share is 0..1 (None: no data)."""

    agency_code: str
    agency_name: str
    open: int
    overdue: int
    resolved: int
    bounced: int
    median_acknowledge_hours: float | None
    median_resolve_hours: float | None
    within_deadline: float | None
    decided: int  # how many clocks the share is taken over


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _next_due(row: Assignment) -> datetime:
    stage = row.next_stage() or "resolve"
    return row.due(stage)


def agency_figures(session: Session, days: int, now: datetime | None = None,
                   agency_codes: list[str] | None = None) -> list[AgencyFigures]:
    """Figures for each active agency (or the given ones), in the agencies' order by code."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    agencies = session.scalars(select(Agency).where(Agency.active).order_by(Agency.code))
    names = {agency.code: agency.name for agency in agencies if agency_codes is None or agency.code in agency_codes}
    rows = _window_rows(session, list(names), since)
    by_agency: dict[str, list[Assignment]] = {code: [] for code in names}
    for row in rows:
        by_agency[row.agency_code].append(row)
    return [_figures(code, names[code], by_agency[code], since, now) for code in names]


def _window_rows(session: Session, codes: list[str], since: datetime) -> list[Assignment]:
    """The clocks that can count in a window: open ones, and those with something in the window."""
    return list(session.scalars(select(Assignment).where(
        Assignment.agency_code.in_(codes),
        or_(Assignment.ended_at.is_(None), Assignment.ended_at >= since,
            Assignment.acknowledged_at >= since, Assignment.resolve_due >= since),
    )))


def _figures(code: str, name: str, rows: list[Assignment], since: datetime, now: datetime) -> AgencyFigures:
    open_rows = [row for row in rows if row.ended_at is None]
    resolved = [row for row in rows if row.resolved_at is not None and since <= row.resolved_at <= now]
    acknowledged = [row for row in rows if row.acknowledged_at is not None and since <= row.acknowledged_at <= now]
    missed_open = [row for row in open_rows if since <= row.resolve_due <= now]
    decided = len(resolved) + len(missed_open)
    on_time = sum(1 for row in resolved if row.resolved_at <= row.resolve_due)
    return AgencyFigures(
        agency_code=code, agency_name=name, open=len(open_rows),
        overdue=sum(1 for row in open_rows if _next_due(row) < now),
        resolved=len(resolved),
        bounced=sum(1 for row in rows if row.outcome == "bounced" and row.ended_at and since <= row.ended_at <= now),
        median_acknowledge_hours=_median([_hours(row.assigned_at, row.acknowledged_at) for row in acknowledged]),
        median_resolve_hours=_median([_hours(row.assigned_at, row.resolved_at) for row in resolved]),
        within_deadline=(on_time / decided) if decided else None, decided=decided,
    )


def _median(values: list[float]) -> float | None:
    return round(median(values), 2) if values else None


def totals(figures: list[AgencyFigures], session: Session, days: int, now: datetime | None = None) -> AgencyFigures:
    """The same figures for the whole city (medians over every clock, not a median of medians)."""
    codes = [figure.agency_code for figure in figures]
    now = now or utcnow()
    since = now - timedelta(days=days)
    return _figures("", "Semua dinas", _window_rows(session, codes, since), since, now)


def duration_text(hours: float | None) -> str:
    """A duration as people read it: "5 jam", "2,5 hari", or "-"."""
    if hours is None:
        return "-"
    if hours < 1:
        return f"{round(hours * 60)} menit"
    if hours < 48:
        return f"{hours:.1f} jam".replace(".0 ", " ").replace(".", ",")
    return f"{hours / 24:.1f} hari".replace(".0 ", " ").replace(".", ",")


def share_text(share: float | None) -> str:
    """A share as a percentage, or "-" when there was nothing to measure."""
    return "-" if share is None else f"{round(share * 100)}%"


@dataclass(frozen=True)
class ConfirmedFixed:
    """Citizens' answers to "Sudah beres?" for one agency (or the city, ``agency_code`` "") over one window."""

    agency_code: str
    asked: int
    answered: int
    confirmed: int  # answered YA

    @property
    def share(self) -> float | None:
        """Confirmed fixed, 0..1, of the answered; None when nobody answered."""
        return self.confirmed / self.answered if self.answered else None


def confirmed_fixed(session: Session, days: int, now: datetime | None = None,
                    agency_codes: list[str] | None = None) -> dict[str, ConfirmedFixed]:
    """The share of resolutions citizens confirmed fixed, per agency code, over the last ``days`` days.

    Every active agency (or each of ``agency_codes``) has an entry, and the whole city is under ``""``; use
    ``.share`` (None: no answers yet) and :func:`share_text` to show it.
    """
    now = now or utcnow()
    since = now - timedelta(days=days)
    codes = list(session.scalars(select(Agency.code).where(Agency.active).order_by(Agency.code))) \
        if agency_codes is None else list(agency_codes)
    rows = session.execute(select(Questionnaire.agency_code, Questionnaire.answer).where(
        Questionnaire.asked_at >= since, Questionnaire.asked_at <= now,
        (Questionnaire.answer.is_(None)) | (Questionnaire.answer != "none"),
        Questionnaire.agency_code.in_(codes))).all()
    counts = {code: [0, 0, 0] for code in [*codes, ""]}
    for code, answer in rows:
        for key in (code, ""):
            counts[key][0] += 1
            counts[key][1] += answer is not None
            counts[key][2] += answer == "yes"
    return {code: ConfirmedFixed(code, *numbers) for code, numbers in counts.items()}


# --- the transparency page: what citizens wait for, month by month, in working days ---------------------------


@dataclass(frozen=True)
class Backlog:
    """The super-admin's review queue: how many complaints wait to be sent to an agency, since when."""

    count: int
    oldest: datetime | None

    def oldest_hours(self, now: datetime | None = None) -> float | None:
        return None if self.oldest is None else _hours(self.oldest, now or utcnow())


def review_backlog(session: Session) -> Backlog:
    """Complaints waiting in the review queue (status new) and the oldest one's arrival."""
    count, oldest = session.execute(select(func.count(Complaint.id), func.min(Complaint.created_at))
                                    .where(Complaint.status == NEW)).one()
    return Backlog(count=count or 0, oldest=oldest)


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole`` (e.g. resolved on time of those due); None-safe as a ratio."""

    part: int
    whole: int

    @property
    def ratio(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Month:
    """One agency's month: complaints that reached it, and the share resolved by the deadline of those due."""

    month: date  # the first day of the month, in the city's time zone
    complaints: int
    within_deadline: Share


def months_back(now: datetime, count: int, zone: ZoneInfo) -> list[date]:
    """The first days of the last ``count`` months, oldest first, the current month last."""
    local = now.astimezone(zone).date().replace(day=1)
    firsts = []
    for _ in range(count):
        firsts.append(local)
        local = (local - timedelta(days=1)).replace(day=1)
    return firsts[::-1]


def monthly_figures(session: Session, timezone: str, months: int = 12, now: datetime | None = None,
                    agency_codes: list[str] | None = None) -> dict[str, list[Month]]:
    """Per agency (active ones, or the given codes; ``""`` for the whole city), month by month.

    Complaints per month: the clocks started at the agency in that month (a complaint sent back and assigned
    again counts again). Within deadline: of the clocks resolved in that month or still open with their resolve
    deadline passed in it, the share resolved by the deadline (as in :func:`agency_figures`).
    """
    now = now or utcnow()
    zone = ZoneInfo(timezone)
    firsts = months_back(now, months, zone)
    since = datetime.combine(firsts[0], time(0), tzinfo=zone)
    if agency_codes is None:
        agency_codes = list(session.scalars(select(Agency.code).where(Agency.active).order_by(Agency.code)))
    rows = list(session.scalars(select(Assignment).where(
        Assignment.agency_code.in_(agency_codes),
        or_(Assignment.assigned_at >= since, Assignment.resolved_at >= since,
            Assignment.resolve_due >= since, Assignment.ended_at.is_(None)))))
    index = {first: n for n, first in enumerate(firsts)}

    def slot(moment: datetime | None) -> int | None:
        if moment is None or moment > now:
            return None
        return index.get(moment.astimezone(zone).date().replace(day=1))

    counts = {code: [[0, 0, 0] for _ in firsts] for code in [*agency_codes, ""]}  # complaints, on time, due
    for row in rows:
        for code in (row.agency_code, ""):
            cells = counts[code]
            if (n := slot(row.assigned_at)) is not None:
                cells[n][0] += 1
            if row.resolved_at is not None:
                if (n := slot(row.resolved_at)) is not None:
                    cells[n][2] += 1
                    cells[n][1] += row.resolved_at <= row.resolve_due
            elif row.ended_at is None and (n := slot(row.resolve_due)) is not None:
                cells[n][2] += 1
    return {code: [Month(first, cells[n][0], Share(cells[n][1], cells[n][2])) for n, first in enumerate(firsts)]
            for code, cells in counts.items()}


def working_days_taken(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """How many working days it took from ``start`` to ``end``: the smallest N (at least 1) with ``end`` no
    later than N working days after ``start`` (counted like the deadlines, :meth:`WorkingCalendar.add_working_days`).
    """
    zone = calendar.zone
    local = start.astimezone(zone)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    if not calendar.is_working_day(day):
        day, clock = calendar.next_working_day(day), time(0)
    taken = 0
    while datetime.combine(day, clock, tzinfo=zone) < end and taken < 1000:
        day = calendar.next_working_day(day)
        taken += 1
    return max(taken, 1)


@dataclass(frozen=True)
class Typical:
    """What usually happens at an agency over a window, in working days (medians), for plain sentences."""

    acknowledge_days: int | None
    resolve_days: int | None
    within_deadline: Share


def typical_days(session: Session, calendar: WorkingCalendar, days: int, now: datetime | None = None,
                 agency_codes: list[str] | None = None) -> dict[str, Typical]:
    """Per agency (and ``""`` for the city): the median working days to acknowledge and to resolve, over the
    clocks acknowledged or resolved in the last ``days`` days, and the share within deadline of
    :func:`agency_figures`."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    if agency_codes is None:
        agency_codes = list(session.scalars(select(Agency.code).where(Agency.active).order_by(Agency.code)))
    rows = _window_rows(session, agency_codes, since)
    grouped: dict[str, list[Assignment]] = {code: [] for code in [*agency_codes, ""]}
    for row in rows:
        grouped[row.agency_code].append(row)
        grouped[""].append(row)
    result = {}
    for code, group in grouped.items():
        acknowledged = [working_days_taken(calendar, row.assigned_at, row.acknowledged_at) for row in group
                        if row.acknowledged_at is not None and since <= row.acknowledged_at <= now]
        resolved = [row for row in group if row.resolved_at is not None and since <= row.resolved_at <= now]
        missed_open = [row for row in group if row.ended_at is None and since <= row.resolve_due <= now]
        on_time = sum(1 for row in resolved if row.resolved_at <= row.resolve_due)
        result[code] = Typical(
            acknowledge_days=_median_days(acknowledged),
            resolve_days=_median_days([working_days_taken(calendar, row.assigned_at, row.resolved_at)
                                       for row in resolved]),
            within_deadline=Share(on_time, len(resolved) + len(missed_open)))
    return result


def _median_days(values: list[int]) -> int | None:
    """The median rounded up to whole working days ("within 2 working days" holds for at least half)."""
    if not values:
        return None
    middle = median(values)
    return int(middle) if middle == int(middle) else int(middle) + 1
