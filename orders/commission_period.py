"""The commission period an order's (or a refund's) volume counts in.

Rule (the standard one of commercial back offices): volume counts in the company-time-zone month
in which the money moved while that month is open; once the month is closed (its commissions
final), it counts in the first open month after it. The period is decided when the order is
paid (or the refund given) and stored on the rows (`commission_month`), so a closed month's
figures never change and the volume service reads one indexed column.

Pay weeks (a plan paying some kinds weekly) follow the same rule, stored as
`commission_week` (`commission_week_for`).

Which months are closed is the commissions app's knowledge, a layer above this one. It registers
a reader here when it loads (`register_locked_months_reader`, in `CommissionsConfig.ready`);
without one (the orders app alone) every month is open. The reader is called inside the
payment's transaction and may lock the rows it reads, so that a month cannot close while a
payment is being counted in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection

from core.periods import Period

LockedMonthsReader = Callable[[dt.date], Collection[dt.date]]
WeekReader = Callable[[dt.datetime], "dt.date | None"]

_reader: LockedMonthsReader | None = None
_week_reader: WeekReader | None = None


def register_locked_months_reader(reader: LockedMonthsReader | None) -> None:
    """Install the function that lists closed months (first days) from a given month on."""
    global _reader
    _reader = reader


def locked_months_from(first_day: dt.date) -> set[dt.date]:
    """First days of the closed (or paid) months from `first_day`'s month on."""
    return set(_reader(first_day)) if _reader is not None else set()


def commission_period_for(moment: dt.datetime) -> Period:
    """The period volume moved at `moment` counts in: its own month while that is open, else
    the first open month after it."""
    period = Period.containing(moment)
    locked = locked_months_from(period.first_day)
    while period.first_day in locked:
        period = period.next()
    return period


def register_week_reader(reader: WeekReader | None) -> None:
    """Install the function that names the pay week volume moved at a moment counts in (its
    first day; None when the plan pays nothing weekly)."""
    global _week_reader
    _week_reader = reader


def commission_week_for(moment: dt.datetime) -> dt.date | None:
    """The pay week (first day) volume moved at ``moment`` counts in, by the same rule as the
    month: its own week while that is open, else the first open week after it; None when
    nothing is paid weekly (or no reader is installed: the orders app alone)."""
    return _week_reader(moment) if _week_reader is not None else None
