"""Weekly pay: calculate, close and pay out a pay week's weekly kinds (``engine/schedules.py``).

A week goes open → calculated → closed → paid like a month, with its own runs, results,
ledger lines, balances (carried from week to week) and minimum payout; its inputs are
``gather_week``'s. Refunds recorded after a week closed are clawed back in the open week they
fall in (``sync_week_clawbacks``).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from core.periods import Week
from genealogy.models import Placement

from ..binary_clawbacks import write_binary_clawbacks
from ..engine.schedules import WEEKLY, plan_for_schedule
from ..errors import CommissionError
from ..gather_week import (
    gather_week,
    previous_week_run,
    week_clawback_candidates,
    week_row,
    weekly_version,
)
from ..models import (
    Clawback,
    CommissionPeriod,
    CommissionRun,
    LineKind,
    RunPurpose,
    Schedule,
)
from .clawbacks import _RunClawbacks
from .close import Closing, close_row, export_row_payouts
from .periods import RUN_LOCK_CLASS, period_lock
from .runs import Progress, _calculate_locked


def current_week(now: dt.datetime | None = None) -> Week:
    """The pay week containing ``now`` under the plan in force (Monday weeks without one)."""
    moment = now or timezone.now()
    version = weekly_version(Week.containing(moment))
    return Week.containing(moment, version.plan.weekly.week_starts)


def calculate_week(
    *,
    week: Week,
    by=None,
    run: CommissionRun | None = None,
    progress: Progress | None = None,
) -> CommissionRun:
    """Calculate the week's weekly kinds (a preview until it closes); safe to call again."""
    if connection.in_atomic_block:
        raise CommissionError("calculate_week commits as it goes: call it outside a transaction")
    version = weekly_version(week)
    if week.week_starts != version.plan.weekly.week_starts:
        raise CommissionError(
            f"The plan's pay weeks start on a {version.plan.weekly.week_starts_name}: "
            f"{week.first_day} is not the first day of one."
        )
    row = week_row(week)
    with period_lock(week, lock_class=RUN_LOCK_CLASS):
        return _calculate_locked(
            period=week,
            by=by,
            purpose=RunPurpose.CALCULATION,
            run=run,
            progress=progress,
            row=row,
            read_inputs=lambda: gather_week(week),
            sync=lambda: sync_week_clawbacks(week=week),
        )


def close_week(
    *, week: Week, by=None, verify_inputs: bool = True, now: dt.datetime | None = None
) -> CommissionPeriod:
    """Make the week's current run final, by the month's rules (``close.close_row``): refused
    before the week has ended plus the close grace, while earlier weeks are open, when the
    balances carried in changed, and when the inputs changed since the run."""
    return close_row(
        week,
        Closing(
            row=lambda: week_row(week),
            previous_run=lambda: previous_week_run(week),
            sync_clawbacks=lambda: sync_week_clawbacks(week=week),
            gather=lambda version: gather_week(week, plan_version=version),
        ),
        by=by,
        verify_inputs=verify_inputs,
        now=now,
    )


def export_week_payouts(*, week: Week, by=None) -> bytes:
    """The payout CSV of a closed week (the month's format); marks the week paid."""
    row = CommissionPeriod.every_schedule.filter(
        schedule=Schedule.WEEKLY, month=week.first_day
    ).first()
    if row is None:
        raise CommissionError(f"There is no pay {week}: nothing was calculated for it.")
    return export_row_payouts(row, by=by)


def sync_week_clawbacks(*, week: Week) -> int:
    """Clawbacks, into ``week``, of the refunds recorded in it of lines an earlier, closed week
    paid on and did not net (``gather_week.week_clawback_candidates``): exactly what those lines
    paid, never more (``clawbacks._RunClawbacks``, the month's rule), and, when the binary is
    paid weekly, its share of the pairings the volume made (``binary_clawbacks``). Idempotent
    like the month's (one row per refund line, earner, kind and level)."""
    row = week_row(week)
    if row.is_locked:
        return 0
    found = week_clawback_candidates(week)
    if not found:
        return 0
    created: list[Clawback] = []
    for original, refunds in found:
        done = set(
            Clawback.objects.filter(
                original_period=original, refund_line_id__in=[r["id"] for r in refunds]
            )
            .exclude(kind=LineKind.BINARY)  # the binary's own rows
            .values_list("refund_line_id", flat=True)
        )
        todo = [r for r in refunds if r["id"] not in done]
        if todo:
            created.extend(_RunClawbacks(row, original).for_refunds(todo))
    Clawback.objects.bulk_create(created, ignore_conflicts=True)
    count = len(created)
    version = weekly_version(week)
    if "binary" in version.plan.weekly.kinds and Placement.objects.exists():
        count += write_binary_clawbacks(
            row=row,
            plan=plan_for_schedule(version.plan, WEEKLY),
            period=week,
            candidates=[refund for _, refunds in found for refund in refunds],
            prior=previous_week_run(week),
            moment=min(week.end, timezone.now()),
        )
    return count
