"""options.group_volume_levels: GV = own PV + the PV of the downline at most N levels below."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissions.engine import PlanValidationError, run_engine
from commissions.engine.group_volume import group_volume_to_levels
from commissions.engine.tree import Forest
from tests.commissions.engine.builders import cents, make_inputs, make_plan


def reference(parent: list[int], pv: list[int], levels: int | None) -> list[int]:
    """From the words: for each person, own PV plus the PV of everyone whose chain of
    sponsors reaches them within ``levels`` steps."""
    totals = list(pv)
    for person in range(len(parent)):
        upline, steps = parent[person], 1
        while upline >= 0 and (levels is None or steps <= levels):
            totals[upline] += pv[person]
            upline, steps = parent[upline], steps + 1
    return totals


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        # chain 0 ← 1 ← 2 ← 3 with PV 10, 20, 40, 80
        (None, [150, 140, 120, 80]),
        (0, [10, 20, 40, 80]),
        (1, [30, 60, 120, 80]),  # 10 + 20, 20 + 40, 40 + 80, 80
        (2, [70, 140, 120, 80]),  # 10 + 20 + 40, 20 + 40 + 80, ...
        (3, [150, 140, 120, 80]),
    ],
)
def test_a_chain(levels, expected):
    forest = Forest.build(np.array([-1, 0, 1, 2]))
    pv = np.array([10, 20, 40, 80], dtype=np.int64)
    assert group_volume_to_levels(forest, pv, levels).tolist() == expected


def test_a_branching_tree():
    # 0 has children 1 and 2; 3 is the child of 1 and 4 of 3. PV 1, 2, 4, 8, 16.
    # N = 1: 0 → 1 + 2 + 4 = 7; 1 → 2 + 8 = 10; 2 → 4; 3 → 8 + 16 = 24; 4 → 16.
    forest = Forest.build(np.array([-1, 0, 0, 1, 3]))
    pv = np.array([1, 2, 4, 8, 16], dtype=np.int64)
    assert group_volume_to_levels(forest, pv, 1).tolist() == [7, 10, 4, 24, 16]


@st.composite
def forests(draw):
    n = draw(st.integers(1, 40))
    parent = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    pv = draw(st.lists(st.integers(-500, 10_000), min_size=n, max_size=n))
    return parent, pv


@given(forests(), st.one_of(st.none(), st.integers(0, 8)))
def test_matches_the_reference(tree, levels):
    parent, pv = tree
    got = group_volume_to_levels(
        Forest.build(np.array(parent)), np.array(pv, dtype=np.int64), levels
    )
    assert got.tolist() == reference(parent, pv, levels)


RANKS = [{"code": "member", "personal_pv": "100", "group_volume": "300", "unilevel_levels": 1}]


def test_the_engine_ranks_on_the_limited_group_volume():
    # chain 0 ← 1 ← 2 ← 3, 100 PV each. Whole downline: GV 400, 300, 200, 100 → 0 and 1 are
    # members. Two levels: 300, 300, 200, 100 → still 0 and 1. One level: 200, 200, 200, 100
    # → nobody reaches 300.
    inputs = make_inputs([-1, 0, 1, 2], ["100"] * 4)
    for levels, gv, ranks in (
        (None, [400, 300, 200, 100], [1, 1, 0, 0]),
        (2, [300, 300, 200, 100], [1, 1, 0, 0]),
        (1, [200, 200, 200, 100], [0, 0, 0, 0]),
    ):
        result = run_engine(make_plan({"group_volume_levels": levels}, ranks=RANKS), inputs)
        assert result.gv.tolist() == [cents(v) for v in gv]
        assert result.paid_as_rank.tolist() == ranks


def test_a_leg_adds_its_first_n_minus_one_levels_under_a_leg_cap():
    # 0 ← 1 ← 2, 100 PV each; GV needed 300 with legs capped at 50 % of it (150).
    # One level: 0's GV = 100 + 100 = 200; its leg (1) adds 1's own PV only (N - 1 = 0
    # levels): min(100, 150) = 100, counted 200. Whole downline: GV 300, leg 1 adds
    # min(200, 150) = 150, counted 250.
    ranks = [{**RANKS[0], "leg_cap_percent": "50"}]
    inputs = make_inputs([-1, 0, 1], ["100"] * 3)
    limited = run_engine(make_plan({"group_volume_levels": 1}, ranks=ranks), inputs)
    assert limited.gv[0] == 20000 and limited.counted_gv[0] == 20000
    whole = run_engine(make_plan({}, ranks=ranks), inputs)
    assert whole.gv[0] == 30000 and whole.counted_gv[0] == 25000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must not be negative"),
        (101, "must be at most 100"),
        ("3", "must be a whole number"),
        (True, "must be a whole number"),
    ],
)
def test_bad_values_are_refused(value, message):
    with pytest.raises(PlanValidationError) as caught:
        make_plan({"group_volume_levels": value})
    assert caught.value.errors == [("options.group_volume_levels", message)]
