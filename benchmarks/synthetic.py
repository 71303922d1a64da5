"""Realistic random periods for benchmarks and demos (vectorized: fine at millions of people).

The forest grows in join order: person i picks a sponsor among earlier people, weighted by a
heavy-tailed "recruiting propensity" (70 % of people have none, a few recruit hundreds), and
biased toward recent joiners (a log-uniform step back in weight space), which gives the long
sponsor chains of real companies: depth reaches about 700 at a million people.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from commissions.engine.inputs import EngineInputs

PERIOD_START_DAY = 20_000  # an arbitrary day number; only differences matter
PERIOD_DAYS = 30
RECENT_WEIGHT = 2000.0  # recruiting weight of "recent joiners" (about 5,000 people)


def synthetic_parents(n: int, rng: np.random.Generator) -> np.ndarray:
    """Sponsor of each person (earlier index), -1 for the company's root person."""
    recruits = rng.random(n) < 0.3
    recruits[0] = True
    propensity = np.where(recruits, rng.pareto(1.3, n) + 0.05, 0.0)
    cumulative = np.cumsum(propensity)
    before = np.concatenate(([0.0], cumulative[:-1]))  # weight of everyone earlier than i
    # Step back a log-uniform amount of weight: usually among recent joiners (people recruit
    # most in their first months), one time in ten anywhere in the company's history.
    span = np.where(rng.random(n) < 0.1, before, np.minimum(before, RECENT_WEIGHT))
    step = np.exp(rng.random(n) * np.log(np.maximum(span, 1.0 + 1e-9)))
    target = np.maximum(before - step, 0.0)
    parent = np.searchsorted(cumulative, target, side="right").astype(np.int64)
    parent = np.minimum(parent, np.arange(n) - 1)
    parent[0] = -1
    return parent


def synthetic_inputs(
    n: int, lines_per_person: float = 3, seed: int = 0, rank_count: int = 6
) -> EngineInputs:
    """One random period: n distributors, about ``lines_per_person × n`` order lines."""
    rng = np.random.default_rng(seed)
    index = np.arange(n)
    parent = synthetic_parents(n, rng)
    grandparent = np.where(parent >= 0, parent[np.maximum(parent, 0)], -1)
    enroller = np.where((rng.random(n) < 0.1) & (grandparent >= 0), grandparent, parent)
    status = rng.choice(np.array([0, 1, 2], dtype=np.int8), size=n, p=[0.85, 0.10, 0.05])

    # Order lines: 65 % of people order this period, some of them many times.
    m = int(n * lines_per_person)
    orders = rng.random(n) < 0.65
    buyers_pool = index[orders] if orders.any() else index
    weights = rng.pareto(2.0, len(buyers_pool)) + 1.0
    picks = np.searchsorted(np.cumsum(weights), rng.random(m) * weights.sum())
    buyers = buyers_pool[np.minimum(picks, len(buyers_pool) - 1)]
    line_cv = np.round(rng.lognormal(np.log(35.0), 0.7, m) * 100).astype(np.int64)
    refunds = rng.random(m) < 0.01
    line_cv[refunds] = -line_cv[refunds] // 4  # net of a partial refund of an earlier sale
    is_retail = rng.random(m) < 0.3
    line_retail_profit = np.where(is_retail, np.maximum(line_cv, 0) * 3 // 10, 0)
    cv = np.zeros(n, dtype=np.int64)
    np.add.at(cv, buyers, line_cv)
    pv = cv + cv // 4  # PV a little above CV, as in most catalogs

    join_day = PERIOD_START_DAY - 3 * 365 + (index * (3 * 365 + PERIOD_DAYS)) // max(n, 1)
    first_line_day = np.maximum(join_day[buyers], PERIOD_START_DAY)
    spread = PERIOD_START_DAY + PERIOD_DAYS - first_line_day
    line_paid_day = first_line_day + (rng.random(m) * spread).astype(np.int64)
    moved = rng.random(m) < 0.01
    at_order = parent[buyers].copy()
    earlier = (rng.random(m) * np.maximum(buyers, 1)).astype(np.int64)
    at_order[moved & (buyers > 0)] = earlier[moved & (buyers > 0)]

    prior_rank = np.minimum(rng.geometric(0.5, n) - 1, rank_count).astype(np.int16)
    carried_in = np.where(rng.random(n) < 0.1, rng.integers(-500, 2500, n), 0)
    return EngineInputs(
        parent=parent,
        enroller=enroller,
        status=status,
        pv=pv,
        cv=cv,
        join_day=join_day.astype(np.int32),
        period_start_day=PERIOD_START_DAY,
        period_end_day=PERIOD_START_DAY + PERIOD_DAYS - 1,
        line_id=rng.permutation(m).astype(np.int64) + 1,
        line_buyer=buyers.astype(np.int64),
        line_cv=line_cv,
        line_paid_day=line_paid_day.astype(np.int32),
        line_retail_profit=line_retail_profit,
        line_parent_at_order=at_order,
        prior_highest_rank=prior_rank,
        prior_advancement_paid_rank=prior_rank,
        carried_in=carried_in.astype(np.int64),
        on_hold=rng.random(n) < 0.001,
    )


def synthetic_plan_doc() -> dict[str, Any]:
    """A six-rank plan like ``plans/demo.yaml`` (kept as a dict so benchmarks need no YAML)."""

    def rank(
        code: str,
        pv: str,
        gv: str,
        cap: str | None,
        legs: int,
        min_rank: str | None,
        enrolled: int,
        levels: int,
        generations: int,
        bonus: str,
    ) -> dict[str, Any]:
        return {
            "code": code,
            "name": code.title(),
            "personal_pv": pv,
            "group_volume": gv,
            "leg_cap_percent": cap,
            "qualified_legs": {"count": legs, "min_rank": min_rank},
            "personally_enrolled_active": enrolled,
            "unilevel_levels": levels,
            "matching_generations": generations,
            "advancement_bonus": bonus,
        }

    return {
        "name": "Synthetic six-rank plan",
        "currency": "USD",
        "activity": {"personal_pv": "50"},
        "ranks": [
            rank("member", "50", "0", None, 0, None, 0, 1, 0, "0"),
            rank("bronze", "100", "500", "60", 0, None, 1, 2, 0, "25"),
            rank("silver", "100", "2000", "50", 1, "bronze", 2, 3, 1, "100"),
            rank("gold", "100", "6000", "50", 2, "bronze", 3, 4, 1, "250"),
            rank("platinum", "150", "20000", "40", 3, "silver", 3, 5, 2, "750"),
            rank("diamond", "150", "60000", "40", 3, "gold", 4, 6, 2, "2500"),
        ],
        "unilevel": {"percents": ["5", "5", "5", "4", "3", "3"]},
        "matching": {"percents": ["10", "5"]},
        "retail_profit": {"enabled": True},
        "fast_start": {"percent": "10", "days": 30},
        "payout_cap": {
            "percent_of_cv": "50",
            "method": "protect_kinds",
            "protected_kinds": ["retail_profit"],
        },
        "minimum_payout": "25.00",
        "placement": {
            "kind": "binary",
            "rule": "holding_tank",
            "auto_rule": "weaker_leg_people",
            "tank_days": 7,
            "sponsor_may_choose": True,
        },
        "options": {
            "compression": "dynamic",
            "leg_cap_basis": "required",
            "leg_cap_includes_personal": False,
            "cumulative_ranks": True,
            "rounding": "half_up",
            "rounding_point": "line",
            "upline": "period_close",
            "rank_advancement": "all_at_once",
        },
    }
