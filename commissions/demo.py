"""Demo commission history for `seed_demo`: the demo plan, past months calculated, closed and
paid, and the newest finished month left for staff to calculate, close and export themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from core.periods import Period, Week

from .gather_week import week_row
from .models import PlanVersion
from .services.adjustments import adjustment_create
from .services.close import close_period, export_payouts
from .services.periods import closable_from, period_row
from .services.plans import plan_version_create
from .services.runs import calculate_period, refresh_projection
from .services.weeks import calculate_week, close_week, export_week_payouts

DEMO_PLANS = {
    "unilevel": Path(settings.BASE_DIR) / "plans" / "demo.yaml",
    # Binary + unilevel hybrid: the binary bonus on the placement tree beside a shorter unilevel.
    "hybrid": Path(settings.BASE_DIR) / "plans" / "hybrid.yaml",
    # The hybrid with the binary and fast start paid every week (pay weeks beside the months).
    "weekly": Path(settings.BASE_DIR) / "plans" / "weekly.yaml",
}
DEMO_PLAN = DEMO_PLANS["unilevel"]


def demo_plan_path() -> Path:
    """The plan file the demo loads: ``LADDER_DEMO_PLAN`` (``make run``'s environment)."""
    return DEMO_PLANS[settings.LADDER_DEMO_PLAN]


def ready_period(now: dt.datetime) -> Period:
    """The newest month that may be closed at `now`: it has ended and its grace period for late
    payments (`LADDER_CLOSE_GRACE_HOURS`, the close service's rule) has passed."""
    period = Period.current(now).previous()
    while closable_from(period) > now:
        period = period.previous()
    return period


def seed_commission_history(
    *,
    months: int = 2,
    now: dt.datetime | None = None,
    first_order_period: Period | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Load the demo plan (if no version exists); calculate, close and pay the `months` months
    before the ready month (`ready_period`), never before `first_order_period`; leave the ready
    month ended, open and uncalculated, so staff can calculate, close and export it; give the
    current month a projection. Call after orders are seeded.

    Returns the closed periods' names and the ready period (None when it had to be closed).
    """
    now = now or timezone.now()
    ready = ready_period(now)
    closing = [ready.shifted(back - months) for back in range(months)]
    if first_order_period is not None:
        closing = [period for period in closing if period >= first_order_period]
        if not closing and months and ready >= first_order_period:
            # Too short a history (a million people get two months of orders): close the
            # finished month itself, so statements, payouts and the disclosure have a month.
            closing, ready = [ready], None
    if not PlanVersion.objects.exists():
        path = demo_plan_path()
        plan_version_create(
            source=path.read_text(encoding="utf-8"),
            effective_from=(closing[0] if closing else ready).first_day,
            note=f"Demo plan (plans/{path.name})",
        )
    done = []
    for period in closing:
        row = period_row(period)
        if row.is_locked:
            continue
        run = calculate_period(period=period)
        close_period(period=period, verify_inputs=False, now=now)
        export_payouts(period=period)
        progress(f"commissions {period}: paid {run.summary['total_paid'] / 100:,.2f}")
        done.append(str(period))
    weeks = _seed_weeks(
        start=(closing[0] if closing else ready or Period.current(now)).first_day,
        now=now,
        progress=progress,
    )
    refresh_projection(now=now)
    if ready is not None:
        progress(f"commissions {ready}: ended and open, ready to calculate, close and export")
    return {"periods": done, "ready": ready, **weeks}


def _seed_weeks(*, start: dt.date, now: dt.datetime, progress: Callable[[str], None]) -> dict:
    """When the plan pays weekly: every pay week from ``start`` that may be closed by ``now``
    is calculated, closed and paid, but the newest, which is calculated and left for staff to
    close and export (after the months: a week takes its ranks from the latest closed month)."""
    version = PlanVersion.in_force(start)
    if version is None or version.plan.weekly is None:
        return {}
    week = Week.starting(start, version.plan.weekly.week_starts)
    if week.first_day < start:
        week = week.next()
    closable = []
    while closable_from(week) <= now:
        closable.append(week)
        week = week.next()
    done = []
    for week in closable[:-1]:
        if week_row(week).is_locked:
            continue
        run = calculate_week(week=week)
        close_week(week=week, verify_inputs=False, now=now)
        export_week_payouts(week=week)
        progress(f"commissions {week}: paid {run.summary['total_paid'] / 100:,.2f}")
        done.append(str(week))
    ready = None
    if closable and not week_row(closable[-1]).is_locked:
        ready = closable[-1]
        calculate_week(week=ready)
        progress(f"commissions {ready}: calculated, ready to close and export")
    return {"weeks": done, "ready_week": ready}


def seed_pending_adjustment(*, distributor, by, now: dt.datetime | None = None):
    """A manual adjustment above the approval threshold in the open month, created by one staff
    member and waiting for a second one's approval."""
    amount = max(Decimal("750.00"), Decimal(settings.LADDER_ADJUSTMENT_APPROVAL_THRESHOLD) + 250)
    return adjustment_create(
        distributor=distributor,
        amount=amount,
        reason="Trade show travel allowance (demo: a second staff member approves it)",
        by=by,
        period=Period.current(now),
    )
