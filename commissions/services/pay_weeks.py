"""Which pay week an order line's (or a refund line's) volume counts in: the month's rule, in
weeks. A line counts in the pay week in which its money moved while that week is open, else in
the first open week after it, and the week is stored on the line (``commission_week``) when it
is paid or refunded (``orders.commission_period.commission_week_for`` asks
``commission_week_for`` here), so a closed week's figures never change and a payment recorded
late, with a date inside a closed week, is paid in the next open week instead of never.

Only while the plan in force pays something weekly; lines paid before such a plan version was
stored get their weeks when it is (``assign_commission_weeks``, set-based).
"""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta
from django.db import connection

from core.periods import Week, company_zone
from orders.models import OrderLine, RefundLine

from ..calendar import commission_calendar
from ..models import LOCKED_STATUSES, CommissionPeriod, PlanVersion, Schedule
from .periods import locked_starts


def locked_weeks_from(first_day: dt.date) -> set[dt.date]:
    """First days of the closed (or paid) pay weeks from ``first_day`` on; on PostgreSQL the
    rows read are locked FOR SHARE until the payment commits, as the months'
    (``periods.locked_months_from``): a week cannot close while a payment is counted in it."""
    return set(locked_starts(Schedule.WEEKLY, first_day))


def _weekly_plan_on(day: dt.date):
    calendar = commission_calendar()  # the open month's plan, cached: most payments are in it
    if calendar.period.first_day <= day <= calendar.period.last_day:
        plan = calendar.plan
    else:
        version = PlanVersion.in_force(day)
        plan = version.plan if version is not None else None
    return plan.weekly if plan is not None else None


def commission_week_for(moment: dt.datetime) -> dt.date | None:
    """The first day of the pay week volume moved at ``moment`` counts in; None when the plan
    in force then pays nothing weekly."""
    weekly = _weekly_plan_on(moment.astimezone(company_zone()).date())
    if weekly is None:
        return None
    week = Week.containing(moment, weekly.week_starts)
    locked = locked_weeks_from(week.first_day)
    while week.first_day in locked:
        week = week.next()
    return week.first_day


def assign_commission_weeks(since: dt.date) -> int:
    """Give the paid order lines and the refund lines from ``since``'s month on that have no
    pay week yet theirs, under each plan version in force from then that pays weekly (one
    UPDATE per table and version on PostgreSQL); returns the lines updated."""
    start = since.replace(day=1)
    current = PlanVersion.in_force(start)
    versions = ([current] if current else []) + list(
        PlanVersion.objects.filter(effective_from__gt=start).order_by("effective_from", "id")
    )
    updated = 0
    for position, version in enumerate(versions):
        weekly = version.plan.weekly
        if weekly is None:
            continue
        begins = max(start, version.effective_from)
        ends = next(
            (v.effective_from for v in versions[position + 1 :] if v.effective_from > begins),
            None,
        )
        last_locked = (
            CommissionPeriod.every_schedule.filter(
                schedule=Schedule.WEEKLY, status__in=LOCKED_STATUSES
            )
            .order_by("-month")
            .values_list("month", flat=True)
            .first()
        )
        first_open = last_locked + relativedelta(days=7) if last_locked else None
        for model, moment in ((OrderLine, "paid_at"), (RefundLine, "refunded_at")):
            updated += _assign(model, moment, begins, ends, weekly.week_starts, first_open)
    return updated


def _bounds(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=company_zone())


def _assign(model, moment: str, begins, ends, week_starts: int, first_open) -> int:
    lines = model.objects.filter(
        commission_week__isnull=True,
        **{f"{moment}__isnull": False, f"{moment}__gte": _bounds(begins)},
    )
    if ends is not None:
        lines = lines.filter(**{f"{moment}__lt": _bounds(ends)})
    if connection.vendor == "postgresql":
        # The week's first day: the local date less its days since the plan's first weekday;
        # a closed week's lines go to the first open week (weeks close in order).
        sql, params = lines.values("id").query.sql_with_params()
        table = model._meta.db_table
        week = (
            f"(({moment} AT TIME ZONE %s)::date - "
            f"((EXTRACT(ISODOW FROM ({moment} AT TIME ZONE %s)::date)::int - 1 - %s + 7) %% 7))"
        )
        value = f"GREATEST({week}, %s::date)" if first_open else week
        extra = [str(company_zone()), str(company_zone()), week_starts]
        if first_open:
            extra.append(first_open)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET commission_week = {value} WHERE id IN ({sql})",  # noqa: S608
                [*extra, *params],
            )
            return cursor.rowcount
    by_week: dict[dt.date, list[int]] = {}
    for line_id, at in lines.values_list("id", moment):
        first_day = Week.containing(at, week_starts).first_day
        if first_open is not None:
            first_day = max(first_day, first_open)
        by_week.setdefault(first_day, []).append(line_id)
    count = 0
    for first_day, ids in by_week.items():
        for chunk in range(0, len(ids), 5_000):
            count += model.objects.filter(id__in=ids[chunk : chunk + 5_000]).update(
                commission_week=first_day
            )
    return count
