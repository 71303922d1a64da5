"""The leg cap has one home, engine/ranks.py: the one-person helpers the progress page and the
career path call (``leg_cap``, ``counted_volume``) give what the engine's own count gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissions.engine.ranks import counted_group_volume, counted_volume, leg_cap
from commissions.engine.tree import Forest
from tests.commissions.engine.builders import make_plan

RANKS = [
    {
        "code": "member",
        "name": "Member",
        "personal_pv": "100",
        "group_volume": "1000",
        "leg_cap_percent": "40",
        "unilevel_levels": 3,
    }
]


def capped_plan(basis: str, includes_personal: bool):
    return make_plan(
        {"leg_cap_basis": basis, "leg_cap_includes_personal": includes_personal}, ranks=RANKS
    )


def test_leg_cap_of_the_required_and_of_the_actual_volume():
    required = capped_plan("required", False)
    actual = capped_plan("actual", False)

    assert leg_cap(required, required.ranks[0], 555_55) == 400_00  # 40 % of 1,000 required
    assert leg_cap(actual, actual.ranks[0], 555_55) == 222_22  # 40 % of 555.55, rounded down
    assert leg_cap(make_plan(), make_plan().ranks[0], 100) is None


def test_counted_volume_caps_each_leg_worked_by_hand():
    plan = capped_plan("required", False)

    counted = counted_volume(plan, plan.ranks[0], pv=150_00, gv=1_350_00, leg_gvs=[900_00, 300_00])

    assert counted == 150_00 + 400_00 + 300_00


@settings(max_examples=60, deadline=None)
@given(
    basis=st.sampled_from(["required", "actual"]),
    includes_personal=st.booleans(),
    pv=st.integers(0, 2_000_00),
    leg_gvs=st.lists(st.integers(0, 3_000_00), max_size=6),
)
def test_counted_volume_is_the_engines_count_for_one_person(basis, includes_personal, pv, leg_gvs):
    plan = capped_plan(basis, includes_personal)
    gv = pv + sum(leg_gvs)
    forest = Forest.build(np.array([-1] + [0] * len(leg_gvs), dtype=np.int64))
    engine = counted_group_volume(
        plan,
        plan.ranks[0],
        forest,
        np.array([pv] + leg_gvs, dtype=np.int64),  # each leg's own PV is its whole GV here
        np.array([gv, *leg_gvs], dtype=np.int64),
    )

    assert counted_volume(plan, plan.ranks[0], pv=pv, gv=gv, leg_gvs=leg_gvs) == engine[0]


@pytest.mark.parametrize("basis", ["required", "actual"])
def test_the_vectorized_cap_still_matches_a_hand_count_on_a_small_tree(basis):
    plan = capped_plan(basis, False)
    # 0 ← 1 ← 2, and 0 ← 3: person 0 has legs 1 (GV 900) and 3 (GV 200).
    forest = Forest.build(np.array([-1, 0, 1, 0], dtype=np.int64))
    pv = np.array([100_00, 400_00, 500_00, 200_00], dtype=np.int64)
    gv = forest.subtree_sum(pv)

    counted = counted_group_volume(plan, plan.ranks[0], forest, pv, gv)

    cap = 400_00 if basis == "required" else int(gv[0]) * 40 // 100
    assert counted[0] == 100_00 + min(900_00, cap) + min(200_00, cap)
