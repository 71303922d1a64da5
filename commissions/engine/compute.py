"""``run_engine``: one commission period, from arrays in to result lines out.

Steps, in order (all vectorized; loops only over depth levels, ranks, levels or kinds):

1. Activity: active ⇔ status active and own PV ≥ ``activity.personal_pv``. Negative PV/CV
   (refunds exceeding sales) count as 0 everywhere, except negative PV with
   ``options.late_refunds: negative`` (``rank_grace.rank_volume``).
2. GV = own PV + the whole downline's PV (or N levels of it: ``group_volume.py``).
3. Paid-as ranks (``ranks.py``), at least the rank grace and staff override floor
   (``rank_grace.py``); highest rank = max(prior highest, paid-as).
4. Unilevel, rounded per the plan; each earner's unilevel total is the base of
5. matching, then retail profit, fast start and advancement bonuses (``bonuses.py``).
6. Lines of all kinds in one deterministic order: earner, kind, level, source, source line.
7. Payout cap (``apply_payout_cap``), then per-distributor totals, balances and payables.

Payable rule: balance = carried_in + period_total; payable = balance when balance > 0,
balance ≥ minimum_payout and the distributor is not on hold, else 0 (everything carries).

Breakage per kind = raw amounts nobody qualified for (no qualified upline for a unilevel level,
matching generation or fast start; retail profit of a seller whose status is not active), the
raw amounts of lines the company's own root would have earned (it never earns) and of lines
that round to 0.00 (not written), summed and rounded once per kind; ``summary
["breakage_detail"]`` splits it by cause (``settle.py``). Not breakage: cap reductions (see
the summary), 0 % levels.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from .bonuses import (
    KindLines,
    advancement_lines,
    empty_lines,
    fast_start_lines,
    lines_by_order,
    matching_lines,
    retail_profit_lines,
    unilevel_lines,
)
from .components import ComponentContext, ordered
from .group_volume import group_volume_to_levels
from .inputs import STATUS_ACTIVE, EngineInputs
from .money import RATE_ONE, round_parts, split_pro_rata, split_rounded_parts
from .plan import Plan
from .rank_grace import grace_months_after, rank_floor, rank_volume
from .ranks import compute_ranks_with_floor
from .results import KIND_CODES, KINDS, EngineResult, ResultLines
from .settle import breakage_detail, kind_breakage, settle
from .tree import Forest

# 1.1: plan components, settle rules (0.00 lines, company root). 1.2: rates in 1e-8 of 1 (six
# decimals of a percent; lines carry CommissionLine.rate_units instead of rate_ppm), raw
# amounts in 1e-8 cent kept as whole cents + fraction, so no product or sum overflows int64.
ENGINE_VERSION = "1.2.0"

IntArray = npt.NDArray[np.int64]
CORE_KINDS = KINDS[:5]  # unilevel .. rank_advancement: computed by the core above


def run_engine(plan: Plan, inputs: EngineInputs) -> EngineResult:
    """Compute one period's commissions for ``inputs`` under ``plan``."""
    rank_count = len(plan.ranks)
    if (
        inputs.n
        and max(int(inputs.prior_highest_rank.max()), int(inputs.prior_advancement_paid_rank.max()))
        > rank_count
    ):
        raise ValueError(f"prior ranks must be in 0..{rank_count} for this plan")
    forest = Forest.build(inputs.parent, inputs.depth)
    pv = np.maximum(inputs.pv, 0)
    cv = np.maximum(inputs.cv, 0)
    volume = rank_volume(plan, inputs)  # own PV as activity and ranks count it (late refunds)
    activity = volume if inputs.activity_pv is None else inputs.activity_pv
    is_active = (inputs.status == STATUS_ACTIVE) & (activity >= plan.activity_personal_pv)
    gv = group_volume_to_levels(forest, volume, plan.options.group_volume_levels)
    if inputs.given_paid_as_rank is not None:  # a weekly run: the latest month's ranks
        paid_as = np.minimum(inputs.given_paid_as_rank, rank_count).astype(np.int16)
        counted_gv, qualified = gv, paid_as
    else:
        floor = rank_floor(plan, inputs, is_active)  # rank grace and staff overrides
        paid_as, counted_gv, qualified = compute_ranks_with_floor(
            plan,
            forest,
            is_active=is_active,
            pv=volume,
            gv=gv,
            enroller=inputs.enroller,
            floor=floor if floor.any() else None,
        )
    paid_as_index = paid_as.astype(np.int64)
    line_order = lines_by_order(inputs)
    rounding = plan.options.rounding

    # Lines of each kind live only in by_kind, so merging can release them as it goes.
    by_kind: dict[str, KindLines] = {}
    amounts: dict[str, IntArray] = {}
    by_kind["unilevel"] = unilevel_lines(
        plan,
        forest,
        inputs,
        is_active=is_active,
        cv=cv,
        line_order=line_order,
        unlocked_levels=plan.rank_table("unilevel_levels")[paid_as_index],
    )
    lost: dict[str, tuple[int, int]] = {}  # kind -> raw of (company, rounded away)
    by_kind["unilevel"], amounts["unilevel"] = _settle(plan, inputs, by_kind["unilevel"], lost)
    unilevel_total = np.zeros(inputs.n, dtype=np.int64)
    np.add.at(unilevel_total, by_kind["unilevel"].earner, amounts["unilevel"])
    by_kind["matching"] = matching_lines(
        plan,
        inputs,
        unilevel_total=unilevel_total,
        is_active=is_active,
        matching_generations=plan.rank_table("matching_generations")[paid_as_index],
    )
    by_kind["retail_profit"] = retail_profit_lines(plan, inputs, line_order)
    by_kind["fast_start"] = fast_start_lines(
        plan, inputs, is_active=is_active, line_order=line_order
    )
    by_kind["rank_advancement"], advancement_paid_rank = advancement_lines(
        plan, inputs, paid_as_index
    )
    for kind in CORE_KINDS[1:]:
        by_kind[kind], amounts[kind] = _settle(plan, inputs, by_kind[kind], lost, kind)
    component_state = _run_components(
        plan,
        by_kind,
        amounts,
        ComponentContext(
            plan=plan,
            inputs=inputs,
            forest=forest,
            is_active=is_active,
            pv=pv,
            cv=cv,
            gv=gv,
            paid_as=paid_as_index,
            line_order=line_order,
            earnings={},
        ),
        lost,
    )
    unqualified = {kind: by_kind[kind].unpaid_raw for kind in KINDS}
    breakage = {
        kind: kind_breakage(unqualified[kind], *lost.get(kind, (0, 0)), rounding) for kind in KINDS
    }
    lines = _merge_kinds(by_kind, amounts)

    total_cv = int(cv.sum())  # int64 holds 92 million billion currency units of CV
    cap_cents = (  # Python ints: rate × total CV passes int64 from 922 million units at 100 %
        None if plan.payout_cap_rate is None else plan.payout_cap_rate * total_cv // RATE_ONE
    )
    paid = apply_payout_cap(plan, lines.kind, lines.amount_before_cap, cap_cents)
    lines = ResultLines(**{**lines.__dict__, "amount": paid})

    period_total = np.zeros(inputs.n, dtype=np.int64)
    np.add.at(period_total, lines.earner, lines.amount)
    balance = inputs.carried_in + period_total
    is_payable = (balance > 0) & (balance >= plan.minimum_payout) & ~inputs.on_hold
    payable = np.where(is_payable, balance, 0)
    highest = np.maximum(inputs.prior_highest_rank, paid_as).astype(np.int16)
    summary = _summary(
        plan,
        lines,
        breakage,
        total_cv=total_cv,
        cap_cents=cap_cents,
        paid_as=paid_as,
        is_active=is_active,
        payable=payable,
        carried_out=balance - payable,
    )
    summary["breakage_detail"] = {
        kind: breakage_detail(unqualified[kind], *lost.get(kind, (0, 0)), rounding)
        for kind in KINDS
    }
    return EngineResult(
        is_active=is_active,
        gv=gv,
        counted_gv=counted_gv,
        paid_as_rank=paid_as,
        highest_rank=highest,
        advancement_paid_rank=advancement_paid_rank,
        period_total=period_total,
        balance=balance,
        payable=payable,
        carried_out=balance - payable,
        lines=lines,
        breakage=breakage,
        summary=summary,
        engine_version=ENGINE_VERSION,
        component_state=component_state,
        grace_months_used=grace_months_after(
            plan, inputs, is_active=is_active, qualified=qualified
        ),
    )


