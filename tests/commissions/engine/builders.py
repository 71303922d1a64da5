"""Small builders for hand-worked engine tests: plans as dicts, inputs from readable lists."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import numpy as np

from commissions.engine import EngineInputs, Plan, parse_plan

# Activity needs 100 PV; one rank that unlocks three unilevel levels of 5 %, 5 %, 10 %.
BASE_PLAN: dict[str, Any] = {
    "name": "Test plan",
    "currency": "USD",
    "activity": {"personal_pv": "100"},
    "ranks": [{"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 3}],
    "unilevel": {"percents": ["5", "5", "10"]},
}


def cents(amount: str | int) -> int:
    """'12.34' → 1234 (test amounts are written in currency units)."""
    return int(Decimal(str(amount)) * 100)


def make_plan(options: dict[str, Any] | None = None, **top: Any) -> Plan:
    """BASE_PLAN with top-level keys replaced and options set."""
    doc = copy.deepcopy(BASE_PLAN)
    doc.update(copy.deepcopy(top))
    if options:
        doc["options"] = {**doc.get("options", {}), **options}
    return parse_plan(doc)


def make_inputs(
    parent: list[int],
    pv: list[str | int],
    *,
    cv: list[str | int] | None = None,
    enroller: list[int] | None = None,
    status: list[int] | None = None,
    join_day: list[int] | None = None,
    lines: list[dict[str, Any]] | None = None,
    prior_highest_rank: list[int] | None = None,
    prior_advancement_paid_rank: list[int] | None = None,
    carried_in: list[str | int] | None = None,
    on_hold: list[bool] | None = None,
    period: tuple[int, int] = (100, 129),
) -> EngineInputs:
    """Inputs from lists; volumes in currency units; CV defaults to PV, enroller to parent.

    ``lines`` are dicts with buyer, cv, day (default period start), profit, parent_at_order,
    id (default 1000 + position).
    """
    n = len(parent)
    lines = lines or []
    buyers = [line["buyer"] for line in lines]
    return EngineInputs(
        parent=np.array(parent, dtype=np.int64),
        enroller=np.array(parent if enroller is None else enroller, dtype=np.int64),
        status=np.array(status or [0] * n, dtype=np.int8),
        pv=np.array([cents(v) for v in pv], dtype=np.int64),
        cv=np.array([cents(v) for v in (pv if cv is None else cv)], dtype=np.int64),
        join_day=np.array(join_day or [0] * n, dtype=np.int32),
        period_start_day=period[0],
        period_end_day=period[1],
        line_id=np.array(
            [line.get("id", 1000 + i) for i, line in enumerate(lines)], dtype=np.int64
        ),
        line_buyer=np.array(buyers, dtype=np.int64),
        line_cv=np.array([cents(line.get("cv", 0)) for line in lines], dtype=np.int64),
        line_paid_day=np.array([line.get("day", period[0]) for line in lines], dtype=np.int32),
        line_retail_profit=np.array(
            [cents(line.get("profit", 0)) for line in lines], dtype=np.int64
        ),
        line_parent_at_order=np.array(
            [line.get("parent_at_order", parent[line["buyer"]]) for line in lines], dtype=np.int64
        ),
        prior_highest_rank=np.array(prior_highest_rank or [0] * n, dtype=np.int16),
        prior_advancement_paid_rank=np.array(
            prior_advancement_paid_rank or [0] * n, dtype=np.int16
        ),
        carried_in=np.array([cents(v) for v in (carried_in or [0] * n)], dtype=np.int64),
        on_hold=np.array(on_hold or [False] * n, dtype=bool),
    )


def totals(result: Any) -> list[int]:
    """Period totals as a list of cents."""
    return [int(v) for v in result.period_total]
