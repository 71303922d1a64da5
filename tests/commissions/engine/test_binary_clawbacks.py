"""Binary refunds of volume that already paired (rule 7 b-d and rule 8 of
commissions/engine/binary.py): hand-worked cases. The plain-Python reference that the property
test compares with the numpy code is ``reference`` in test_binary.py.

Volumes are written in CV units; the engine keeps cents (× 100). The tree (everyone active):

        0
      1   2
     3 4
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissions.engine import PlanValidationError
from commissions.engine.binary_refunds import _allocate
from commissions.engine.money import round_fraction, round_product_ratio

from .builders import cents, make_plan
from .test_binary import CYCLE_300, binary_plan, queue_of, run, tree_inputs


def refund(state: dict[str, Any], *rows: tuple[int, str, int]) -> dict[str, Any]:
    """The state with refunds (buyer, CV, source period) for the next period."""
    return {
        **state,
        "refunds": {
            "buyer": np.array([r[0] for r in rows], dtype=np.int64),
            "volume": np.array([-cents(r[1]) for r in rows], dtype=np.int64),
            "source_period_index": np.array([r[2] for r in rows], dtype=np.int64),
        },
    }


def clawbacks(state) -> list[tuple[int, ...]]:
    """(refund, owner, side, source, pairing period, volume, cents, restored) per row."""
    rows = state["clawbacks"]
    names = ("refund", "owner", "side", "source_period", "period", "volume", "amount", "restored")
    return [tuple(int(v) for v in row) for row in zip(*(rows[k] for k in names), strict=True)]


def pairing(state, owner: int, period: int) -> tuple[int, int, int, int]:
    rows = state["pairings"]
    for i in range(len(rows["owner"])):
        if rows["owner"][i] == owner and rows["period"][i] == period:
            return tuple(int(rows[k][i]) for k in ("paid", "left", "right", "clawed"))
    raise KeyError((owner, period))


def figures(state, owner: int) -> dict[str, int]:
    report = state["report"]
    row = list(report["owner"]).index(owner)
    return {k: int(v[row]) for k, v in report.items() if k != "owner"}


NOTHING = ["100", "0", "0", "0", "0"]  # 0 stays active; nobody buys


def test_a_refund_of_paired_volume_claws_back_its_share_and_puts_back_the_other_side():
    # Period 0: 0's left 1 + 3 + 4 = 700 + 440 + 100 = 1,240, right 2 = 950 → 3 cycles =
    # $75, consuming 900 of period-0 volume on each side (left 340 and right 50 carried).
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert pairing(state0, 0, 0) == (cents(75), cents(900), cents(900), 0)
    # Period 1: 3 refunds 400 CV of period 0. 1's left (3's side) still queues 440 → 40.
    # 0's left queues 340 → 0, and the other 60 had paired in period 0: it claws back
    # $75 × 60 / 900 = $5.00 and puts back 900 × 60 / 900 = 60 of the right's period-0
    # volume: 0's right queue 50 + 60 = 110 (period 0). Nothing pairs (left empty).
    paid, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "400", 0)))
    assert paid == {}
    assert clawbacks(state1) == [(0, 0, 0, 0, 0, cents(60), cents(5), cents(60))]
    assert queue_of(state1) == {
        (0, 1, 0): cents(110),
        (1, 0, 0): cents(40),
        (1, 1, 0): cents(100),
    }
    assert pairing(state1, 0, 0) == (cents(75), cents(900), cents(900), cents(5))
    zero = figures(state1, 0)
    assert (zero["refund_unmatched_left"], zero["refund_paired_left"]) == (cents(60), cents(60))
    assert (zero["restored_right"], zero["clawed"]) == (cents(60), cents(5))
    assert figures(state1, 1)["refund_paired_left"] == 0


def test_a_partial_refund_claws_back_pro_rata_rounded_once():
    # Period 0: 0's left 700 + 100 + 100 = 900, right 950 → 3 cycles = $75; left carries 0.
    # Period 1: 3 refunds 100 CV: $75 × 100 / 900 = $8.3333… → $8.33 (half up); 100 of the
    # right is put back (50 carried + 100 = 150).
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "100", 0)))
    assert clawbacks(state1) == [(0, 0, 0, 0, 0, cents(100), 833, cents(100))]
    assert queue_of(state1)[(0, 1, 0)] == cents(150)
    # away_from_zero takes the cent up: $8.34.
    up = make_plan(
        options={"rounding": "away_from_zero"},
        placement={"kind": "binary"},
        binary={"pairing": CYCLE_300},
    )
    _, state0, _ = run(up, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(up, tree_inputs(NOTHING), refund(state0, (3, "100", 0)))
    assert clawbacks(state1)[0][6] == 834


def test_a_refund_larger_than_what_paired_never_goes_below_zero():
    # 3 "refunds" 5,000 CV (more than was ever bought): 0's left paired 900 in period 0, so
    # at most 900 comes out of that pairing: all of its $75, and all of its 900 on the right
    # is put back (50 carried + 900 = 950); the rest is unmatched. Nothing goes negative.
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "5000", 0)))
    assert clawbacks(state1) == [(0, 0, 0, 0, 0, cents(900), cents(75), cents(900))]
    assert queue_of(state1)[(0, 1, 0)] == cents(950)
    assert figures(state1, 0)["refund_unmatched_left"] == cents(5000)
    assert figures(state1, 0)["clawed"] == cents(75)
    # 0's pairing is fully undone: no history row is left, so its pairing row goes too.
    assert not (state1["paired"]["owner"] == 0).any()
    assert not (state1["pairings"]["owner"] == 0).any()


def test_two_refunds_of_the_same_volume_never_claw_back_more_than_was_paid():
    # away_from_zero: each 1/9 of $75 is $8.3333… → $8.34. Period 1: 3 refunds 100 and 1
    # refunds 700 (in that order): $8.34 + $58.34 (700/900 × 75 = 58.333…) = $66.68.
    # Period 2: the same 700 is refunded again: only 100 is still in the pairing → $8.34
    # would make $75.02 > $75: it is held to the $8.32 left, and 600 is unmatched.
    plan = make_plan(
        options={"rounding": "away_from_zero"},
        placement={"kind": "binary"},
        binary={"pairing": CYCLE_300},
    )
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "100", 0), (1, "700", 0)))
    assert [row[6] for row in clawbacks(state1)] == [834, 5834]
    _, state2, _ = run(plan, tree_inputs(NOTHING), refund(state1, (1, "700", 0)))
    assert clawbacks(state2) == [(0, 0, 0, 0, 0, cents(100), 832, cents(100))]
    assert figures(state1, 0)["clawed"] + figures(state2, 0)["clawed"] == cents(75)
    assert figures(state2, 0)["refund_unmatched_left"] == cents(700)
    assert figures(state2, 0)["refund_paired_left"] == cents(100)


def test_volume_that_paired_in_two_periods_is_taken_from_the_newest_pairing_first():
    # Period 0: 0's left 1,240 (period 0), right nothing → all carried.
    # Periods 1 and 2: 2 buys 600 each → 2 cycles = $50 each, each taking 600 of the
    # period-0 left (1,240 → 640 → 40) and the period's own 600 on the right.
    # Period 3: 3 refunds 440 of period 0: 1's left 440 → 0; 0's left queue 40 → 0 and 400
    # comes out of period 2's pairing (the newest): $50 × 400 / 600 = $33.33, and 400 of
    # period 2's right volume is put back (as period-2 volume).
    plan = binary_plan(pairing=CYCLE_300)
    _, state, _ = run(plan, tree_inputs(["100", "700", "0", "440", "100"]))
    for _ in (1, 2):
        paid, state, _ = run(plan, tree_inputs(["100", "0", "600", "0", "0"]), state)
        assert paid == {0: cents(50)}
    _, state3, _ = run(plan, tree_inputs(NOTHING), refund(state, (3, "440", 0)))
    assert clawbacks(state3) == [(0, 0, 0, 0, 2, cents(400), 3333, cents(400))]
    assert queue_of(state3)[(0, 1, 2)] == cents(400)
    assert pairing(state3, 0, 1)[3] == 0 and pairing(state3, 0, 2)[3] == 3333


def test_volume_put_back_keeps_its_source_period_and_expires():
    # expire_periods 2 (and so 2 periods of pairing history). Period 0: 3 cycles as above,
    # 50 of the right carried. Period 2: 3 refunds 100 of period 0: $8.33 back, and 100 of the
    # period-0 right is put back — age 2: it may still pair this period, then expires with
    # the 50 (nobody pairs: the left is empty).
    plan = binary_plan(pairing=CYCLE_300, carry={"expire_periods": 2})
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(plan, tree_inputs(NOTHING), state0)
    _, state2, _ = run(plan, tree_inputs(NOTHING), refund(state1, (3, "100", 0)))
    assert clawbacks(state2) == [(0, 0, 0, 0, 0, cents(100), 833, cents(100))]
    assert (0, 1, 0) not in queue_of(state2)
    assert figures(state2, 0)["expired_right"] == cents(150)
    # The pairing history of period 0 is 2 periods old at the end of period 2: dropped, so a
    # later refund of period-0 volume claws nothing back (it is only reported unmatched).
    assert len(state2["paired"]["owner"]) == 0 and len(state2["pairings"]["owner"]) == 0
    _, state3, _ = run(plan, tree_inputs(NOTHING), refund(state2, (3, "100", 0)))
    assert clawbacks(state3) == []
    assert figures(state3, 0)["refund_unmatched_left"] == cents(100)


def test_clawback_periods_bounds_the_history_without_expiry():
    plan = binary_plan(pairing=CYCLE_300, clawback_periods=1)
    assert plan.components["binary"].history_periods == 1
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    # Kept at the end of period 0 (age 0 < 1): a refund in period 1 still finds it.
    assert len(state0["paired"]["owner"]) == 2
    _, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "100", 0)))
    assert [row[6] for row in clawbacks(state1)] == [833]
    # Dropped at the end of period 1 (age 1): a refund in period 2 finds nothing.
    _, state1, _ = run(plan, tree_inputs(NOTHING), state0)
    assert len(state1["paired"]["owner"]) == 0
    _, state2, _ = run(plan, tree_inputs(NOTHING), refund(state1, (3, "100", 0)))
    assert clawbacks(state2) == []
    assert binary_plan(pairing=CYCLE_300).components["binary"].history_periods == 12
    expiring = binary_plan(pairing=CYCLE_300, carry={"expire_periods": 3})
    assert expiring.components["binary"].history_periods == 3
    with pytest.raises(PlanValidationError) as error:
        binary_plan(pairing=CYCLE_300, clawback_periods=0)
    assert ("binary.clawback_periods", "must be at least 1") in error.value.errors


def test_refunds_on_both_sides_of_one_pairing_claw_back_at_most_what_it_paid():
    # 0's pairing of period 0 consumed 900 left and 900 right for $75. In period 1, 3 refunds
    # 100 (left, $8.33) and 2 refunds 950 (right: 50 from the queue, 900 from the pairing,
    # $75 asked): the second is held to the $66.67 left. Each puts back the other side's
    # volume still in the pairing after both took theirs: the left refund finds no right
    # volume left; the right refund asks 900 of the left back and gets the 800 still there.
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "950", "100", "100"]))
    _, state1, _ = run(plan, tree_inputs(NOTHING), refund(state0, (3, "100", 0), (2, "950", 0)))
    assert [(row[2], row[5], row[6], row[7]) for row in clawbacks(state1)] == [
        (0, cents(100), 833, 0),
        (1, cents(900), 6667, cents(800)),
    ]
    assert figures(state1, 0)["clawed"] == cents(75)
    assert queue_of(state1)[(0, 0, 0)] == cents(800)


# -- the two vectorized helpers ----------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9)), max_size=12),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9)), max_size=12),
)
def test_allocate_serves_each_key_in_order(supply_rows, demand_rows):
    supply_rows.sort(key=lambda row: row[0])
    demand_rows.sort(key=lambda row: row[0])
    got = _allocate(
        np.array([r[0] for r in supply_rows], dtype=np.int64),
        np.array([r[1] for r in supply_rows], dtype=np.int64),
        np.array([r[0] for r in demand_rows], dtype=np.int64),
        np.array([r[1] for r in demand_rows], dtype=np.int64),
    )
    want = []
    left = [volume for _, volume in supply_rows]
    for d, (key, amount) in enumerate(demand_rows):
        for s, (supply_key, _) in enumerate(supply_rows):
            if supply_key == key and amount and left[s]:
                part = min(left[s], amount)
                left[s] -= part
                amount -= part
                want.append((d, s, part))
    assert sorted(zip(*(a.tolist() for a in got), strict=True)) == sorted(want)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**12), st.integers(1, 10**12), st.floats(0, 1)),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["half_up", "half_even", "toward_zero", "away_from_zero"]),
)
def test_round_product_ratio_is_exact(drawn, mode):
    # A share b / d ≤ 1 of an amount a, as clawbacks take; products beyond int64 included.
    rows = [(a, int(d * share), d) for a, d, share in drawn]
    a, b, d = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))
    got = round_product_ratio(a, b, d, mode).tolist()
    assert got == [round_fraction(Fraction(x * y, z), mode) for x, y, z in rows]
