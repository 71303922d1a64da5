"""Clawbacks: the lines that take back what a refund of a closed period's order undid."""

from __future__ import annotations

from core.money import to_cents
from core.periods import Period

from ..engine.clawbacks import CappedLine, PaidLine, Refund, refund_clawbacks
from ..gather import clawback_candidates, closed_months
from ..models import (
    Clawback,
    CommissionLine,
    CommissionPeriod,
    DistributorResult,
    LineKind,
)
from ..selectors import frozen_chain
from .periods import period_row


def sync_clawbacks(*, period: Period) -> int:
    """Create the clawback lines of every refund in ``period`` of a closed period's order.

    Idempotent: one row per (refund line, earner, kind, level), guarded by a unique constraint;
    run as part of every calculation of the period. Returns the rows created.
    """
    row = period_row(period)
    if row.is_locked:
        return 0
    closed = closed_months()
    candidates = clawback_candidates(period, closed)
    if not candidates:
        return 0
    done = set(
        Clawback.objects.filter(refund_line_id__in=[c["id"] for c in candidates]).values_list(
            "refund_line_id", flat=True
        )
    )
    created: list[Clawback] = []
    for refund in candidates:
        if refund["id"] in done:
            continue
        original = CommissionPeriod.objects.get(month=refund["order_commission_month"])
        created.extend(_clawbacks_for_refund(row, original, refund))
    Clawback.objects.bulk_create(created, ignore_conflicts=True)
    return len(created)


def _clawbacks_for_refund(
    row: CommissionPeriod, original: CommissionPeriod, refund: dict
) -> list[Clawback]:
    """Read what the original run paid on the refunded order line (and its buyer's CV) and let
    the engine work out what comes back (``engine.clawbacks``: the compression walk over the
    frozen chain, the plan's rounding mode and rounding point)."""
    run = original.current_run
    plan = run.plan_version.plan
    buyer = refund["distributor_id"]
    source = DistributorResult.objects.filter(run=run, distributor_id=buyer).first()
    chain = frozen_chain(run.pk, buyer, plan) if source is not None and source.cv > 0 else []
    uplines = [upline.distributor_id for upline in chain]
    unilevel: dict[tuple[int, int], CappedLine] = {}
    matching: list[PaidLine] = []
    if uplines:
        for earner, level, amount, before_cap in CommissionLine.objects.filter(
            run=run, kind=LineKind.UNILEVEL, earner_id__in=uplines
        ).values_list("earner_id", "level", "amount", "amount_before_cap"):
            unilevel.setdefault((earner, level), CappedLine(amount, before_cap))
        matching = [
            PaidLine(line.earner_id, line.kind, line.level, line.base, line.amount, line.source_id)
            for line in CommissionLine.objects.filter(
                run=run, kind=LineKind.MATCHING, source_id__in=uplines
            )
        ]
    order_lines = [
        PaidLine(line.earner_id, line.kind, line.level, line.base, line.amount)
        for line in CommissionLine.objects.filter(
            run=run,
            source_line_id=refund["order_line_id"],
            kind__in=[LineKind.FAST_START, LineKind.RETAIL_PROFIT],
        )
    ]
    lines = refund_clawbacks(
        plan,
        Refund(
            cv=to_cents(refund["cv"]),
            retail_profit=to_cents(refund["retail_profit"]),
            source_cv=source.cv if source is not None else 0,
            chain=chain,
        ),
        unilevel_lines=unilevel,
        matching_lines=matching,
        order_lines=order_lines,
    )
    return [
        Clawback(
            period=row,
            refund_line_id=refund["id"],
            original_period=original,
            earner_id=line.earner,
            kind=line.kind,
            level=line.level,
            source_id=buyer,
            refunded_base=line.refunded_base,
            original_base=line.original_base,
            original_amount=line.original_amount,
            amount=line.amount,
        )
        for line in lines
    ]
