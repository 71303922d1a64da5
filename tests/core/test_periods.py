"""Month-sensitive code at every month end of a leap and a non-leap year, and at both
daylight-saving changes of the company's zone, with the clock injected.

The expected months come from plain ``year * 12 + month`` arithmetic and ``calendar.monthrange``
(an oracle that shares no code with ``core.periods``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from commissions.calendar import commission_calendar
from commissions.progress import month_progress
from commissions.services.periods import open_period
from compliance.disclosure import default_disclosure_year
from compliance.selectors import FILTER_MONTHS, flag_periods
from core.periods import Period, add_months, last_month_starts, months_before
from genealogy.models import Distributor
from genealogy.selectors import team_stats
from orders.volume import period_line_arrays
from portal.dashboard import HISTORY_MONTHS, monthly_history
from portal.staff import volume_by_month
from tests.factories import buy, make_distributor

NY = ZoneInfo("America/New_York")


def _month_ends(year: int) -> list[dt.datetime]:
    """The last second of every month of ``year`` and the first second of the next month."""
    moments = []
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        moments.append(dt.datetime(year, month, last, 23, 59, 59, tzinfo=NY))
        nxt = (year + month // 12, month % 12 + 1)
        moments.append(dt.datetime(*nxt, 1, 0, 0, 0, tzinfo=NY))
    return moments


SPECIAL = [
    dt.datetime(2026, 12, 1, 0, 0, tzinfo=NY),  # the day the twelve-month window had thirteen
    dt.datetime(2026, 12, 1, 12, 0, tzinfo=NY),
    dt.datetime(2028, 2, 29, 12, 0, tzinfo=NY),
    dt.datetime(2027, 2, 28, 12, 0, tzinfo=NY),
    dt.datetime(2027, 3, 1, 12, 0, tzinfo=NY),
    dt.datetime(2026, 3, 8, 1, 59, 59, tzinfo=NY),  # last second of EST
    dt.datetime(2026, 3, 8, 3, 0, tzinfo=NY),  # first second of EDT
    dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY),  # 01:30 EDT
    dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY),  # 01:30 EST, an hour later
]
MOMENTS = _month_ends(2027) + _month_ends(2028) + SPECIAL


def _index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _first_of(index: int) -> dt.date:
    year, month0 = divmod(index, 12)
    return dt.date(year, month0 + 1, 1)


def expected_window(day: dt.date, count: int) -> list[dt.date]:
    last = _index(day.year, day.month)
    return [_first_of(i) for i in range(last - count + 1, last + 1)]


def moment_id(moment: dt.datetime) -> str:
    return moment.isoformat() + ("-fold" if moment.fold else "")


@pytest.fixture(autouse=True)
def _company_zone(settings):
    settings.TIME_ZONE = "America/New_York"


# --- The period helpers (no database) ----------------------------------------------------------


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_period_of_a_moment_and_its_neighbours(moment):
    period = Period.containing(moment)
    local = moment.astimezone(NY)
    assert (period.year, period.month) == (local.year, local.month)
    last = calendar.monthrange(period.year, period.month)[1]
    assert period.first_day == dt.date(period.year, period.month, 1)
    assert period.last_day == dt.date(period.year, period.month, last)
    assert period.start <= moment < period.end
    assert period.next().first_day == _first_of(_index(period.year, period.month) + 1)
    assert period.previous().first_day == _first_of(_index(period.year, period.month) - 1)
    assert period.next().previous() == period
    # The end is the next month's local midnight, even across a DST change.
    assert period.end.astimezone(NY).replace(tzinfo=None) == dt.datetime.combine(
        period.next().first_day, dt.time()
    )
    # Its length in real time is an hour short in March and an hour long in November.
    utc = dt.UTC
    assert period.end.astimezone(utc) - period.start.astimezone(utc) == dt.timedelta(days=last) + (
        period.start.utcoffset() - period.end.utcoffset()
    )


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_last_n_months_has_exactly_n_consecutive_months(moment):
    day = moment.astimezone(NY).date()
    for count in (1, 2, 12, 13, 24):
        assert last_month_starts(day, count) == expected_window(day, count)
        assert [p.first_day for p in Period.containing(moment).last(count)] == expected_window(
            day, count
        )


def test_a_window_needs_at_least_one_month():
    with pytest.raises(ValueError):
        last_month_starts(dt.date(2026, 12, 1), 0)


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_months_before_keeps_the_local_time_and_clamps_the_day(moment):
    local = moment.astimezone(NY)
    for months in (1, 12, 13):
        earlier = months_before(moment, months)
        first = _first_of(_index(local.year, local.month) - months)
        last = calendar.monthrange(first.year, first.month)[1]
        assert earlier.date() == first.replace(day=min(local.day, last))
        assert earlier.time() == local.time()
        assert add_months(local.date(), -months) == earlier.date()


def test_leap_day_steps():
    assert add_months(dt.date(2028, 2, 29), 12) == dt.date(2029, 2, 28)
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 12, 1), -11) == dt.date(2026, 1, 1)


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_compliance_filter_offers_the_last_two_years(moment):
    day = moment.astimezone(NY).date()
    assert flag_periods(moment) == expected_window(day, FILTER_MONTHS)[::-1]


@pytest.mark.parametrize("moment", MOMENTS, ids=moment_id)
def test_income_disclosure_defaults_to_the_last_full_local_year(moment):
    assert default_disclosure_year(moment) == moment.astimezone(NY).year - 1


def test_new_years_eve_in_new_york_is_still_the_old_year():
    # 23:59:59 on 31 December 2027 in New York is already 2028 in UTC.
    moment = dt.datetime(2027, 12, 31, 23, 59, 59, tzinfo=NY)
    assert moment.astimezone(dt.UTC).year == 2028
    assert default_disclosure_year(moment) == 2026
    assert Period.containing(moment) == Period(2027, 12)


# --- Services with the database, the clock injected ---------------------------------------------


@pytest.mark.django_db
def test_team_statistics_window_is_twelve_months_at_every_edge():
    leader = make_distributor()
    at_window_start, before_window, today_member = (
        make_distributor(sponsor=leader) for _ in range(3)
    )
    leader.refresh_from_db()
    for moment in MOMENTS:
        today = moment.astimezone(NY).date()
        window = expected_window(today, 12)
        Distributor.objects.filter(pk=at_window_start.pk).update(joined_on=window[0])
        Distributor.objects.filter(pk=before_window.pk).update(
            joined_on=window[0] - dt.timedelta(days=1)
        )
        Distributor.objects.filter(pk=today_member.pk).update(joined_on=today)
        stats = team_stats(leader, today=today)
        assert [month for month, _ in stats.joins_per_month] == window, today
        counts = dict(stats.joins_per_month)
        assert (counts[window[0]], counts[window[-1]], sum(counts.values())) == (1, 1, 2), today
        assert stats.new_this_month == 1, today


@pytest.mark.django_db
def test_dashboard_history_and_month_so_far_at_every_edge():
    person = make_distributor()
    for moment in MOMENTS:
        period = Period.containing(moment)
        history = monthly_history(person, now=moment)
        assert len(history) == HISTORY_MONTHS
        assert [m.period.first_day for m in history] == expected_window(
            period.first_day, HISTORY_MONTHS
        )
        assert commission_calendar(moment).period == period
        assert month_progress(person, now=moment).period == period
        assert [v.period for v in volume_by_month(now=moment)] == [period.previous(), period]


@pytest.mark.django_db
def test_month_so_far_counts_the_first_and_last_second_of_the_local_month():
    for moment in (dt.datetime(2028, 2, 29, 23, 0, tzinfo=NY), *SPECIAL[5:]):
        person = make_distributor()
        period = Period.containing(moment)
        first_second = period.start
        last_second = period.end - dt.timedelta(seconds=1)
        buy(person, "10", paid_at=first_second)
        buy(person, "20", paid_at=last_second)
        buy(person, "40", paid_at=first_second - dt.timedelta(seconds=1))  # the month before
        arrays = period_line_arrays(period)
        days = sorted(
            dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
            for d, buyer in zip(arrays.paid_day, arrays.buyer_id, strict=True)
            if buyer == person.pk
        )
        # The fast-start window counts local days: the first and last day of the local month.
        assert days == [period.first_day, period.last_day]
        progress = month_progress(person, now=moment)
        assert progress.period == period
        assert progress.pv == 3000  # cents: 10 + 20 PV, never the 40 of the month before


@pytest.mark.django_db
def test_open_period_is_the_month_of_the_clock_at_every_edge():
    for moment in MOMENTS:
        row = open_period(moment)
        assert row.month == Period.containing(moment).first_day, moment


@pytest.mark.django_db
def test_buy_back_window_is_twelve_calendar_months():
    from orders.services import buy_back_eligible_lines

    person = make_distributor()
    now = dt.datetime(2028, 2, 29, 12, 0, tzinfo=NY)
    inside = buy(person, "10", paid_at=dt.datetime(2027, 2, 28, 12, 0, tzinfo=NY))
    buy(person, "10", paid_at=dt.datetime(2027, 2, 28, 11, 59, tzinfo=NY))
    eligible = set(
        buy_back_eligible_lines(distributor=person, now=now).values_list("id", flat=True)
    )
    assert eligible == {line.pk for line in inside.lines.all()}
    assert Decimal("10") == sum(line.pv for line in inside.lines.all())


@pytest.mark.parametrize("text", ["٢٠٢٦-٠٣", "2026-٠٣", "２０２６-03", "2026/03", "26-03", ""])
def test_a_period_is_written_in_ascii_digits_only(text):
    with pytest.raises(ValueError, match="a period is written YYYY-MM"):
        Period.parse(text)


def test_a_period_may_have_spaces_around_it():
    assert Period.parse(" 2026-3 ") == Period(2026, 3)
