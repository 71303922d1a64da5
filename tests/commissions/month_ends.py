"""Month-end helpers for the rank grace, override and late-refund tests: buy, calculate and
close months in order with the injected clock (``tests/clock.py``)."""

from __future__ import annotations

import datetime as dt

from commissions.models import DistributorResult
from commissions.services.close import close_period
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from core.periods import Period

JANUARY = Period(2026, 1)
FEBRUARY = Period(2026, 2)
MARCH = Period(2026, 3)

# Member needs 100 PV; Gold 100 PV and 250 GV; both unlock one unilevel level.
MEMBER_AND_GOLD = [
    {"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 1},
    {
        "code": "gold",
        "name": "Gold",
        "personal_pv": "100",
        "group_volume": "250",
        "unilevel_levels": 1,
    },
]


def mid_month(period: Period) -> dt.datetime:
    """The 10th at 15:00 UTC: inside the month in any company time zone."""
    return dt.datetime(period.year, period.month, 10, 15, 0, tzinfo=dt.UTC)


def calculate_and_close(period: Period, clock) -> None:
    """Five days after the month's end (past the 72-hour close grace): calculate and close."""
    clock.set(period.end + dt.timedelta(days=5))
    calculate_period(period=period)
    close_period(period=period, now=clock.moment)


def result_of(period: Period, distributor) -> DistributorResult:
    return DistributorResult.objects.get(
        run=period_row(period).current_run, distributor=distributor
    )
