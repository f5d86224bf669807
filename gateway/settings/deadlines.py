"""The ``deadlines:`` section and the working-day calendar: Indonesian working days, without weekends,
national holidays, cuti bersama and the city's own days off.

The ``deadlines:`` section of config.yaml gives acknowledge / respond / resolve in working days (defaults 1, 3
and 7), per agency and optionally per category: ``deadlines.categories.<category>`` for a category at any agency,
``deadlines.agencies.<code>.categories.<category>`` for one agency's. The most specific setting wins: an agency's
category, then the category, then the agency, then the defaults. A deadline falls the given number of working
days after the complaint reached the agency, at the same time of day ("1x24 jam" on working days). A complaint
that arrives on a day off starts its clock at 00:00 of the next working day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

STAGES = ("acknowledge", "respond", "resolve")
DEFAULT_DAYS = {"acknowledge": 1, "respond": 3, "resolve": 7}
TOP_KEYS = {*STAGES, "cuti_bersama", "days_off", "remind_before_hours", "escalate_to_viewers_after_days", "agencies",
            "categories"}


class WorkingCalendar:
    """Which days are working days in one time zone, and arithmetic over them.

    Args:
        timezone: the city's zone, e.g. ``Asia/Jakarta``.
        cuti_bersama: also take the collective leave days (the holidays package's ``government`` category
            for ID, from the joint ministerial decree) as days off.
        days_off: further days off (a decree newer than the package, a city holiday).
    """

    def __init__(self, timezone: str = "Asia/Jakarta", cuti_bersama: bool = True, days_off: tuple[date, ...] = ()):
        self.zone = ZoneInfo(timezone)
        categories = ("public", "government") if cuti_bersama else ("public",)
        self.holidays = holidays.country_holidays("ID", categories=categories, language="id")
        self.days_off = frozenset(days_off)

    def is_working_day(self, day: date) -> bool:
        """Monday to Friday, and neither a holiday nor a configured day off."""
        return day.weekday() < 5 and day not in self.holidays and day not in self.days_off

    def day_off_name(self, day: date) -> str | None:
        """Why a day is off ("Sabtu", "Hari Raya Idul Fitri", "libur daerah"), or None on a working day."""
        if day in self.days_off:
            return "libur tambahan (config)"
        if day in self.holidays:
            return self.holidays.get(day)
        return ("Sabtu", "Minggu")[day.weekday() - 5] if day.weekday() >= 5 else None

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` working days after ``start`` (aware), in UTC.

        The time of day is kept; a start on a day off counts from 00:00 of the next working day.
        """
        local = start.astimezone(self.zone)
        day, clock = local.date(), local.time().replace(tzinfo=None)
        if not self.is_working_day(day):
            day, clock = self.next_working_day(day), time(0, 0)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def next_working_day(self, day: date) -> date:
        """The first working day after ``day``."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


@dataclass(frozen=True)
class DeadlinePolicy:
    """The deadlines section, checked: days per stage for each agency and category, and escalation timing."""

    default: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    agencies: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    categories: Mapping[tuple[str, str], Mapping[str, int]] = field(default_factory=dict)  # (agency, category)
    category_days: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # category at any agency
    cuti_bersama: bool = True
    days_off: tuple[date, ...] = ()
    remind_before_hours: float = 4
    escalate_to_viewers_after_days: int = 2
    timezone: str = "Asia/Jakarta"

    def days(self, agency: str | None, category: str | None = None) -> dict[str, int]:
        """Working days per stage for an agency's complaint of a category (most specific setting wins)."""
        days = dict(self.default)
        days.update(self.agencies.get(agency or "", {}))
        days.update(self.category_days.get(category or "", {}))
        days.update(self.categories.get((agency or "", category or ""), {}))
        return days

    def calendar(self) -> WorkingCalendar:
        """The working-day calendar (built once per policy)."""
        cached = _CALENDARS.get(self)
        if cached is None:
            cached = _CALENDARS[self] = WorkingCalendar(self.timezone, self.cuti_bersama, self.days_off)
        return cached

    def due_dates(self, assigned_at: datetime, agency: str, category: str | None = None) -> dict[str, datetime]:
        """The deadline of each stage for a complaint given to ``agency`` at ``assigned_at``."""
        calendar = self.calendar()
        return {stage: calendar.add_working_days(assigned_at, days)
                for stage, days in self.days(agency, category).items()}

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.default.items())), self.cuti_bersama, self.days_off, self.timezone,
                     tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.agencies.items())),
                     tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.categories.items())),
                     tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self.category_days.items()))))


_CALENDARS: dict[DeadlinePolicy, WorkingCalendar] = {}


def policy(settings: Any) -> DeadlinePolicy:
    """The deadline policy of these settings (checked when they were loaded)."""
    return settings.deadline_policy


