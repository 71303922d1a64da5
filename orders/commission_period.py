"""The commission period an order's (or a refund's) volume counts in.

Rule (the standard one of commercial back offices): volume counts in the company-time-zone month
in which the money moved while that month is open; once the month is closed (its commissions
final), it counts in the first open month after it. The period is decided when the order is
paid (or the refund given) and stored on the rows (`commission_month`), so a closed month's
figures never change and the volume service reads one indexed column.

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

_reader: LockedMonthsReader | None = None


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
