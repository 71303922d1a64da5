"""Reading staff rank overrides and rank grace for a period (``models.RankOverride``; the
rules are in ``engine/rank_grace.py``). Writing them is ``services.rank_overrides``."""

from __future__ import annotations

import numpy as np

from core.periods import Period

from .engine.plan import Plan
from .models import RankOverride


def current_rank_overrides(
    period: Period, *, distributor_id: int | None = None
) -> dict[int, RankOverride]:
    """The override in force for each distributor (or the one) in ``period``: their newest
    row, unless that row withdraws the override (an empty rank code)."""
    rows = RankOverride.objects.filter(period=period.first_day)
    if distributor_id is not None:
        rows = rows.filter(distributor_id=distributor_id)
    newest: dict[int, RankOverride] = {}
    for row in rows.order_by("created_at", "id"):
        newest[row.distributor_id] = row
    return {key: row for key, row in newest.items() if row.rank_code}


def rank_override_array(period: Period, plan: Plan, ids: np.ndarray) -> np.ndarray:
    """The engine's ``rank_override`` for the distributors ``ids`` (sorted): the rank number of
    each one's override, 0 none. An override naming a rank the plan no longer has, or a person
    outside the period's arrays, counts as none."""
    codes = {rank.code: number for number, rank in enumerate(plan.ranks, start=1)}
    override = np.zeros(len(ids), dtype=np.int16)
    for distributor_id, row in current_rank_overrides(period).items():
        position = int(np.searchsorted(ids, distributor_id))
        if position < len(ids) and ids[position] == distributor_id and row.rank_code in codes:
            override[position] = codes[row.rank_code]
    return override


def paid_as_explanation(
    *, plan: Plan, period: Period, distributor_id: int, paid_as_rank: int, grace_months_used: int
) -> str:
    """Why a statement's paid-as rank is what it is, when a rule beyond qualifying made it:
    "paid as Gold by staff decision: <reason>" or "paid as Gold under rank grace (month 1 of
    2)"; empty otherwise."""
    if not paid_as_rank:
        return ""
    name = plan.ranks[paid_as_rank - 1].name
    if grace_months_used:
        return (
            f"paid as {name} under rank grace (month {grace_months_used} of "
            f"{plan.options.rank_grace_months})"
        )
    row = current_rank_overrides(period, distributor_id=distributor_id).get(distributor_id)
    if row is not None and row.rank_code == plan.ranks[paid_as_rank - 1].code:
        return f"paid as {name} by staff decision: {row.reason}"
    return ""