def _run_components(
    plan: Plan,
    by_kind: dict[str, KindLines],
    amounts: dict[str, IntArray],
    context: ComponentContext,
    lost: dict[str, tuple[int, int]],
) -> dict[str, Any]:
    """The plan's components in their order, each seeing the rounded earnings per person of
    every kind before it; kinds the plan does not use get no lines."""
    n = context.inputs.n
    earnings: dict[str, IntArray] = {}
    for kind in by_kind:
        earnings[kind] = np.zeros(n, dtype=np.int64)  # integer cents (no float weights)
        np.add.at(earnings[kind], by_kind[kind].earner, amounts[kind])
    state: dict[str, Any] = {}
    for spec, options in ordered(plan.components):
        output = spec.compute(options, replace(context, earnings=dict(earnings)))
        for kind, lines in output.lines.items():
            by_kind[kind], amounts[kind] = _settle(plan, context.inputs, lines, lost, kind)
            lines = by_kind[kind]  # as written
            earnings[kind] = np.zeros(n, dtype=np.int64)
            np.add.at(earnings[kind], lines.earner, amounts[kind])
        if output.state is not None:
            state[spec.key] = output.state
    for kind in KINDS:
        if kind not in by_kind:
            by_kind[kind] = empty_lines()
            amounts[kind] = np.zeros(0, dtype=np.int64)
    return state


