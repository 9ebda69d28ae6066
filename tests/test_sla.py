"""SLA clocks: the deadlines a user would check by hand across weekends, time zones,
public holidays and DST, and that counting business minutes inverts adding them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.service_requests.sla import (
    BusinessCalendar,
    add_business_minutes,
    add_wall_minutes,
    business_minutes_between,
    due_at,
)
from tests.helpers import utc

SHANGHAI = BusinessCalendar("Asia/Shanghai", "CN")
HANOI = BusinessCalendar("Asia/Ho_Chi_Minh", "VN")
LONDON = BusinessCalendar("Europe/London", "GB")
NEW_YORK = BusinessCalendar("America/New_York", "US")
LOS_ANGELES = BusinessCalendar("America/Los_Angeles", "US")
HONG_KONG = BusinessCalendar("Asia/Hong_Kong", "HK")
# Open every night from midnight to 06:00, so the DST changes fall inside a window.
LONDON_NIGHTS = BusinessCalendar("Europe/London", None, time(0), time(6), frozenset(range(7)))


def local(calendar: BusinessCalendar, *fields: int) -> datetime:
    return datetime(*fields, tzinfo=ZoneInfo(calendar.timezone))


@pytest.mark.parametrize(
    ("calendar", "start", "minutes", "due"),
    [
        # Friday 17:30 in Shanghai: 30 minutes on Friday, 30 on Monday.
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 13, 17, 30), 60, utc(2026, 3, 16, 1, 30), id="friday-evening"),
        # 23:00 UTC Friday is Saturday 07:00 in Shanghai but Friday 16:00 in Los Angeles.
        pytest.param(SHANGHAI, utc(2026, 3, 13, 23), 60, utc(2026, 3, 16, 2), id="saturday-in-shanghai"),
        pytest.param(LOS_ANGELES, utc(2026, 3, 13, 23), 60, utc(2026, 3, 14, 0), id="friday-in-los-angeles"),
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 7), 60, utc(2026, 3, 16, 2), id="before-opening"),
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 19), 60, utc(2026, 3, 17, 2), id="after-closing"),
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 17), 60, utc(2026, 3, 16, 10), id="due-at-closing"),
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 12), 0, utc(2026, 3, 16, 4), id="zero-while-open"),
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 18), 0, utc(2026, 3, 17, 1), id="zero-at-closing"),
        # Wednesday 10:00 plus 5 business days is the next Wednesday 10:00.
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 11, 10), 2700, utc(2026, 3, 18, 2), id="five-days"),
        # Monday 09:00 plus 3 business days ends Wednesday at closing, not Thursday morning.
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 3, 16, 9), 1620, utc(2026, 3, 18, 10), id="three-days"),
    ],
)
def test_add_business_minutes(calendar, start, minutes, due):
    assert add_business_minutes(calendar, start, minutes) == due


@pytest.mark.parametrize(
    ("calendar", "start", "due"),
    [
        # National Day Oct 1-3 plus days off to Oct 7 (the make-up Saturday Oct 10 stays closed).
        pytest.param(SHANGHAI, local(SHANGHAI, 2026, 9, 30, 17, 30), utc(2026, 10, 8, 1, 30), id="CN-national-day"),
        # Aug 31 (day off), Sep 1 and Sep 2 (National Day).
        pytest.param(HANOI, local(HANOI, 2026, 8, 28, 17, 30), utc(2026, 9, 3, 2, 30), id="VN-national-day"),
        # Christmas Friday, Boxing Day observed on Monday.
        pytest.param(LONDON, local(LONDON, 2026, 12, 24, 17, 30), utc(2026, 12, 29, 9, 30), id="GB-christmas"),
        # Independence Day observed on Friday July 3.
        pytest.param(NEW_YORK, local(NEW_YORK, 2026, 7, 2, 17, 30), utc(2026, 7, 6, 13, 30), id="US-july-4th"),
        pytest.param(HONG_KONG, local(HONG_KONG, 2026, 9, 30, 17, 30), utc(2026, 10, 2, 1, 30), id="HK-national-day"),
    ],
)
def test_public_holidays_are_skipped(calendar, start, due):
    assert add_business_minutes(calendar, start, 60) == due


@pytest.mark.parametrize("country", [None, "XX"])
def test_no_or_unknown_country_has_no_holidays(country):
    assert not BusinessCalendar("Asia/Shanghai", country).is_holiday(date(2026, 10, 1))
    assert SHANGHAI.is_holiday(date(2026, 10, 1))


@pytest.mark.parametrize(
    ("calendar", "start", "due"),
    [
        # Friday 17:00 GMT plus 2 hours: Monday 10:00 BST, which is 09:00 UTC.
        pytest.param(LONDON, utc(2026, 3, 27, 17), utc(2026, 3, 30, 9), id="london-spring"),
        pytest.param(LONDON, utc(2026, 10, 23, 16), utc(2026, 10, 26, 10), id="london-autumn"),
        pytest.param(NEW_YORK, utc(2026, 3, 6, 22), utc(2026, 3, 9, 14), id="new-york-spring"),
        pytest.param(NEW_YORK, utc(2026, 10, 30, 21), utc(2026, 11, 2, 15), id="new-york-autumn"),
    ],
)
def test_dst_over_the_weekend_moves_the_utc_opening(calendar, start, due):
    assert add_business_minutes(calendar, start, 120) == due


@pytest.mark.parametrize(("day", "minutes"), [(date(2026, 3, 29), 300), (date(2026, 10, 25), 420)])
def test_dst_inside_a_window_counts_elapsed_minutes(day, minutes):
    opens, closes = LONDON_NIGHTS.business_window(day)
    assert business_minutes_between(LONDON_NIGHTS, opens, closes) == minutes
    assert add_business_minutes(LONDON_NIGHTS, opens, minutes) == closes


def test_business_minutes_between_floors_and_is_zero_backwards():
    start = local(SHANGHAI, 2026, 3, 13, 17, 30)
    assert business_minutes_between(SHANGHAI, start, local(SHANGHAI, 2026, 3, 16, 9, 30, 59)) == 60
    assert business_minutes_between(SHANGHAI, start, start) == 0
    assert business_minutes_between(SHANGHAI, start, utc(2026, 1, 1)) == 0


def test_large_targets_step_by_days():
    start = local(SHANGHAI, 2026, 1, 5, 9)
    due = add_business_minutes(SHANGHAI, start, 100_000)
    assert business_minutes_between(SHANGHAI, start, due) == 100_000


def test_wall_clock_targets_ignore_business_hours():
    start = local(SHANGHAI, 2026, 3, 13, 17, 30)
    assert add_wall_minutes(start, 60) == utc(2026, 3, 13, 10, 30)
    assert due_at(SHANGHAI, start, 60, business_hours=False) == utc(2026, 3, 13, 10, 30)
    assert due_at(SHANGHAI, start, 60, business_hours=True) == utc(2026, 3, 16, 1, 30)


@pytest.mark.parametrize(
    "call",
    [
        lambda: add_business_minutes(SHANGHAI, datetime(2026, 3, 13, 9), 60),
        lambda: business_minutes_between(SHANGHAI, datetime(2026, 3, 13, 9), utc(2026, 3, 14)),
        lambda: business_minutes_between(SHANGHAI, utc(2026, 3, 13), datetime(2026, 3, 14, 9)),
        lambda: add_wall_minutes(datetime(2026, 3, 13, 9), 60),
        lambda: due_at(SHANGHAI, datetime(2026, 3, 13, 9), 60, business_hours=False),
        lambda: add_business_minutes(SHANGHAI, utc(2026, 3, 13), -1),
        lambda: add_wall_minutes(utc(2026, 3, 13), -1),
    ],
    ids=["add-naive", "between-naive-a", "between-naive-b", "wall-naive", "due-naive", "add-negative", "wall-negative"],
)
def test_naive_datetimes_and_negative_minutes_raise(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize(
    "kwargs",
    [{"day_start": time(18), "day_end": time(9)}, {"weekdays": frozenset()}, {"weekdays": frozenset({7})}],
)
def test_calendar_rejects_impossible_hours(kwargs):
    with pytest.raises(ValueError):
        BusinessCalendar("Asia/Shanghai", "CN", **kwargs)


calendars = st.sampled_from([SHANGHAI, HANOI, LONDON, NEW_YORK, HONG_KONG, LONDON_NIGHTS])
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31, 23, 59), timezones=st.timezones()
)


@settings(deadline=None)
@given(calendar=calendars, start=moments, minutes=st.integers(0, 20_000))
def test_between_inverts_add(calendar, start, minutes):
    due = add_business_minutes(calendar, start, minutes)
    assert due.tzinfo is UTC
    assert due >= start
    assert business_minutes_between(calendar, start, due) == minutes


@settings(deadline=None)
@given(calendar=calendars, a=moments, b=moments)
def test_between_counts_the_whole_minutes_used_by_b(calendar, a, b):
    used = business_minutes_between(calendar, a, b)
    assert b < add_business_minutes(calendar, a, used + 1)
    if used:
        assert add_business_minutes(calendar, a, used) <= b
