"""GET requests' start_date and end_date as the spec's w3 format (an ISO 8601 profile) allows them.

A date-time carries its zone (``2026-11-01T10:00:00Z``, ``+07:00``); a day alone (``2026-11-01``) is that
whole day in the city's time zone. A ``+`` that came unencoded in a query string arrives as a space
(``2026-11-01T10:00:00 07:00``) and is read as the ``+`` it was. Anything else, and any date outside 1970 to 2999,
is a 400 naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.web.open311.formats import Open311Error

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A date-time whose offset lost its "+" to form decoding: the time, one space, then hh, hhmm or hh:mm.
SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?) (\d{2}(?::?\d{2})?)$")
# Dates outside these years are no search anyone means; at the edges of Python's calendar (year 1, 9999) the
# arithmetic of a 90-day range would overflow (a 500).
FIRST_YEAR, LAST_YEAR = 1970, 2999
EXAMPLES = "a w3 date-time such as 2010-01-01T00:00:00Z or 2010-01-01T07:00:00+07:00, or a day such as 2010-01-01"


def w3_datetime(value: str, name: str, timezone: str, end: bool = False) -> datetime:
    """One bound of a search, aware.

    Args:
        value: the parameter as received.
        name: the parameter's name, for the error.
        timezone: the city's zone, in which a day alone is read.
        end: an end bound: a day alone reaches to the last moment of that day.

    Raises:
        Open311Error: 400 naming ``name`` for anything that is not such a date or date-time.
    """
    text = value.strip()
    if DAY.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _bad(name, value) from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise _out_of_range(name, value)
        if end:
            return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone)) - timedelta(microseconds=1)
        return datetime.combine(day, time(0), ZoneInfo(timezone))
    lost_plus = SPACE_FOR_PLUS.match(text)
    if lost_plus:
        text = f"{lost_plus.group(1)}+{lost_plus.group(2)}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(name, value) from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name}: include the time zone (Z or +07:00), or give a day alone: {value[:40]!r}")
    try:
        in_utc = moment.astimezone(UTC)  # 0001-01-01T00:00:00+01:00 has no UTC moment
    except OverflowError:
        raise _out_of_range(name, value) from None
    if not FIRST_YEAR <= in_utc.year <= LAST_YEAR:
        raise _out_of_range(name, value)
    return moment


def _out_of_range(name: str, value: str) -> Open311Error:
    return Open311Error(400, f"{name}: out of range: give a date from {FIRST_YEAR} to {LAST_YEAR}: {value[:40]!r}")


def _bad(name: str, value: str) -> Open311Error:
    return Open311Error(400, f"{name}: not {EXAMPLES}: {value[:40]!r}")
