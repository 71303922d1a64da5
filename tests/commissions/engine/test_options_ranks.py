"""Independent rank requirements (options.cumulative_ranks: false): a higher rank may ask
less of one requirement."""

from __future__ import annotations

import pytest

from commissions.engine import PlanValidationError, run_engine
from tests.commissions.engine.builders import make_inputs, make_plan

# Silver asks 200 PV and no GV; gold asks only 100 PV but 500 GV.
RANKS = [
    {"code": "silver", "personal_pv": "200", "unilevel_levels": 1},
    {"code": "gold", "personal_pv": "100", "group_volume": "500", "unilevel_levels": 2},
]


def test_cumulative_ranks_still_refuse_a_requirement_that_decreases():
    with pytest.raises(PlanValidationError) as caught:
        make_plan(ranks=RANKS)
    assert caught.value.errors == [("ranks[1].personal_pv", "must be ≥ the previous rank's")]


def test_independent_ranks_accept_it_and_pay_the_highest_rank_that_qualifies():
    plan = make_plan({"cumulative_ranks": False}, ranks=RANKS)
    # 0: 100 PV, GV 100 + 400 = 500 → gold (not silver: 100 < 200 PV) → rank 2.
    # 1: 400 PV, GV 400 → silver (gold needs 500 GV) → rank 1.
    result = run_engine(plan, make_inputs([-1, 0], ["100", "400"]))
    assert result.paid_as_rank.tolist() == [2, 1]


def test_what_a_rank_unlocks_must_still_not_decrease():
    ranks = [RANKS[0], {**RANKS[1], "unilevel_levels": 0}]
    with pytest.raises(PlanValidationError) as caught:
        make_plan({"cumulative_ranks": False}, ranks=ranks)
    assert caught.value.errors == [("ranks[1].unilevel_levels", "must be ≥ the previous rank's")]


def test_every_requirement_may_decrease_with_independent_ranks():
    ranks = [
        {
            "code": "a",
            "personal_pv": "300",
            "group_volume": "900",
            "personally_enrolled_active": 2,
            "qualified_legs": {"count": 2, "min_rank": "a"},
        },
        {"code": "b", "personal_pv": "100"},
    ]
    plan = make_plan({"cumulative_ranks": False}, ranks=ranks)
    assert [r.personal_pv for r in plan.ranks] == [30000, 10000]