def _settle(
    plan: Plan,
    inputs: EngineInputs,
    lines: KindLines,
    lost: dict[str, tuple[int, int]],
    kind: str = "unilevel",
) -> tuple[KindLines, IntArray]:
    """A kind's lines as written and their cents: the company's lines removed, the rest
    rounded, 0.00 lines dropped (``settle.py``); what was taken out is noted in ``lost``."""
    settled = settle(
        lines,
        is_company=inputs.is_company,
        rounding_point=plan.options.rounding_point,
        round_lines=lambda kept: _round_lines(plan, kept),
    )
    lost[kind] = (settled.company_raw, settled.rounded_away_raw)
    return settled.lines, settled.amounts


def _round_lines(plan: Plan, lines: KindLines) -> IntArray:
    """Cents per line with the plan's rounding mode and rounding point (see ``money.py``)."""
    cents, fraction = lines.raw_parts()
    if plan.options.rounding_point == "line":
        return round_parts(cents, fraction, plan.options.rounding)
    return split_rounded_parts(cents, fraction, lines.earner, plan.options.rounding)


def _merge_kinds(by_kind: dict[str, KindLines], amounts: dict[str, IntArray]) -> ResultLines:
    """All kinds in one array set, ordered by earner then kind (each kind is already sorted).

    Kinds are concatenated in KINDS order and each is sorted by earner, so a stable sort on the
    earner alone gives (earner, kind, level, source, source line); timsort merges the sorted
    runs quickly. Columns are merged one at a time and the per-kind ones released, to keep the
    peak memory near one copy of the lines.
    """
    sizes = [len(by_kind[kind]) for kind in KINDS]
    offsets = np.cumsum([0, *sizes])
    earner = np.concatenate([by_kind[kind].earner for kind in KINDS])
    order = np.argsort(earner, kind="stable")
    destination = np.empty(len(order), dtype=np.int64)  # where each concatenated line goes
    destination[order] = np.arange(len(order))
    merged: dict[str, npt.NDArray[Any]] = {"earner": earner[order]}
    del earner, order
    kinds = [by_kind.pop(kind) for kind in KINDS]
    columns = [
        {
            "level": k.level,
            "source": k.source,
            "source_line": k.source_line,
            "base": k.base,
            "rate": k.rate,
            "amount_before_cap": amounts.pop(name),
            "kind": np.full(len(k), KIND_CODES[name], dtype=np.int8),
        }
        for name, k in zip(KINDS, kinds, strict=True)
    ]
    del kinds
    for name in ("kind", "level", "source", "source_line", "base", "rate", "amount_before_cap"):
        # Scatter each kind straight into place and drop it: no concatenated copy.
        out = np.empty(len(destination), dtype=columns[0][name].dtype)
        for k, part in enumerate(columns):
            out[destination[offsets[k] : offsets[k + 1]]] = part.pop(name)
        merged[name] = out
    return ResultLines(**merged, amount=merged["amount_before_cap"])


