"""Close a period (its current run becomes the final ledger) and export its payouts."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.csv import safe_csv_writer
from core.money import cents_to_decimal, to_cents
from core.periods import Period, Week
from genealogy.models import Distributor

from ..errors import CommissionError
from ..gather import Gathered, gather, previous_run
from ..models import (
    Adjustment,
    AdjustmentStatus,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    PeriodStatus,
    PlanVersion,
)
from .clawbacks import sync_clawbacks
from .periods import closable_from, period_lock, period_row

logger = logging.getLogger(__name__)


def close_period(
    *, period: Period, by=None, verify_inputs: bool = True, now: dt.datetime | None = None
) -> CommissionPeriod:
    """Make the current run final: its results become the immutable ledger of the period.

    Refused before the month has ended plus the grace period (``closable_from``; ``now`` is the
    clock, default the real one), while a run is going, when earlier periods are still open,
    when adjustments wait for approval, and (``verify_inputs``) when the inputs changed since
    the run was calculated. Calculating stays allowed at any time.
    """
    return close_row(
        period,
        Closing(
            row=lambda: period_row(period),
            previous_run=lambda: previous_run(period),
            sync_clawbacks=lambda: sync_clawbacks(period=period),
            gather=lambda version: gather(period, plan_version=version),
        ),
        by=by,
        verify_inputs=verify_inputs,
        now=now,
    )


@dataclass(frozen=True)
class Closing:
    """What closing a month and a pay week differ in: how the row, the run whose balances carry
    in, the clawbacks and the inputs are found."""

    row: Callable[[], CommissionPeriod]
    previous_run: Callable[[], CommissionRun | None]
    sync_clawbacks: Callable[[], int]
    gather: Callable[[PlanVersion], Gathered]


def close_row(
    period: Period | Week,
    closing: Closing,
    *,
    by=None,
    verify_inputs: bool = True,
    now: dt.datetime | None = None,
) -> CommissionPeriod:
    """``close_period``'s rules for a month or a pay week (``services.weeks.close_week``)."""
    weekly = isinstance(period, Week)
    noun = "week" if weekly else "month"
    now = now or timezone.now()
    opens = closable_from(period)
    if now < opens:
        local = opens.astimezone(period.start.tzinfo)
        raise CommissionError(
            f"{period} cannot be closed before {local:%Y-%m-%d %H:%M} ({local.tzname()}): the "
            f"{noun} must have ended and the grace period for late payments "
            f"(LADDER_CLOSE_GRACE_HOURS = {settings.LADDER_CLOSE_GRACE_HOURS}) have passed. "
            "Calculating a preview is allowed meanwhile."
        )
    with period_lock(period):
        row = closing.row()
        if row.is_locked:
            raise CommissionError(f"{period} is already {row.get_status_display().lower()}.")
        run = row.current_run
        if row.status != PeriodStatus.CALCULATED or run is None:
            raise CommissionError(f"{period} has not been calculated yet: calculate it first.")
        earlier_open = CommissionPeriod.every_schedule.filter(
            schedule=row.schedule,
            month__lt=row.month,
            status__in=[PeriodStatus.OPEN, PeriodStatus.CALCULATED],
        ).exclude(current_run__isnull=True)
        if earlier_open.exists():
            names = ", ".join(
                f"{p.month:%Y-%m-%d}" if weekly else f"{p.month:%Y-%m}" for p in earlier_open
            )
            raise CommissionError(f"Close the earlier {noun}s first: {names}.")
        prior = closing.previous_run()
        if (prior.pk if prior else None) != run.summary.get("prior_run_id"):
            raise CommissionError(
                "The balances carried in have changed since this run: calculate it again."
            )
        pending = Adjustment.objects.filter(period=row, status=AdjustmentStatus.PENDING).count()
        if pending:
            raise CommissionError(
                f"{pending} adjustment(s) of {period} wait for approval: approve or reject them "
                "before closing."
            )
        if verify_inputs:
            closing.sync_clawbacks()
        with transaction.atomic(durable=True):
            # Locked before the inputs are verified: a payment counting in this period holds
            # the row FOR SHARE (``locked_months_from``, ``pay_weeks.locked_weeks_from``), so it
            # is either in the inputs compared below or waits and then counts in the next one.
            row = CommissionPeriod.every_schedule.select_for_update().get(pk=row.pk)
            if verify_inputs:
                fresh = closing.gather(run.plan_version)
                if fresh.input_hash != run.input_hash:
                    raise CommissionError(
                        f"The inputs of {period} changed since run #{run.pk} (orders, refunds, "
                        "the tree, holds, adjustments or clawbacks): calculate again and review "
                        "before closing."
                    )
            CommissionRun.objects.filter(pk=run.pk).update(is_final=True)
            row.status = PeriodStatus.CLOSED
            row.closed_at = now
            row.closed_by = by
            row.save()
        return row


def payout_rows(row: CommissionPeriod) -> list[tuple[int, str, Decimal, str, str]]:
    """(distributor number, name, amount, payout method, payout account) of every payable
    balance, by number; people who have not chosen a method get the company's default."""
    results = (
        DistributorResult.objects.filter(run_id=row.current_run_id, payable__gt=0)
        .values_list("distributor_id", "payable")
        .order_by("distributor_id")
    )
    payable = dict(results)
    people = (
        Distributor.objects.filter(pk__in=list(payable))
        .values_list("pk", "number", "user__name", "user__email", "payout_method", "payout_account")
        .order_by("number")
    )
    default = settings.LADDER_PAYOUT_METHOD
    return [
        (
            number,
            name or email,
            cents_to_decimal(payable[pk]),
            method or default,
            account,
        )
        for pk, number, name, email, method, account in people
    ]


def export_payouts(*, period: Period, by=None) -> bytes:
    """The payout CSV of a closed period (deterministic bytes); marks the period paid.

    Each person's payout method and account are read when the file is written, so a re-export
    after someone changed them differs from the first (and says so in the log)."""
    return export_row_payouts(period_row(period), by=by)


def export_row_payouts(row: CommissionPeriod, *, by=None) -> bytes:
    """``export_payouts`` of any schedule's period row (a month's, or a week's)."""
    period = row.period
    if row.status not in (PeriodStatus.CLOSED, PeriodStatus.PAID):
        raise CommissionError(f"{period} is not closed: close it before exporting payouts.")
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)  # finance opens it: no cell starts like a formula
    writer.writerow(
        ["distributor_number", "name", "amount", "currency", "payout_method", "payout_account"]
    )
    total = Decimal("0.00")
    for number, name, amount, method, account in payout_rows(row):
        writer.writerow([number, name, amount, settings.LADDER_CURRENCY, method, account])
        total += amount
    data = buffer.getvalue().encode()
    digest = hashlib.sha256(data).hexdigest()
    if row.status == PeriodStatus.CLOSED:
        with transaction.atomic():
            locked = CommissionPeriod.every_schedule.select_for_update().get(pk=row.pk)
            locked.status = PeriodStatus.PAID
            locked.paid_at = timezone.now()
            locked.paid_by = by
            locked.export_sha256 = digest
            locked.export_total = to_cents(total)
            locked.save()
    elif digest != row.export_sha256:
        logger.warning("payout export of %s differs from the first export", period)
    return data
