"""Clawbacks: what a refund of an order counted in a closed period takes back from each line
that order paid, under the plan's rounding mode and rounding point.

A refunded part of a base takes back the same part of the amount: ``amount × refunded base /
original base``. The lines a refund reaches, in the order they are returned:

* **unilevel**: with ``upline: period_close`` the source's CV paid one upline per level (the
  engine's compression walk, ``explain.unilevel_payers`` over the frozen chain); each payer's
  per-source amount is ``CV × rate``, scaled like its (earner, level) ledger line when the
  payout cap reduced it. With ``upline: order_time`` the ledger keeps the walk itself: one
  line per (earner, level, order line), from the sponsor at the time the line was paid up
  the tree at close; the refunded CV takes back its share of each line of the refunded order
  line (``amount × refunded CV / line CV``), and no chain is walked again;
* **matching**: paid on each payer's unilevel earnings, it comes back in the proportion of
  those earnings the refund undid;
* **fast start** and **retail profit**: paid per order line, on its CV or profit;
* **per-source component lines** (matrix, stair-step, generation override): the ledger keeps
  one line per (earner, level, source), on the source's period CV; the refunded CV takes
  back its share of that stored amount;
* **order awards** are paid for an order that reached the award's minimum CV: once refunds
  bring the order's CV below the minimum (or to zero), every award of the order comes back
  (what is left of it); before that a ``per: order`` award stays whole, and a ``per: unit``
  line of the refunded order line comes back by the refunded share of its units.

Never more than was paid: each original line comes with the most that may still be taken back
from it (``limit``: the service's sum of what its ledger group paid less what earlier refunds
took back), and no clawback exceeds it. Clawbacks of one (earner, kind, level) are one line.

Rounding, as ``money.py`` states it for the engine's own lines:

* ``rounding_point: line``: every intermediate amount (the per-source unilevel amount, its
  capped share, the earnings undone) and every clawback is rounded to the cent on its own,
  with the plan's ``rounding`` mode;
* ``rounding_point: earner_kind_total``: everything stays exact; the clawbacks of one earner
  and kind (for this refund) are summed, rounded once with the plan's mode, and split back
  over their lines with the largest-remainder method, so the lines add up to the total.

Pure Python: no Django, no clock. Exact (``Fraction``) arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .explain import Upline, unilevel_payers
from .money import RATE_ONE, round_fraction, split_fractions
from .plan import Plan
from .results import KIND_CODES

UNILEVEL = KIND_CODES["unilevel"]
MATCHING = KIND_CODES["matching"]
RETAIL_PROFIT = KIND_CODES["retail_profit"]
FAST_START = KIND_CODES["fast_start"]
ORDER_AWARD = KIND_CODES["order_award"]
SOURCE_KINDS = frozenset(
    KIND_CODES[kind] for kind in ("matrix", "stair_step", "generation_override")
)
"""Kinds stored per (earner, level, source), on the source's period CV."""


@dataclass(frozen=True)
class PaidLine:
    """A line the original run paid: earner, kind, level, source (-1 none), base, amount;
    ``limit``: the most a clawback may still take back from it (what was paid on it, or on its
    ledger group, less what earlier refunds took back; None: its amount); ``source_line``: the
    order line of an order award or order-time unilevel line; ``amount_before_cap``: an
    order-time unilevel line's amount before the payout cap, the earnings matching was paid
    on (None: ``amount``)."""

    earner: int
    kind: int
    level: int
    base: int
    amount: int
    source: int = -1
    limit: int | None = None
    source_line: int = -1
    amount_before_cap: int | None = None


@dataclass(frozen=True)
class CappedLine:
    """An (earner, level) unilevel ledger line: amount paid, amount before the payout cap, and
    the most a clawback may still take back from it (None: its amount)."""

    amount: int
    amount_before_cap: int
    limit: int | None = None


@dataclass(frozen=True)
class ClawbackLine:
    """One line to take back: ``amount`` is negative cents (never 0)."""

    earner: int
    kind: int
    level: int
    refunded_base: int
    original_base: int
    original_amount: int
    amount: int