def apply_payout_cap(
    plan: Plan, kind: npt.NDArray[np.int8], before: IntArray, cap_cents: int | None
) -> IntArray:
    """Amounts after the payout cap; the total after the cap is exactly the cap when it binds.

    ``all_pro_rata`` scales every line to the cap. ``protect_kinds`` keeps the protected kinds
    whole and scales the others into the room left; if the protected kinds alone exceed the cap,
    they are scaled to the cap and the others get nothing. Scaling is ``split_pro_rata``:
    floor shares plus largest remainders, ties to the earlier line.
    """
    if cap_cents is None or int(before.sum()) <= cap_cents:
        return before  # the result arrays are read-only, so both columns can share it
    if plan.payout_cap_method == "all_pro_rata":
        return split_pro_rata(before, cap_cents)
    protected_codes = [KIND_CODES[name] for name in plan.protected_kinds]
    is_protected = np.isin(kind, protected_codes)
    protected_total = int(before[is_protected].sum())
    after = np.zeros(len(before), dtype=np.int64)
    if protected_total <= cap_cents:
        after[is_protected] = before[is_protected]
        after[~is_protected] = split_pro_rata(before[~is_protected], cap_cents - protected_total)
    else:
        after[is_protected] = split_pro_rata(before[is_protected], cap_cents)
    return after


def _summary(
    plan: Plan,
    lines: ResultLines,
    breakage: dict[str, int],
    *,
    total_cv: int,
    cap_cents: int | None,
    paid_as: npt.NDArray[np.int16],
    is_active: npt.NDArray[np.bool_],
    payable: IntArray,
    carried_out: IntArray,
) -> dict[str, Any]:
    """Period totals for the run record and the admin screens (plain Python values)."""
    kind_count = len(KINDS)
    before = np.bincount(lines.kind, weights=None, minlength=kind_count)  # line counts
    totals_before = _sum_by_kind(lines.kind, lines.amount_before_cap)
    totals = _sum_by_kind(lines.kind, lines.amount)
    total_paid = sum(totals.values())
    total_before = sum(totals_before.values())
    percent = (
        None
        if total_cv == 0
        else (Decimal(total_paid) * 100 / Decimal(total_cv)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    )
    rank_counts = np.bincount(paid_as.astype(np.int64), minlength=len(plan.ranks) + 1)
    return {
        "engine_version": ENGINE_VERSION,
        "total_cv": total_cv,
        "line_counts": {kind: int(before[i]) for i, kind in enumerate(KINDS)},
        "totals_before_cap": totals_before,
        "totals": totals,
        "total_before_cap": total_before,
        "total_paid": total_paid,
        "cap_cents": cap_cents,
        "cap_applied": cap_cents is not None and total_before > cap_cents,
        "cap_reduction": total_before - total_paid,
        "payout_percent_of_cv": percent,
        "breakage": dict(breakage),
        "active_count": int(is_active.sum()),
        "paid_as_rank_counts": {rank: int(count) for rank, count in enumerate(rank_counts)},
        "payable_total": int(payable.sum()),
        "carried_out_total": int(carried_out.sum()),
    }


def _sum_by_kind(kind: npt.NDArray[np.int8], amounts: IntArray) -> dict[str, int]:
    totals = np.zeros(len(KINDS), dtype=np.int64)
    np.add.at(totals, kind.astype(np.int64), amounts)
    return {name: int(totals[i]) for i, name in enumerate(KINDS)}
