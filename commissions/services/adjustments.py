"""Adjustments (manual lines, with a second staff member's approval beyond a threshold) and
holds (a distributor's balance carried, then released or forfeited)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.money import to_cents
from core.periods import Period
from genealogy.models import Distributor

from ..errors import CommissionError
from ..models import (
    Adjustment,
    AdjustmentStatus,
    CommissionPeriod,
    DistributorResult,
    Hold,
    HoldStatus,
    PeriodStatus,
)
from .periods import open_period, period_row


def _amount_in_cents(amount: Decimal | int | str) -> int:
    try:
        return to_cents(amount)
    except (TypeError, ValueError) as error:
        raise CommissionError(str(error)) from error


def approval_threshold() -> int:
    return to_cents(settings.LADDER_ADJUSTMENT_APPROVAL_THRESHOLD)


def adjustments_on_own_authority(*, distributor_id: int, period: CommissionPeriod, by) -> int:
    """Cents (signs ignored) one staff member has put in ``period`` for one distributor with
    nobody else deciding: every adjustment they created there that is not rejected.

    The approval threshold applies to this total, not to each adjustment, so several
    adjustments just under it cannot pay any amount with one person."""
    rows = Adjustment.objects.filter(
        period=period, distributor_id=distributor_id, created_by=by, is_forfeiture=False
    ).exclude(status=AdjustmentStatus.REJECTED)
    return sum(abs(amount) for amount in rows.values_list("amount", flat=True))


def adjustment_create(
    *,
    distributor: Distributor,
    amount: Decimal,
    reason: str,
    by,
    period: Period | None = None,
    now: dt.datetime | None = None,
) -> Adjustment:
    """A manual line in an open period. It counts at once while the creator's total for this
    distributor in this period (``adjustments_on_own_authority``, this one included) stays
    within the threshold; beyond it, it waits for a second staff member's approval."""
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("An adjustment needs a reason.")
    cents = _amount_in_cents(amount)
    if cents == 0:
        raise CommissionError("An adjustment of 0.00 changes nothing.")
    row = period_row(period) if period else open_period(now)
    with transaction.atomic():
        # One creator's adjustments in a period are counted one at a time (two at once would
        # each see the other's total missing); closing the period takes the same lock.
        row = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
        if row.is_locked:
            raise CommissionError(f"{row.period} is closed: add the adjustment to an open period.")
        total = abs(cents)
        if by is not None:
            total += adjustments_on_own_authority(distributor_id=distributor.pk, period=row, by=by)
        needs_approval = total > approval_threshold()
        return Adjustment.objects.create(
            period=row,
            distributor=distributor,
            amount=cents,
            reason=reason,
            created_by=by,
            status=AdjustmentStatus.PENDING if needs_approval else AdjustmentStatus.APPROVED,
        )


def _decide(adjustment: Adjustment, *, by, status: str, note: str) -> Adjustment:
    with transaction.atomic():
        locked = (
            Adjustment.objects.select_for_update().select_related("period").get(pk=adjustment.pk)
        )
        if locked.status != AdjustmentStatus.PENDING:
            raise CommissionError(
                f"This adjustment is already {locked.get_status_display().lower()}."
            )
        if by is None:
            raise CommissionError("A staff member must decide, by name.")
        if locked.created_by_id == by.pk:
            raise CommissionError("A second staff member must decide: you created this adjustment.")
        if locked.period.is_locked:
            raise CommissionError(f"{locked.period} is closed.")
        locked.status, locked.decided_by, locked.decided_at = status, by, timezone.now()
        locked.decision_note = note
        locked.save()
        return locked


def adjustment_approve(*, adjustment: Adjustment, by, note: str = "") -> Adjustment:
    return _decide(adjustment, by=by, status=AdjustmentStatus.APPROVED, note=note)


def adjustment_reject(*, adjustment: Adjustment, by, note: str = "") -> Adjustment:
    return _decide(adjustment, by=by, status=AdjustmentStatus.REJECTED, note=note)


# --- Holds ------------------------------------------------------------------------------------


def hold_place(*, distributor: Distributor, reason: str, by) -> Hold:
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("A hold needs a reason.")
    if Hold.objects.filter(distributor=distributor, status=HoldStatus.ACTIVE).exists():
        raise CommissionError(f"{distributor} is already on hold.")
    return Hold.objects.create(distributor=distributor, reason=reason, placed_by=by)


def _end_hold(hold: Hold, *, status: str, reason: str, by) -> Hold:
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("Say why the hold ends.")
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.status != HoldStatus.ACTIVE:
        raise CommissionError("This hold has already ended.")
    locked.status, locked.end_reason = status, reason
    locked.ended_by, locked.ended_at = by, timezone.now()
    return locked


def hold_release(*, hold: Hold, reason: str, by) -> Hold:
    """End the hold: the carried balance is paid with the next closed period."""
    with transaction.atomic():
        locked = _end_hold(hold, status=HoldStatus.RELEASED, reason=reason, by=by)
        locked.save()
        return locked


def held_balance(distributor_id: int) -> int:
    """Cents carried into the open period: the last closed period's carried_out."""
    row = (
        CommissionPeriod.objects.filter(status__in=[PeriodStatus.CLOSED, PeriodStatus.PAID])
        .order_by("-month")
        .first()
    )
    if row is None:
        return 0
    result = DistributorResult.objects.filter(
        run_id=row.current_run_id, distributor_id=distributor_id
    ).first()
    return result.carried_out if result else 0


def hold_forfeit(*, hold: Hold, reason: str, by, now: dt.datetime | None = None) -> Hold:
    """End the hold and forfeit the held balance: a negative adjustment in the open period."""
    with transaction.atomic():
        locked = _end_hold(hold, status=HoldStatus.FORFEITED, reason=reason, by=by)
        balance = held_balance(locked.distributor_id)
        if balance > 0:
            locked.forfeiture = Adjustment.objects.create(
                period=open_period(now),
                distributor_id=locked.distributor_id,
                amount=-balance,
                reason=f"Held balance forfeited: {locked.end_reason}",
                is_forfeiture=True,
                created_by=by,
                status=AdjustmentStatus.APPROVED,
            )
        locked.save()
        return locked
