"""SLA clocks for service requests.

Targets are measured in the client account's business time, so a request raised
just before a weekend or a public holiday is not overdue when the office reopens.
Everything here is pure: aware datetimes in, aware UTC datetimes out.

Rules:
- A business minute is an elapsed minute inside a business day's window
  [day_start, day_end) in local wall time. Windows are converted to UTC day by day,
  so a DST change between two days moves the UTC opening hour, and a change inside
  a window makes that window an hour shorter or longer.
- A deadline that uses up a window exactly falls at that day's closing time, not
  at the next opening.
- A start outside business hours counts from the next opening; with ``minutes=0``
  the due time is that next business moment (or the start itself when the office
  is open), which marks when the clock actually starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=None)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the package does not know has no holidays
        return frozenset()


@dataclass(frozen=True)
class BusinessCalendar:
    """When a client account's office is open, in its own time zone.

    Public holidays come from the ``holidays`` package for ``country`` (observed
    and substitute days off included). China's official make-up working days that
    fall on a weekend are ignored: those Saturdays and Sundays stay closed, which
    only ever makes a deadline later, never earlier.
    """

    timezone: str
    country: str | None = None
    day_start: time = time(9)
    day_end: time = time(18)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # fail on construction, not on first use
        if not self.day_start < self.day_end:
            raise ValueError("day_start must be before day_end")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("weekdays must be a non-empty subset of 0..6")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, d: date) -> bool:
        """Whether ``d`` is a public holiday; never for an unknown or missing country."""
        return self.country is not None and d in _holiday_dates(self.country.upper(), d.year)

    def is_business_day(self, d: date) -> bool:
        return d.weekday() in self.weekdays and not self.is_holiday(d)

    def business_window(self, d: date) -> tuple[datetime, datetime] | None:
        """Opening and closing of local day ``d`` in UTC, or None when closed.

        Wall times that a DST change skips or repeats resolve as ``fold=0`` does.
        """
        if not self.is_business_day(d):
            return None
        opens = datetime.combine(d, self.day_start, tzinfo=self.zone).astimezone(UTC)
        closes = datetime.combine(d, self.day_end, tzinfo=self.zone).astimezone(UTC)
        # A window lying inside a skipped hour can resolve backwards: treat it as closed.
        return (opens, closes) if opens < closes else None


def _to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: an SLA clock needs a time zone")
    return moment.astimezone(UTC)


def _check_minutes(minutes: int) -> None:
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, got {minutes}")


def _open_periods(calendar: BusinessCalendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Business periods in UTC from ``since`` on, the first one clipped to start there."""
    day = since.astimezone(calendar.zone).date()
    while True:
        window = calendar.business_window(day)
        if window is not None and window[1] > since:
            yield max(window[0], since), window[1]
        day += timedelta(days=1)


def add_business_minutes(calendar: BusinessCalendar, start: datetime, minutes: int) -> datetime:
    """The UTC moment ``minutes`` business minutes after ``start``.

    Steps a whole business day at a time, so large targets cost one iteration per
    calendar day, not per minute.
    """
    _check_minutes(minutes)
    remaining = timedelta(minutes=minutes)
    for begins, ends in _open_periods(calendar, _to_utc(start)):
        if remaining <= ends - begins:
            return begins + remaining
        remaining -= ends - begins
    raise AssertionError("unreachable: _open_periods never ends")


def business_minutes_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> int:
    """Whole business minutes in [a, b), 0 when ``b <= a``: how much of a target is used up."""
    a, b = _to_utc(a), _to_utc(b)
    used = timedelta()
    for begins, ends in _open_periods(calendar, a):
        if begins >= b:
            break
        used += min(ends, b) - begins
    return used // MINUTE


def add_wall_minutes(start: datetime, minutes: int) -> datetime:
    """The UTC moment ``minutes`` elapsed minutes after ``start``, for round-the-clock targets."""
    _check_minutes(minutes)
    return _to_utc(start) + timedelta(minutes=minutes)


def due_at(calendar: BusinessCalendar, start: datetime, minutes: int, business_hours: bool) -> datetime:
    """When a target of ``minutes`` started at ``start`` is due, in UTC."""
    if business_hours:
        return add_business_minutes(calendar, start, minutes)
    return add_wall_minutes(start, minutes)