@dataclass(frozen=True)
class Refund:
    """What a refund undid: refunded CV and retail profit (cents), and, when the buyer had CV
    in the original run, that CV and the buyer's frozen uplines (nearest first; with
    ``upline: order_time`` neither: the order line's own unilevel lines say who was paid).

    For order awards: the refunded order line, the refunded units and the line's units, and
    the CV its order has left after every refund of it so far (None: unknown; the order then
    still earns its award)."""

    cv: int
    retail_profit: int
    source_cv: int = 0
    chain: Sequence[Upline] = ()
    order_line: int = -1
    quantity: int = 0
    line_quantity: int = 0
    order_cv_after: int | None = None


@dataclass
class _Claw:
    earner: int
    kind: int
    level: int
    refunded_base: int
    original_base: int
    original_amount: int
    exact: Fraction  # the amount to take back, before rounding
    limit: int | None  # the most it may take back (what was paid, less earlier clawbacks)


def refund_clawbacks(
    plan: Plan,
    refund: Refund,
    *,
    unilevel_lines: Mapping[tuple[int, int], CappedLine],
    matching_lines: Iterable[PaidLine],
    order_lines: Iterable[PaidLine],
    source_lines: Iterable[PaidLine] = (),
    award_lines: Iterable[PaidLine] = (),
    unilevel_lines_complete: bool = False,
    order_unilevel_lines: Iterable[PaidLine] = (),
) -> list[ClawbackLine]:
    """The clawback lines of one refund (see the module docstring).

    ``unilevel_lines``: the original run's unilevel ledger lines by (earner, level);
    ``matching_lines``: its matching lines (``source`` = the payer whose earnings they
    matched); ``order_lines``: its fast start and retail profit lines of the refunded order
    line; ``source_lines``: its matrix, stair-step and generation override lines whose source
    is the buyer; ``award_lines``: its order award lines of the refunded order line
    (``per: unit``) or of the line's order (``per: order``); ``order_unilevel_lines``: with
    ``upline: order_time``, its unilevel lines of the refunded order line (``unilevel_lines``
    and the refund's chain are then unused and must be empty).
    """
    mode = plan.options.rounding
    per_line = plan.options.rounding_point == "line"

    def step(value: Fraction) -> Fraction:
        """An intermediate amount: rounded to the cent when lines are rounded one by one."""
        return Fraction(round_fraction(value, mode)) if per_line else value

    claws: list[_Claw] = []

    def take_back(
        earner: int,
        kind: int,
        level: int,
        base: Fraction,
        original_base: int,
        amount: Fraction,
        limit: int | None,
    ) -> None:
        if original_base:
            claws.append(
                _Claw(
                    earner,
                    kind,
                    level,
                    round_fraction(base, mode),
                    original_base,
                    round_fraction(amount, mode),
                    amount * base / original_base,
                    limit,
                )
            )

    def rest(line: PaidLine) -> int:
        return max(line.amount if line.limit is None else line.limit, 0)

    refunded_earnings: dict[int, Fraction] = {}  # payer → unilevel earnings undone
    order_unilevel_lines = list(order_unilevel_lines)
    if order_unilevel_lines and plan.options.upline != "order_time":
        raise ValueError("order_unilevel_lines are only for plans with upline: order_time")
    if plan.options.upline == "order_time":
        if refund.chain or unilevel_lines:
            raise ValueError(
                "with upline: order_time a refund takes back its order line's own unilevel"
                " lines (order_unilevel_lines), not a walk over a chain"
            )
        for line in order_unilevel_lines:
            if line.kind != UNILEVEL or line.source_line != refund.order_line:
                raise ValueError(
                    f"order_unilevel_lines must be unilevel lines of order line"
                    f" {refund.order_line}; got kind {line.kind}, order line {line.source_line}"
                )
            if line.base <= 0 or refund.cv <= 0:
                continue
            refunded_base = Fraction(min(refund.cv, line.base))
            earned = line.amount if line.amount_before_cap is None else line.amount_before_cap
            refunded_earnings[line.earner] = refunded_earnings.get(line.earner, 0) + step(
                earned * refunded_base / line.base
            )
            take_back(
                line.earner,
                UNILEVEL,
                line.level,
                refunded_base,
                line.base,
                Fraction(line.amount),
                rest(line),
            )
    elif refund.source_cv > 0 and refund.cv > 0:
        refunded_base = Fraction(min(refund.cv, refund.source_cv))
        payers = unilevel_payers(
            refund.chain, levels=len(plan.unilevel_rates), compression=plan.options.compression
        )
        for payer in payers:
            rate = plan.unilevel_rates[payer.level - 1]
            if payer.distributor_id is None or rate == 0:
                continue
            capped = unilevel_lines.get((payer.distributor_id, payer.level))
            if capped is None and unilevel_lines_complete:
                continue  # paid nothing at this level: nothing comes back, nor of its matching
            earned = step(Fraction(refund.source_cv * rate, RATE_ONE))
            refunded_earnings[payer.distributor_id] = step(
                earned * refunded_base / refund.source_cv
            )
            line_amount = earned
            limit = None
            if capped is not None:
                limit = max(capped.amount if capped.limit is None else capped.limit, 0)
                if capped.amount_before_cap:
                    line_amount = step(line_amount * capped.amount / capped.amount_before_cap)
            take_back(
                payer.distributor_id,
                UNILEVEL,
                payer.level,
                refunded_base,
                refund.source_cv,
                line_amount,
                limit,
            )
    if refunded_earnings:
        for line in matching_lines:
            if line.source in refunded_earnings:
                undone = min(refunded_earnings[line.source], Fraction(line.base))
                take_back(
                    line.earner,
                    line.kind,
                    line.level,
                    undone,
                    line.base,
                    Fraction(line.amount),
                    rest(line),
                )
    for line in order_lines:
        base = refund.cv if line.kind == FAST_START else refund.retail_profit
        take_back(
            line.earner,
            line.kind,
            line.level,
            Fraction(min(base, line.base)),
            line.base,
            Fraction(line.amount),
            rest(line),
        )
    for line in source_lines:
        if line.kind not in SOURCE_KINDS:
            raise ValueError(f"line kind {line.kind} is not paid per source")
        take_back(
            line.earner,
            line.kind,
            line.level,
            Fraction(min(refund.cv, line.base)),
            line.base,
            Fraction(line.amount),
            rest(line),
        )
    award = plan.components.get("order_award")
    for line in award_lines:
        if award is None or line.kind != ORDER_AWARD:
            raise ValueError("award lines need the plan's order_award component")
        threshold = max(award.minimum_order_cv, 1)
        if refund.order_cv_after is not None and refund.order_cv_after < threshold:
            share = Fraction(1)
        elif award.per == "unit" and line.source_line == refund.order_line:
            if refund.line_quantity <= 0:
                raise ValueError("a per-unit award refund needs the order line's units")
            share = Fraction(min(refund.quantity, refund.line_quantity), refund.line_quantity)
        else:
            share = Fraction(0)
        take_back(
            line.earner,
            line.kind,
            line.level,
            line.base * share,
            line.base,
            Fraction(line.amount),
            rest(line),
        )

    if per_line:
        amounts = [round_fraction(claw.exact, mode) for claw in claws]
    else:
        amounts = [0] * len(claws)
        groups: dict[tuple[int, int], list[int]] = {}
        for position, claw in enumerate(claws):
            groups.setdefault((claw.earner, claw.kind), []).append(position)
        for positions in groups.values():
            split = split_fractions([claws[p].exact for p in positions], mode)
            for position, amount in zip(positions, split, strict=True):
                amounts[position] = amount
    merged: dict[tuple[int, int, int], ClawbackLine] = {}
    for claw, amount in zip(claws, amounts, strict=True):
        if claw.limit is not None:
            amount = min(amount, claw.limit)
        if amount <= 0:
            continue
        key = (claw.earner, claw.kind, claw.level)
        line = ClawbackLine(
            claw.earner,
            claw.kind,
            claw.level,
            claw.refunded_base,
            claw.original_base,
            claw.original_amount,
            -amount,
        )
        if key in merged:  # several award lines of one order to one earner and generation
            before = merged[key]
            line = ClawbackLine(
                *key,
                before.refunded_base + line.refunded_base,
                before.original_base + line.original_base,
                before.original_amount + line.original_amount,
                before.amount + line.amount,
            )
        merged[key] = line
    return list(merged.values())
