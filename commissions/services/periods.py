"""Periods: the row of a month, when it may close, the open period and the advisory lock
that lets one calculation (or close) of a period run at a time."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.conf import settings
from django.db import connection

from core.locks import try_advisory_lock
from core.periods import Period, Week

from ..errors import RunInProgress
from ..models import LOCKED_STATUSES, CommissionPeriod, CommissionRun, RunStatus, Schedule

RUN_LOCK_CLASS = 0x1ADC  # advisory lock namespace: (class, yyyymm) for runs and close
PROJECTION_LOCK_CLASS = 0x1ADD
WEEK_LOCK_OFFSET = 0x100  # a week's locks: their own classes, keyed by the first day's ordinal


def closable_from(period: Period) -> dt.datetime:
    """The first moment ``period`` may be closed: its end plus ``LADDER_CLOSE_GRACE_HOURS``,
    counted on the company's wall clock (a 72-hour grace ends at midnight on the 4th whatever
    daylight-saving change falls in between), so payments recorded late for it still count."""
    hours = settings.LADDER_CLOSE_GRACE_HOURS
    return period.end + dt.timedelta(hours=hours)


def locked_months_from(first_day: dt.date) -> list[dt.date]:
    """First days of the closed (or paid) months from ``first_day`` on.

    The orders app asks this (through ``orders.commission_period``) when it pays an order or
    gives a refund, to find the period the volume counts in. On PostgreSQL the period rows read
    are locked FOR SHARE until the payment commits: ``close_period`` takes the row FOR UPDATE
    before it verifies the inputs, so a payment either lands before the close (and the close
    sees it and refuses) or waits and then sees the month closed. Payments never block each
    other (shared locks)."""
    return locked_starts(Schedule.MONTHLY, first_day)


def locked_starts(schedule: str, first_day: dt.date) -> list[dt.date]:
    """First days of the closed (or paid) periods of ``schedule`` from ``first_day`` on, the
    rows read locked FOR SHARE on PostgreSQL (``locked_months_from``)."""
    if connection.vendor != "postgresql":
        return list(
            CommissionPeriod.every_schedule.filter(
                schedule=schedule, month__gte=first_day, status__in=LOCKED_STATUSES
            ).values_list("month", flat=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT month, status FROM commissions_commissionperiod "
            "WHERE schedule = %s AND month >= %s ORDER BY month FOR SHARE",
            [schedule, first_day],
        )
        return [month for month, status in cursor.fetchall() if status in LOCKED_STATUSES]


def period_row(period: Period) -> CommissionPeriod:
    row, _ = CommissionPeriod.objects.get_or_create(month=period.first_day)
    return row


def open_period(now: dt.datetime | None = None) -> CommissionPeriod:
    """The period new adjustments and clawbacks go to: the current month (never a closed one)."""
    period = Period.current(now)
    row = period_row(period)
    while row.is_locked:  # only if a month was closed early; move on to the next
        period = period.next()
        row = period_row(period)
    return row


def _lock_key(period: Period | Week, lock_class: int) -> tuple[int, int]:
    """(class, key): a month by yyyymm, a week by its first day's ordinal in its own class."""
    if isinstance(period, Week):
        return lock_class + WEEK_LOCK_OFFSET, period.first_day.toordinal()
    return lock_class, period.year * 100 + period.month


@contextlib.contextmanager
def period_lock(period: Period | Week, *, lock_class: int = RUN_LOCK_CLASS) -> Iterator[None]:
    """Hold the period's session advisory lock, or refuse at once (PostgreSQL only)."""
    with try_advisory_lock(*_lock_key(period, lock_class)) as granted:
        if not granted:
            schedule = Schedule.WEEKLY if isinstance(period, Week) else Schedule.MONTHLY
            running = (
                CommissionRun.objects.filter(
                    period__schedule=schedule,
                    period__month=period.first_day,
                    status__in=[RunStatus.RUNNING],
                )
                .order_by("-id")
                .first()
            )
            detail = f" (run #{running.pk}, {running.progress} %)" if running else ""
            raise RunInProgress(
                f"Commissions for {period} are being calculated or closed right now{detail}: "
                "wait for that to finish, then try again."
            )
        yield