def parse_deadlines(section: Any, agency_codes: set[str] | None, category_codes: set[str],
                    timezone: str) -> DeadlinePolicy:
    """Read the ``deadlines:`` section of config.yaml into a policy, naming the key of any mistake.

    Raises:
        ValueError: naming the first bad key.
    """
    if isinstance(section, DeadlinePolicy):
        return section
    if not isinstance(section, Mapping):
        raise ValueError("deadlines: must be a mapping")
    unknown = sorted(set(section) - TOP_KEYS)
    if unknown:
        raise ValueError(f"deadlines.{unknown[0]}: unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    default = {**DEFAULT_DAYS, **_stage_days(section, "deadlines")}
    _check_order(default, "deadlines")
    known_agencies, known_categories = agency_codes, category_codes
    agencies: dict[str, dict[str, int]] = {}
    categories: dict[tuple[str, str], dict[str, int]] = {}
    category_days: dict[str, dict[str, int]] = {}
    for category, days in _mapping(section.get("categories"), "deadlines.categories").items():
        where = f"deadlines.categories.{category}"
        _known_category(category, known_categories, where)
        category_days[category] = _days_only(days, where)
        _check_order({**default, **category_days[category]}, where)
    for code, entry in _mapping(section.get("agencies"), "deadlines.agencies").items():
        key = f"deadlines.agencies.{code}"
        if known_agencies is not None and code not in known_agencies:
            raise ValueError(f"{key}: no agency with code {code!r} in the agencies section")
        if not isinstance(entry, Mapping):
            raise ValueError(f"{key}: must be a mapping of stage to working days, got {entry!r}")
        extra = sorted(set(entry) - {*STAGES, "categories"})
        if extra:
            raise ValueError(f"{key}.{extra[0]}: unknown key (known: {', '.join(STAGES)}, categories)")
        agencies[code] = _stage_days(entry, key)
        _check_order({**default, **agencies[code]}, key)
        for category, days in category_days.items():
            _check_order({**default, **agencies[code], **days}, f"deadlines.categories.{category} at {code}")
        for category, days in _mapping(entry.get("categories"), f"{key}.categories").items():
            where = f"{key}.categories.{category}"
            _known_category(category, known_categories, where)
            categories[(code, category)] = _days_only(days, where)
            _check_order({**default, **agencies[code], **category_days.get(category, {}),
                          **categories[(code, category)]}, where)
    return DeadlinePolicy(
        default=default, agencies=agencies, categories=categories, category_days=category_days,
        cuti_bersama=_flag(section.get("cuti_bersama", True), "deadlines.cuti_bersama"),
        days_off=_days_off(section.get("days_off") or []),
        remind_before_hours=_number(section.get("remind_before_hours", 4), "deadlines.remind_before_hours"),
        escalate_to_viewers_after_days=_whole(section.get("escalate_to_viewers_after_days", 2),
                                              "deadlines.escalate_to_viewers_after_days", low=0),
        timezone=str(timezone),
    )


def _mapping(value: Any, key: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: must be a mapping (code: settings), got {value!r}")
    return value


def _known_category(category: Any, known: set[str], where: str) -> None:
    if category not in known:
        raise ValueError(f"{where}: no category {category!r} in intake.categories")


def _days_only(days: Any, where: str) -> dict[str, int]:
    if not isinstance(days, Mapping) or set(days) - set(STAGES):
        raise ValueError(f"{where}: must be a mapping of {', '.join(STAGES)} to working days")
    return _stage_days(days, where)


def _stage_days(entry: Mapping[str, Any], key: str) -> dict[str, int]:
    return {stage: _whole(entry[stage], f"{key}.{stage}", low=1) for stage in STAGES if stage in entry}


def _check_order(days: Mapping[str, int], key: str) -> None:
    if not days["acknowledge"] <= days["respond"] <= days["resolve"]:
        raise ValueError(f"{key}: acknowledge <= respond <= resolve must hold, got "
                            f"{days['acknowledge']}, {days['respond']}, {days['resolve']}")


def _whole(value: Any, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 365:
        raise ValueError(f"{key}: must be a whole number of working days from {low} to 365, got {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 240:
        raise ValueError(f"{key}: must be a number of hours from 0 to 240, got {value!r}")
    return float(value)


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false, got {value!r}")
    return value


def _days_off(values: Any) -> tuple[date, ...]:
    if not isinstance(values, list):
        raise ValueError("deadlines.days_off: must be a list of dates like 2026-03-20")
    days = []
    for index, value in enumerate(values):
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                pass
        if not isinstance(value, date):
            raise ValueError(f"deadlines.days_off[{index}]: not a date like 2026-03-20: {value!r}")
        days.append(value)
    return tuple(sorted(days))
