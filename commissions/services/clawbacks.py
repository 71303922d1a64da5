"""Clawbacks: the lines that take back what a refund of a closed period's order undid."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from django.db.models import Sum

from core.money import to_cents
from core.periods import Period
from orders.models import OrderLine, RefundLine

from ..binary_clawbacks import sync_binary_clawbacks
from ..engine.clawbacks import SOURCE_KINDS, CappedLine, PaidLine, Refund, refund_clawbacks
from ..engine.explain import Upline
from ..engine.plan import Plan
from ..gather import clawback_candidates, closed_months
from ..models import (
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    LineKind,
    Schedule,
)
from ..selectors import frozen_chains
from .periods import period_row

ORDER_LINE_KINDS = (LineKind.FAST_START, LineKind.RETAIL_PROFIT)


def sync_clawbacks(*, period: Period) -> int:
    """Create the clawback lines of every refund in ``period`` of a closed period's order: the
    ledger lines' here, the binary pairings' in ``binary_clawbacks``.

    Idempotent: one row per (refund line, earner, kind, level), guarded by a unique constraint;
    run as part of every calculation of the period and before its close is verified. Returns
    the rows created.
    """
    return _sync_line_clawbacks(period) + sync_binary_clawbacks(period=period)


def _sync_line_clawbacks(period: Period) -> int:
    row = period_row(period)
    if row.is_locked:
        return 0
    closed = closed_months()
    candidates = clawback_candidates(period, closed)
    if not candidates:
        return 0
    done = set(
        Clawback.objects.filter(
            refund_line_id__in=[c["id"] for c in candidates],
            original_period__schedule=Schedule.MONTHLY,  # a week's clawbacks are its own
        )
        .exclude(kind=LineKind.BINARY)  # the binary sync's own rows
        .values_list("refund_line_id", flat=True)
    )
    by_month: dict = defaultdict(list)
    for refund in candidates:
        if refund["id"] not in done:
            by_month[refund["order_commission_month"]].append(refund)
    created: list[Clawback] = []
    for month, refunds in sorted(by_month.items()):
        original = CommissionPeriod.objects.get(month=month)
        created.extend(_RunClawbacks(row, original).for_refunds(refunds))
    Clawback.objects.bulk_create(created, ignore_conflicts=True)
    return len(created)


class _RunClawbacks:
    """The clawbacks of a batch of refunds of one closed period's orders: what its final run
    paid is read once for the whole batch (a few set-based queries, not a few per refund), and
    each refund's lines are worked out by the engine (``engine.clawbacks``: the compression walk
    over the frozen chain, the plan's rounding mode and rounding point).

    Unilevel under ``upline: order_time`` walks no chain: the run stored one unilevel line per
    (earner, level, order line), paid from the buyer's sponsor when the line was paid up the
    tree at close, so a refund takes back its share of exactly the lines of its order line
    (read by ``source_line``, one query per batch), whoever the buyer's sponsor is now or was
    at close.

    Never more than was paid: a clawback is limited to what its ledger group paid less what
    earlier clawbacks (of earlier calculations, and of this batch so far) took back from it.
    Groups: unilevel (``period_close``) and matching by (earner, kind, level), the ledger's own
    granularity; fast start, retail profit and order-time unilevel by (earner, kind, level,
    order line); order awards by (earner, kind, level, order); per-source component lines by
    (earner, kind, level, source).
    """

    def __init__(self, row: CommissionPeriod, original: CommissionPeriod) -> None:
        self.row = row
        self.original = original
        self.run: CommissionRun = original.current_run
        self.plan: Plan = self.run.plan_version.plan
        self.order_time = self.plan.options.upline == "order_time"
        self.taken: dict[tuple, int] = defaultdict(int)  # cents taken back, positive
        self.paid: dict[tuple, int] = defaultdict(int)
        self.order_of_line: dict[int, int] = {}
        fields = ("earner_id", "kind", "level", "source_id", "refund_line__order_line_id")
        for *group, order, amount in (
            Clawback.objects.filter(original_period=original)
            .values_list(*fields, "refund_line__order_line__order_id")
            .annotate(total=Sum("amount"))
            .values_list(*fields, "refund_line__order_line__order_id", "total")
        ):
            self.taken[self._key(*group, order)] -= amount

    def _key(
        self,
        earner: int,
        kind: int,
        level: int,
        source: int | None,
        line: int | None,
        order: int | None,
    ) -> tuple:
        """The ledger group a line or clawback of these fields belongs to (see the class)."""
        if kind == LineKind.UNILEVEL and self.order_time:
            return (earner, kind, level, "line", line)
        if kind in (LineKind.UNILEVEL, LineKind.MATCHING):
            return (earner, kind, level)
        if kind in SOURCE_KINDS:
            return (earner, kind, level, "source", source)
        if kind == LineKind.ORDER_AWARD:
            return (earner, kind, level, "order", order)
        return (earner, kind, level, "line", line)

    def _limit(self, key: tuple, paid: int) -> int:
        return max(paid - self.taken[key], 0)

    def for_refunds(self, refunds: list[dict]) -> list[Clawback]:
        run, plan = self.run, self.plan
        buyers = {refund["distributor_id"] for refund in refunds}
        refunded_lines = {refund["order_line_id"] for refund in refunds}
        source_cv: dict[int, int] = {}
        chains: dict[int, list[Upline]] = {}
        # Order-time unilevel lines by the order line that paid them (the run stored the walk).
        unilevel_of_line: dict[int, list[CommissionLine]] = defaultdict(list)
        if self.order_time:
            unilevel = list(
                CommissionLine.objects.filter(
                    run=run, kind=LineKind.UNILEVEL, source_line_id__in=refunded_lines
                )
            )
            for line in unilevel:
                unilevel_of_line[line.source_line_id].append(line)
            uplines = {line.earner_id for line in unilevel}
        else:
            source_cv = dict(
                DistributorResult.objects.filter(
                    run=run, distributor_id__in=buyers, cv__gt=0
                ).values_list("distributor_id", "cv")
            )
            chains = frozen_chains(run.pk, source_cv, plan)
            uplines = {upline.distributor_id for chain in chains.values() for upline in chain}
            unilevel = list(
                CommissionLine.objects.filter(
                    run=run, kind=LineKind.UNILEVEL, earner_id__in=uplines
                )
            )
        matching = list(
            CommissionLine.objects.filter(run=run, kind=LineKind.MATCHING, source_id__in=uplines)
        )
        by_source: dict[int, list[CommissionLine]] = defaultdict(list)
        for line in CommissionLine.objects.filter(
            run=run, kind__in=list(SOURCE_KINDS), source_id__in=buyers
        ):
            by_source[line.source_id].append(line)
        orders = self._orders(refunds) if "order_award" in plan.components else {}
        self.order_of_line = {
            line: order_id for order_id, order in orders.items() for line in order["lines"]
        }
        by_order_line: dict[int, list[CommissionLine]] = defaultdict(list)
        for line in CommissionLine.objects.filter(
            run=run,
            source_line_id__in=refunded_lines | set(self.order_of_line),
            kind__in=[*ORDER_LINE_KINDS, LineKind.ORDER_AWARD],
        ):
            by_order_line[line.source_line_id].append(line)
        # What each group paid: a matching group holds every payer's line, not only the chains'.
        every_matching = CommissionLine.objects.filter(
            run=run, kind=LineKind.MATCHING, earner_id__in={line.earner_id for line in matching}
        )
        for line in [
            *unilevel,
            *every_matching,
            *(line for lines in by_source.values() for line in lines),
            *(line for lines in by_order_line.values() for line in lines),
        ]:
            self.paid[self._line_key(line)] += line.amount

        created: list[Clawback] = []
        for refund in sorted(refunds, key=lambda r: r["id"]):
            buyer, order_id = refund["distributor_id"], refund["order_line__order_id"]
            chain = chains.get(buyer, [])
            order_unilevel = unilevel_of_line[refund["order_line_id"]]
            payer_ids = {upline.distributor_id for upline in chain} | {
                line.earner_id for line in order_unilevel
            }
            order = orders.get(order_id)
            award_lines = by_order_line[refund["order_line_id"]]
            cv_after = None
            if order is not None:
                order["cv_left"] -= to_cents(refund["cv"])
                cv_after = order["cv_left"]
                if cv_after < max(plan.components["order_award"].minimum_order_cv, 1):
                    award_lines = [
                        line for order_line in order["lines"] for line in by_order_line[order_line]
                    ]
            lines = refund_clawbacks(
                plan,
                Refund(
                    cv=to_cents(refund["cv"]),
                    retail_profit=to_cents(refund["retail_profit"]),
                    source_cv=source_cv.get(buyer, 0),
                    chain=chain,
                    order_line=refund["order_line_id"],
                    quantity=refund["quantity"],
                    line_quantity=order["quantities"][refund["order_line_id"]] if order else 0,
                    order_cv_after=cv_after,
                ),
                unilevel_lines={
                    (line.earner_id, line.level): CappedLine(
                        line.amount, line.amount_before_cap, self._rest(line)
                    )
                    for line in unilevel
                    if line.earner_id in payer_ids and not self.order_time
                },
                matching_lines=[
                    self._paid(line) for line in matching if line.source_id in payer_ids
                ],
                order_lines=[
                    self._paid(line)
                    for line in by_order_line[refund["order_line_id"]]
                    if line.kind in ORDER_LINE_KINDS
                ],
                source_lines=[self._paid(line) for line in by_source[buyer]],
                unilevel_lines_complete=True,
                award_lines=[
                    self._paid(line) for line in award_lines if line.kind == LineKind.ORDER_AWARD
                ],
                order_unilevel_lines=[self._paid(line) for line in order_unilevel],
            )
            for line in lines:
                key = self._key(
                    line.earner, line.kind, line.level, buyer, refund["order_line_id"], order_id
                )
                rest = max(self.paid[key] - self.taken[key], 0)
                if -line.amount > rest:  # several lines of one group: at most the group's rest
                    line = dataclasses.replace(line, amount=-rest)
                if line.amount == 0:
                    continue
                created.append(
                    Clawback(
                        period=self.row,
                        refund_line_id=refund["id"],
                        original_period=self.original,
                        earner_id=line.earner,
                        kind=line.kind,
                        level=line.level,
                        source_id=buyer,
                        refunded_base=line.refunded_base,
                        original_base=line.original_base,
                        original_amount=line.original_amount,
                        amount=line.amount,
                    )
                )
                self.taken[key] -= line.amount
        return created

    def _line_key(self, line: CommissionLine) -> tuple:
        return self._key(
            line.earner_id,
            line.kind,
            line.level,
            line.source_id,
            line.source_line_id,
            self.order_of_line.get(line.source_line_id or 0),
        )

    def _rest(self, line: CommissionLine) -> int:
        """What may still be taken back from ``line``'s group."""
        key = self._line_key(line)
        return max(self.paid[key] - self.taken[key], 0)

    def _paid(self, line: CommissionLine) -> PaidLine:
        """``line`` as the engine reads it, limited to what its group has left."""
        return PaidLine(
            line.earner_id,
            line.kind,
            line.level,
            line.base,
            line.amount,
            line.source_id or -1,
            self._rest(line),
            line.source_line_id or -1,
            line.amount_before_cap,
        )

    @staticmethod
    def _orders(refunds: list[dict]) -> dict[int, dict]:
        """Per order of the batch: its lines, their units, and its CV net of the refunds made
        before this batch's first (the batch subtracts its own as it goes, oldest first)."""
        order_ids = {refund["order_line__order_id"] for refund in refunds}
        first = min(refund["id"] for refund in refunds)
        orders: dict[int, dict] = {
            order: {"lines": [], "quantities": {}, "cv_left": 0} for order in order_ids
        }
        for line_id, order_id, quantity, cv in OrderLine.objects.filter(
            order_id__in=order_ids
        ).values_list("id", "order_id", "quantity", "cv"):
            orders[order_id]["lines"].append(line_id)
            orders[order_id]["quantities"][line_id] = quantity
            orders[order_id]["cv_left"] += to_cents(cv)
        for order_id, cv in (
            RefundLine.objects.filter(order_line__order_id__in=order_ids, id__lt=first)
            .values_list("order_line__order_id")
            .annotate(total=Sum("cv"))
            .values_list("order_line__order_id", "total")
        ):
            orders[order_id]["cv_left"] -= to_cents(cv)
        return orders
