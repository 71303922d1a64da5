"""Which pay week an order line's (or a refund line's) volume counts in: the month's rule, in
weeks. A line counts in the pay week in which its money moved while that week is open, else in
the first open week after it, and the week is stored on the line (``commission_week``) when it
is paid or refunded (``orders.commission_period.commission_week_for`` asks
``commission_week_for`` here), so a closed week's figures never change and a payment recorded
late, with a date inside a closed week, is paid in the next open week instead of never.

Only while the plan in force pays something weekly. Lines paid before such a plan version was
stored have no week (rewriting millions of lines would take minutes): a week counts them by
their payment moment (``gather_week``), which is the same week, as no week can have closed
before a weekly plan version existed.
"""

from __future__ import annotations

import datetime as dt

from core.periods import Week, company_zone

from ..calendar import commission_calendar
from ..models import PlanVersion, Schedule
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
