"""Pay weeks (``core.periods.Week``) across month and year ends, leap days and both
daylight-saving changes, with the clock injected. Expected days come from ``date.toordinal``
arithmetic (an oracle sharing no code with ``Week``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from core.periods import Week

NY = ZoneInfo("America/New_York")


def oracle_first_day(day: dt.date, week_starts: int) -> dt.date:
    ordinal = day.toordinal()
    # date.fromordinal(1) is Monday 0001-01-01, so (ordinal - 1) % 7 is the weekday.
    return dt.date.fromordinal(ordinal - ((ordinal - 1 - week_starts) % 7))


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2099, 12, 31)), st.integers(0, 6))
def test_the_week_of_any_day_starts_on_its_weekday(day, week_starts):
    week = Week.starting(day, week_starts)
    assert week.first_day == oracle_first_day(day, week_starts)
    assert week.first_day.weekday() == week_starts
    assert week.first_day <= day <= week.last_day
    assert (week.last_day - week.first_day).days == 6
    assert week.next().first_day == week.last_day + dt.timedelta(days=1)
    assert week.previous().next() == week


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        (dt.date(2026, 12, 31), dt.date(2026, 12, 28), dt.date(2027, 1, 3)),  # across a year
        (dt.date(2028, 2, 29), dt.date(2028, 2, 28), dt.date(2028, 3, 5)),  # a leap day
        (dt.date(2027, 2, 28), dt.date(2027, 2, 22), dt.date(2027, 2, 28)),  # month end, Sunday
        (dt.date(2026, 3, 1), dt.date(2026, 2, 23), dt.date(2026, 3, 1)),
    ],
)
def test_weeks_across_month_and_year_ends(day, first, last):
    week = Week.starting(day)
    assert (week.first_day, week.last_day) == (first, last)


def hours(week: Week) -> float:
    # Aware datetimes of one zone subtract as wall-clock times: compare them in UTC.
    return (week.end.astimezone(dt.UTC) - week.start.astimezone(dt.UTC)).total_seconds() / 3600


@override_settings(TIME_ZONE="America/New_York")
def test_a_week_with_a_daylight_saving_change_is_167_or_169_hours():
    spring = Week.starting(dt.date(2026, 3, 8))  # clocks go forward on Sunday 8 March
    autumn = Week.starting(dt.date(2026, 11, 1))  # and back on Sunday 1 November
    assert spring.start == dt.datetime(2026, 3, 2, tzinfo=NY)
    assert hours(spring) == 167 and hours(autumn) == 169
    assert hours(Week.starting(dt.date(2026, 6, 10))) == 168


@override_settings(TIME_ZONE="America/New_York")
def test_the_week_of_a_moment_is_read_on_the_company_clock():
    # Monday 00:30 in New York is still Sunday 05:30 UTC... the other way: Sunday 23:30 in New
    # York is Monday 04:30 UTC, and belongs to the week that ends that Sunday.
    late_sunday = dt.datetime(2026, 12, 7, 4, 30, tzinfo=dt.UTC)
    assert Week.containing(late_sunday).first_day == dt.date(2026, 11, 30)
    monday = dt.datetime(2026, 12, 7, 5, 30, tzinfo=dt.UTC)
    assert Week.current(monday).first_day == dt.date(2026, 12, 7)
    assert Week.containing(monday, week_starts=6).first_day == dt.date(2026, 12, 6)


def test_parse_and_words():
    assert Week.parse("2026-11-30") == Week(dt.date(2026, 11, 30))
    assert str(Week.parse("2026-11-30")) == "week of 2026-11-30"
    assert Week.parse("2026-12-06", week_starts=6).label == "6 – 12 Dec 2026"
    assert Week.parse("2026-11-30").label == "30 Nov – 6 Dec 2026"
    assert Week.parse("2026-12-28").label == "28 Dec 2026 – 3 Jan 2027"
    with pytest.raises(ValueError, match="is a tuesday: pay weeks start on a monday"):
        Week.parse("2026-12-01")
    assert Week.parse("2026-W49") == Week(dt.date(2026, 11, 30))  # an ISO week is its Monday
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Week.parse("next week")
    with pytest.raises(ValueError, match="weekday number"):
        Week.starting(dt.date(2026, 12, 1), 7)


def test_last_weeks_oldest_first():
    week = Week.parse("2027-01-04")
    assert [w.first_day for w in week.last(3)] == [
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 28),
        dt.date(2027, 1, 4),
    ]
    with pytest.raises(ValueError):
        week.last(0)
