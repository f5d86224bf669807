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
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import Agency, Assignment, Questionnaire, utcnow

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
