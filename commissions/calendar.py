"""The commission calendar every page shares: the open month's plan version and projection run,
and the latest closed months.

Each distributor page needs it and it is the same for everyone, so it is read once and kept in
the cache until something in it changes: a saved period, run or plan version (signals, below),
or one of the few bulk updates that skip signals (they call ``calendar_changed``). The entry is
dropped at once and again when the transaction commits, so a page rendered in between cannot
keep the old calendar; ``CALENDAR_SECONDS`` bounds any change this misses (a delete made while
Redis is down included: the cache then answers a miss, and the calendar is read every time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from core.periods import Period

from .engine.plan import Plan
from .models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    CommissionRun,
    PlanVersion,
    parsed_plan,
)

CALENDAR_KEY = "commissions:calendar"
CALENDAR_SECONDS = 60
RECENT_LOCKED = 3

LockedPeriod = tuple[dt.date, str, int]  # month, status, final run


@dataclass(frozen=True)
class CommissionCalendar:
    period: Period  # the open month
    plan_version_id: int | None  # in force for the open month
    plan_document: str | None  # its document as JSON text (parsed once per process)
    projection_run: CommissionRun | None  # the open month's projection, if any
    locked_periods: tuple[LockedPeriod, ...]  # the latest closed or paid months, newest first

    @property
    def plan(self) -> Plan | None:
        return None if self.plan_document is None else parsed_plan(self.plan_document)


def read_calendar(period: Period) -> CommissionCalendar:
    """The calendar from the database (three queries)."""
    version = PlanVersion.in_force(period.first_day)
    row = (
        CommissionPeriod.objects.filter(month=period.first_day, projection_run__isnull=False)
        .exclude(status__in=LOCKED_STATUSES)
        .select_related("projection_run")
        .first()
    )
    locked = CommissionPeriod.objects.filter(
        status__in=LOCKED_STATUSES, current_run__isnull=False
    ).order_by("-month")
    return CommissionCalendar(
        period=period,
        plan_version_id=version.pk if version else None,
        plan_document=version.document_json if version else None,
        projection_run=row.projection_run if row else None,
        locked_periods=tuple(
            locked.values_list("month", "status", "current_run_id")[:RECENT_LOCKED]
        ),
    )


def commission_calendar(now: dt.datetime | None = None) -> CommissionCalendar:
    """The calendar of the month containing ``now``: from the cache, or read and cached."""
    period = Period.current(now or timezone.now())
    calendar = cache.get(CALENDAR_KEY)
    if calendar is None or calendar.period != period:
        calendar = read_calendar(period)
        cache.set(CALENDAR_KEY, calendar, CALENDAR_SECONDS)
    return calendar


def calendar_changed() -> None:
    cache.delete(CALENDAR_KEY)
    transaction.on_commit(lambda: cache.delete(CALENDAR_KEY))


@receiver(post_save, sender=CommissionPeriod)
@receiver(post_save, sender=CommissionRun)
@receiver(post_save, sender=PlanVersion)
def _calendar_row_saved(sender, **kwargs) -> None:
    calendar_changed()
