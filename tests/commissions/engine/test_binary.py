"""The binary component (commissions/engine/binary.py): hand-worked cases, a published
example, plan validation and a plain-Python reference compared by hypothesis.

Volumes in the hand-worked cases are written in CV units; the engine keeps cents (× 100).
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from commissions.engine import EngineInputs, PlanValidationError, run_engine
from commissions.engine import binary as binary_module
from commissions.engine.binary import BinaryOptions, describe, explain, max_payout_percent
from commissions.engine.components import ComponentContext
from commissions.engine.money import round_fraction
from commissions.engine.results import KIND_CODES
from commissions.engine.tree import Forest

from .builders import cents, make_inputs, make_plan

BINARY = KIND_CODES["binary"]
CYCLE_300 = {"method": "cycle", "left": 300, "right": 300, "amount": 25}


def binary_plan(**section: Any):
    return make_plan(placement={"kind": "binary"}, binary=section)


def place(inputs: EngineInputs, parent: list[int], position: list[int]) -> EngineInputs:
    return dataclasses.replace(
        inputs,
        placement_parent=np.array(parent, dtype=np.int64),
        placement_position=np.array(position, dtype=np.int16),
    )


def run(plan, inputs, state=None):
    if state is not None:
        inputs = dataclasses.replace(inputs, component_inputs={"binary": state})
    result = run_engine(plan, inputs)
    is_binary = result.lines.kind == BINARY
    paid = {
        int(e): int(a)
        for e, a in zip(result.lines.earner[is_binary], result.lines.amount[is_binary], strict=True)
    }
    return paid, result.component_state["binary"], result


def queue_of(state) -> dict[tuple[int, int, int], int]:
    return {
        (int(o), int(s), int(p)): int(v)
        for o, s, p, v in zip(
            state["owner"], state["side"], state["period_index"], state["volume"], strict=True
        )
    }


# A small tree used by several cases: 0 is the root; 1 left and 2 right of 0; 3 left of 1,
# 4 right of 1. Everyone active (PV ≥ 100).
#        0
#      1   2
#     3 4
PARENT = [-1, 0, 0, 1, 1]
POSITION = [-1, 0, 1, 0, 1]


def tree_inputs(pv: list[str]) -> EngineInputs:
    return place(make_inputs(PARENT, pv), PARENT, POSITION)


# -- hand-worked cases ---------------------------------------------------------------------


def test_several_pairs_and_the_stronger_leg_carries():
    # 0's left leg = 1 + 3 + 4 = 700 + 440 + 100 = 1,240; right = 2 = 950.
    # cycles = min(1240 // 300, 950 // 300) = min(4, 3) = 3 → 3 × $25 = $75.
    # left carries 1240 − 900 = 340, right 950 − 900 = 50.
    # 1: left 440, right 100 → 0 cycles; both carried.
    plan = binary_plan(pairing=CYCLE_300)
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(75)}
    assert queue_of(state) == {
        (0, 0, 0): cents(340),
        (0, 1, 0): cents(50),
        (1, 0, 0): cents(440),
        (1, 1, 0): cents(100),
    }
    options = plan.components["binary"]
    assert describe(0, state, options) == (
        "binary: 3 pairs of 300/300 CV, left 1,240 → 340 carried, right 950 → 50 carried"
    )


def test_percent_of_the_weaker_leg():
    # 0: left 1,240, right 950 → 10 % of 950 = $95.00; left carries 290, right 0.
    # 1: left 440, right 100 → 10 % of 100 = $10.00; left carries 340.
    plan = binary_plan(pairing={"method": "percent", "percent": 10})
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(95), 1: cents(10)}
    assert queue_of(state) == {(0, 0, 0): cents(290), (1, 0, 0): cents(340)}


def test_asymmetric_cycle():
    # 200:100 for $10. 0: left 1,240 // 200 = 6, right 950 // 100 = 9 → 6 cycles = $60;
    # left carries 1240 − 1200 = 40, right 950 − 600 = 350.
    # 1: left 440 // 200 = 2, right 100 // 100 = 1 → 1 cycle = $10; left 240, right 0.
    plan = binary_plan(pairing={"method": "cycle", "left": 200, "right": 100, "amount": 10})
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(60), 1: cents(10)}
    assert queue_of(state) == {
        (0, 0, 0): cents(40),
        (0, 1, 0): cents(350),
        (1, 0, 0): cents(240),
    }


def test_fractional_cycles():
    # 0: left 1,240 / 300 = 4.1333…, right 950 / 300 = 3.1666… → 3.166666 cycles (millionths,
    # floored) × $25 = $79.16665 → $79.17 (half up). Consumed ceil(3.166666 × 300) = 950 on
    # each side: left carries 290, right 0.
    # 1: left 440, right 100 → 100/300 = 0.333333 cycles × $25 = $8.333325 → $8.33; consumed
    # ceil(0.333333 × 300) = ceil(99.9999) = 100 each side; left carries 340.
    plan = binary_plan(pairing=CYCLE_300, fractional=True)
    paid, state, result = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: 7917, 1: 833}
    assert queue_of(state) == {(0, 0, 0): cents(290), (1, 0, 0): cents(340)}
    line = result.lines
    first = int(np.flatnonzero(line.kind == BINARY)[0])
    # base in 1e-6 cent at a rate of 100 rate units (1e-6): base × rate is the pay in 1e-8 cent
    assert int(line.base[first]) == 2500 * 3_166_666 and int(line.rate[first]) == 100
    text = explain(_Line(line.base[first], line.rate[first]), plan.components["binary"])
    assert text == "binary: 3.166666 pairs of 300/300 CV at 25.00 each"


@dataclasses.dataclass
class _Line:
    base: int
    rate: int


def test_cap_pairs_flush_removes_the_excess_volume():
    # 0: left 1,240, right 950 → 3 cycles, cap 2 pairs → $50; flush: all 3 cycles' volume
    # (900 each side) is consumed: left carries 340, right 50 (as without the cap).
    plan = binary_plan(pairing=CYCLE_300, cap={"pairs": 2, "excess": "flush"})
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(50)}
    assert queue_of(state)[(0, 0, 0)] == cents(340)
    assert queue_of(state)[(0, 1, 0)] == cents(50)
    report = state["report"]
    assert int(report["flushed_left"][0]) == int(report["flushed_right"][0]) == cents(300)


def test_cap_amount_carry_keeps_the_excess_volume():
    # cap $50 → 2 cycles paid ($50 // $25); carry: only 2 cycles' volume (600) is consumed:
    # left carries 1240 − 600 = 640, right 950 − 600 = 350.
    plan = binary_plan(pairing=CYCLE_300, cap={"amount": 50, "excess": "carry"})
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(50)}
    assert queue_of(state)[(0, 0, 0)] == cents(640)
    assert queue_of(state)[(0, 1, 0)] == cents(350)


def test_percent_cap_amount():
    # 10 % of 950 = $95 > cap $40 → paid volume = 40 / 10 % = 400 → $40. flush: 950 consumed
    # on each side (left carries 290); carry: 400 consumed (left 840, right 550).
    flush = binary_plan(pairing={"method": "percent", "percent": 10}, cap={"amount": 40})
    paid, state, _ = run(flush, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid[0] == cents(40)
    assert queue_of(state)[(0, 0, 0)] == cents(290) and (0, 1, 0) not in queue_of(state)
    carry = binary_plan(
        pairing={"method": "percent", "percent": 10}, cap={"amount": 40, "excess": "carry"}
    )
    paid, state, _ = run(carry, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid[0] == cents(40)
    assert queue_of(state)[(0, 0, 0)] == cents(840)
    assert queue_of(state)[(0, 1, 0)] == cents(550)


def test_qualification_enrollee_in_each_leg_and_unqualified_volume_carries():
    # Everyone enrolled by 0 except 3 and 4 (enrolled by 1). 0 needs one active personal
    # enrollee in each leg: 1 (left) and 2 (right) → qualified: 3 cycles as in the first case.
    # 1 has enrollees 3 (left) and 4 (right) but 4 is inactive (PV 50 < 100) → not qualified:
    # nothing pairs, left 440 and right 50 carry. (4's 50 CV still fills legs.)
    plan = binary_plan(pairing=CYCLE_300, qualification={"personally_enrolled_active_per_leg": 1})
    inputs = place(
        make_inputs(PARENT, ["100", "700", "950", "440", "50"], enroller=[-1, 0, 0, 1, 1]),
        PARENT,
        POSITION,
    )
    paid, state, _ = run(plan, inputs)
    # 0: left 700 + 440 + 50 = 1,190 // 300 = 3, right 950 // 300 = 3 → $75.
    assert paid == {0: cents(75)}
    assert queue_of(state)[(1, 0, 0)] == cents(440)
    assert queue_of(state)[(1, 1, 0)] == cents(50)
    # Enrolled deeper in the leg counts too: 3 enrolled by 0 instead of 1 and 1 enrolled by
    # nobody → 0's left leg still holds an active personal enrollee (3).
    inputs = place(
        make_inputs(PARENT, ["100", "700", "950", "440", "50"], enroller=[-1, -1, 0, 0, 1]),
        PARENT,
        POSITION,
    )
    assert run(plan, inputs)[0] == {0: cents(75)}
    # Nobody enrolled by 0 on the right → 0 unqualified, everything carries.
    inputs = place(
        make_inputs(PARENT, ["100", "700", "950", "440", "50"], enroller=[-1, 0, -1, 1, 1]),
        PARENT,
        POSITION,
    )
    paid, state, _ = run(plan, inputs)
    assert paid == {}
    assert queue_of(state)[(0, 0, 0)] == cents(1190)
    assert queue_of(state)[(0, 1, 0)] == cents(950)
    assert "not qualified" in describe(0, state, plan.components["binary"])


def test_minimum_rank_and_inactive_earner():
    # Rank "pro" needs 500 PV: 0 has 100 → below the minimum rank, pays nothing; 1 (PV 700)
    # would pair but has no right leg volume.
    plan = make_plan(
        placement={"kind": "binary"},
        ranks=[
            {"code": "member", "personal_pv": "100", "unilevel_levels": 3},
            {"code": "pro", "personal_pv": "500", "unilevel_levels": 3},
        ],
        binary={"pairing": CYCLE_300, "qualification": {"rank": "pro"}},
    )
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {}
    # PV 600 → rank pro → 3 cycles as in the first case.
    assert run(plan, tree_inputs(["600", "700", "950", "440", "100"]))[0] == {0: cents(75)}
    # Inactive (PV 50 < 100): not paid either.
    assert run(plan, tree_inputs(["50", "700", "950", "440", "100"]))[0] == {}


def test_carry_consumed_oldest_first_with_expiry():
    # Period 0: 0 has left 1,240 (1 + 3 + 4), right 0 → all carried as period-0 entries.
    # Period 1: right gets 2's 950 → left available 340? no: left 1,240 (p0) + 0 (nobody on
    # the left buys in p1) ; right 950 (p1). 3 cycles consume 900 left from the oldest entry
    # (p0: 1240 → 340) and 900 right (p1: 950 → 50).
    # With expire_periods 2: at the end of period 1 the p0 entry has age 1 < 2 → kept;
    # period 2 (no volume): it has age 2 ≥ 2 → expired (reported), right p1 entry (age 1) kept.
    plan = binary_plan(pairing=CYCLE_300, carry={"expire_periods": 2})
    p0 = tree_inputs(["100", "700", "0", "440", "100"])
    _, state0, _ = run(plan, p0)
    assert queue_of(state0)[(0, 0, 0)] == cents(1240)
    p1 = tree_inputs(["100", "0", "950", "0", "0"])
    paid1, state1, _ = run(plan, p1, state0)
    assert paid1 == {0: cents(75)}
    assert queue_of(state1) == {
        (0, 0, 0): cents(340),
        (0, 1, 1): cents(50),
        (1, 0, 0): cents(440),
        (1, 1, 0): cents(100),
    }
    p2 = tree_inputs(["100", "0", "0", "0", "0"])
    paid2, state2, _ = run(plan, p2, state1)
    assert paid2 == {}
    assert queue_of(state2) == {(0, 1, 1): cents(50)}
    report = state2["report"]
    row = list(report["owner"]).index(0)
    assert int(report["expired_left"][row]) == cents(340)
    # 1's period-0 entries expired too (440 left, 100 right; 1 had no pairs: inactive in p2).
    row = list(report["owner"]).index(1)
    assert int(report["expired_left"][row]) == cents(440)


def test_oldest_first_across_two_carried_periods():
    # Queue for 0 on the left: p0 100, p1 500; right new 300 in p2. 1 cycle consumes 300 on
    # the left: p0's 100 first, then 200 of p1 → p1 keeps 300.
    plan = binary_plan(pairing=CYCLE_300)
    state = {
        "period": 1,
        "owner": np.array([0, 0]),
        "side": np.array([0, 0]),
        "period_index": np.array([0, 1]),
        "volume": np.array([cents(100), cents(500)]),
    }
    paid, new_state, _ = run(plan, tree_inputs(["100", "0", "300", "0", "0"]), state)
    assert paid == {0: cents(25)}
    assert queue_of(new_state) == {(0, 0, 1): cents(300)}


def test_flush_weaker_leg():
    # 0: left 1,240, right 950 → 3 cycles; right is weaker (950 < 1,240): its rest 50 is
    # flushed, the left's 340 carries. 1: left 440, right 100 → 0 cycles, right weaker: 100
    # flushed, 440 carries.
    plan = binary_plan(pairing=CYCLE_300, flush_weaker_leg=True)
    paid, state, _ = run(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert paid == {0: cents(75)}
    assert queue_of(state) == {(0, 0, 0): cents(340), (1, 0, 0): cents(440)}


def test_refund_of_carried_volume_removes_it():
    # Period 0: 0's left holds 1,240 (p0) unpaired (right empty). In period 1, 3 refunds
    # 400 CV of a period-0 order: 3's ancestors are 1 (left side) and 0 (left side) → 0's p0
    # entry 1240 → 840, 1's p0 left entry 440 → 40. Then 2 buys 950 on the right: 0 pairs
    # min(840 // 300, 950 // 300) = 2 cycles → $50; left 840 − 600 = 240, right 350.
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "0", "440", "100"]))
    state0 = dict(state0)
    state0["refunds"] = {
        "buyer": np.array([3]),
        "volume": np.array([-cents(400)]),
        "source_period_index": np.array([0]),
    }
    paid, state1, _ = run(plan, tree_inputs(["100", "0", "950", "0", "0"]), state0)
    assert paid == {0: cents(50)}
    assert queue_of(state1) == {
        (0, 0, 0): cents(240),
        (0, 1, 1): cents(350),
        (1, 0, 0): cents(40),
        (1, 1, 0): cents(100),
    }


def test_refund_of_volume_no_longer_queued_is_reported_unmatched():
    # 1's p0 left entry is 440; a refund of 500 CV by 3 from p0 takes 440 and reports 60
    # unmatched for (1, left); 0's left p0 entry 1,240 gives 500 (→ 740).
    plan = binary_plan(pairing=CYCLE_300)
    _, state0, _ = run(plan, tree_inputs(["100", "700", "0", "440", "100"]))
    state0 = {
        **state0,
        "refunds": {
            "buyer": np.array([3]),
            "volume": np.array([-cents(500)]),
            "source_period_index": np.array([0]),
        },
    }
    _, state1, _ = run(plan, tree_inputs(["100", "0", "0", "0", "0"]), state0)
    assert queue_of(state1)[(0, 0, 0)] == cents(740)
    assert (1, 0, 0) not in queue_of(state1)
    report = state1["report"]
    row = list(report["owner"]).index(1)
    assert int(report["refund_unmatched_left"][row]) == cents(60)


def test_refund_inside_the_period_never_pairs():
    # The service passes CV net of the period's refunds: 2 bought 950 and refunded 950 in the
    # same period → CV 0 → nothing on 0's right, nothing pairs.
    plan = binary_plan(pairing=CYCLE_300)
    assert run(plan, tree_inputs(["100", "700", "0", "440", "100"]))[0] == {}


def test_published_example_be_infinity_bb_example_3():
    # Be Infinity compensation plan docs, "BB - Example 3" (docs.be-infinity.com/compensation-
    # plan/business-logic/bonus/binary-bonus/bb-example-3): left substructure 1,800 volume,
    # right 20,800, cycles of 200 volume on each side, value per cycle $20 (rank Saphire),
    # "full Binary Commission, no paycut". By the rule: cycles = min(1800 // 200,
    # 20800 // 200) = min(9, 104) = 9 → 9 × $20 = $180; the left is used up and the right
    # carries 20,800 − 1,800 = 19,000.
    plan = binary_plan(pairing={"method": "cycle", "left": 200, "right": 200, "amount": 20})
    inputs = place(make_inputs([-1, 0, 0], ["100", "1800", "20800"]), [-1, 0, 0], [-1, 0, 1])
    paid, state, _ = run(plan, inputs)
    assert paid == {0: cents(180)}
    assert queue_of(state) == {(0, 1, 0): cents(19000)}


def test_payout_bound_and_explain():
    cycle = binary_plan(pairing={"method": "cycle", "left": 200, "right": 100, "amount": 10})
    # $10 per cycle of at least 100 CV on a side → 10 % of the weaker side's volume.
    assert max_payout_percent(cycle.components["binary"]) == 10
    percent = binary_plan(pairing={"method": "percent", "percent": "12.5"})
    assert max_payout_percent(percent.components["binary"]) == pytest.approx(12.5)
    assert explain(_Line(cents(950), 12_500_000), percent.components["binary"]) == (
        "binary: 12.5 % of the weaker leg's 950 CV"
    )
    assert (
        explain(_Line(cents(75), 100_000_000), binary_plan(pairing=CYCLE_300).components["binary"])
        == "binary: 3 pairs of 300/300 CV at 25.00 each"
    )


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "path", "words"),
    [
        ({}, "binary.pairing", "is required"),
        ({"pairing": {"method": "cycle", "left": 300}}, "binary.pairing.right", "is required"),
        (
            {"pairing": {"method": "cycle", "left": 0, "right": 3, "amount": 1}},
            "binary.pairing.left",
            "greater than 0",
        ),
        ({"pairing": {"method": "percent"}}, "binary.pairing.percent", "is required"),
        ({"pairing": {"method": "matrix"}}, "binary.pairing.method", "must be one of"),
        (
            {"pairing": {"method": "percent", "percent": 10}, "fractional": True},
            "binary.fractional",
            "only used with method cycle",
        ),
        ({"pairing": CYCLE_300, "cap": {"pairs": 2, "amount": 5}}, "binary.cap", "exactly one"),
        (
            {"pairing": {"method": "percent", "percent": 10}, "cap": {"pairs": 2}},
            "binary.cap.pairs",
            "only used with method cycle",
        ),
        (
            {"pairing": CYCLE_300, "cap": {"pairs": 2, "excess": "burn"}},
            "binary.cap.excess",
            "must be one of",
        ),
        (
            {"pairing": CYCLE_300, "carry": {"expire_periods": 0}},
            "binary.carry.expire_periods",
            "at least 1",
        ),
        (
            {"pairing": CYCLE_300, "qualification": {"rank": "gold"}},
            "binary.qualification.rank",
            "unknown rank",
        ),
        ({"pairing": CYCLE_300, "volume": "gv"}, "binary.volume", "must be one of"),
        ({"pairing": CYCLE_300, "flush": True}, "binary.flush", "unknown key"),
    ],
)
def test_bad_sections_are_refused_with_their_path(section, path, words):
    with pytest.raises(PlanValidationError) as error:
        binary_plan(**section)
    assert any(p == path and words in m for p, m in error.value.errors), error.value.errors


def test_needs_a_binary_placement_tree():
    with pytest.raises(PlanValidationError) as error:
        make_plan(binary={"pairing": CYCLE_300})
    assert ("binary", "needs a binary placement tree (placement: {kind: binary})") in (
        error.value.errors
    )


def test_no_placement_tree_in_the_inputs_pays_nothing_and_carries_nothing():
    plan = binary_plan(pairing=CYCLE_300)
    paid, state, _ = run(plan, make_inputs(PARENT, ["100", "700", "950", "440", "100"]))
    assert paid == {} and queue_of(state) == {}


def test_a_queue_row_given_twice_is_refused():
    plan = binary_plan(pairing=CYCLE_300)
    state = {
        "period": 0,
        "owner": np.array([0, 0]),
        "side": np.array([0, 0]),
        "period_index": np.array([0, 0]),
        "volume": np.array([100, 100]),
    }
    with pytest.raises(ValueError, match="two rows for the same"):
        run(plan, tree_inputs(["100", "0", "0", "0", "0"]), state)


def test_plan_without_binary_is_unchanged():
    plan = make_plan()
    result = run_engine(plan, tree_inputs(["100", "700", "950", "440", "100"]))
    assert "binary" not in result.component_state
    assert not (result.lines.kind == BINARY).any()


# -- reference implementation (plain Python, from the rules' words) -------------------------


@dataclasses.dataclass
class Reference:
    """One period of the reference: raw pay per earner, the queue, the pairing history and
    pairings, and the clawbacks {(refund, owner, pairing period): (volume, cents, restored)}."""

    pay: dict[int, int]
    queue: dict[tuple[int, int, int], int]
    history: dict[tuple[int, int, int, int], int]
    pairings: dict[tuple[int, int], list[int]]  # [paid, left, right, clawed]
    clawbacks: dict[tuple[int, int, int], tuple[int, int, int]]


def reference(
    options: BinaryOptions,
    pparent: list[int],
    position: list[int],
    volume: list[int],
    active: list[bool],
    enroller: list[int],
    paid_as: list[int],
    queue: dict[tuple[int, int, int], int],
    refunds: list[tuple[int, int, int]],
    current: int,
    history: dict[tuple[int, int, int, int], int] | None = None,
    pairings: dict[tuple[int, int], list[int]] | None = None,
    rounding: str = "half_up",
) -> Reference:
    """One period, from the rules' words (rules 1-8 of the module docstring)."""
    n = len(pparent)
    history = {key: value for key, value in (history or {}).items() if value > 0}
    pairings = {key: list(value) for key, value in (pairings or {}).items()}

    def uplines(person: int) -> list[tuple[int, int]]:
        """(ancestor, side of the path under it), nearest first."""
        out, child = [], person
        while pparent[child] >= 0:
            out.append((pparent[child], position[child]))
            child = pparent[child]
        return out

    queue = {key: value for key, value in queue.items() if value > 0}
    # 7a. Refunds: remove from the source period's entry of each upline's side.
    rests = []
    for number, (buyer, refunded, source) in enumerate(refunds):
        for owner, side in uplines(buyer):
            key = (owner, side, source)
            taken = min(queue.get(key, 0), -refunded)
            if key in queue:
                queue[key] -= taken
            rests.append((number, owner, side, source, -refunded - taken))
    # 7b. The rest from the pairing history of (owner, side, source), newest pairing first.
    pieces = []
    for number, owner, side, source, rest in rests:
        for key in sorted(
            (k for k in history if k[:3] == (owner, side, source)), key=lambda k: -k[3]
        ):
            part = min(history[key], rest)
            if part > 0:
                history[key] -= part
                rest -= part
                pieces.append([number, owner, side, source, key[3], part, 0, 0])
    # 7c. Claw back the share of each pairing, in refund order, never more than is left.
    pieces.sort(key=lambda piece: piece[0])
    for piece in pieces:
        _, owner, side, _, paired_in, part, _, _ = piece
        pairing = pairings.get((owner, paired_in))
        if pairing is None or pairing[1 + side] == 0:
            continue
        paid, same, other = pairing[0], pairing[1 + side], pairing[2 - side]
        cents = min(round_fraction(Fraction(paid * part, same), rounding), paid - pairing[3])
        pairing[3] += cents
        piece[6] = cents
        piece[7] = other * part // same  # asked back, floored
    # 7d. Put back the other side's volume of that pairing, newest source period first.
    for piece in pieces:
        _, owner, side, _, paired_in, _, _, wanted = piece
        given = 0
        for key in sorted(
            (k for k in history if k[0] == owner and k[1] == 1 - side and k[3] == paired_in),
            key=lambda k: -k[2],
        ):
            part = min(history[key], wanted - given)
            history[key] -= part
            given += part
            old = options.expire_periods is not None and current - key[2] > options.expire_periods
            if part and not old:
                back = (owner, 1 - side, key[2])
                queue[back] = queue.get(back, 0) + part
        piece[7] = given
    clawbacks = {(p[0], p[1], p[4]): (p[5], p[6], p[7]) for p in pieces}
    # Every upline's leg gets each person's volume, this period as the newest entry.
    for person in range(n):
        if volume[person] > 0:
            for owner, side in uplines(person):
                key = (owner, side, current)
                queue[key] = queue.get(key, 0) + volume[person]
    # Qualification.
    qualified = []
    for person in range(n):
        ok = active[person] and paid_as[person] >= options.min_rank
        if options.enrollees_per_leg:
            per_side = [0, 0]
            for other in range(n):
                if enroller[other] == person and active[other]:
                    for owner, side in uplines(other):
                        if owner == person:
                            per_side[side] += 1
            ok = ok and min(per_side) >= options.enrollees_per_leg
        qualified.append(ok)
    pay: dict[int, int] = {}
    for person in range(n):
        left = sum(v for (o, s, _), v in queue.items() if o == person and s == 0)
        right = sum(v for (o, s, _), v in queue.items() if o == person and s == 1)
        take = [0, 0]
        with_pay = [0, 0]
        raw = 0
        if qualified[person]:
            if options.method == "percent":
                weaker = min(left, right)
                paid_volume = weaker
                if options.cap_amount is not None:
                    paid_volume = min(
                        paid_volume, options.cap_amount * 10**8 // options.percent_rate
                    )
                raw = paid_volume * options.percent_rate
                used = weaker if options.cap_excess == "flush" else paid_volume
                take = [used, used]
                with_pay = [paid_volume, paid_volume]
            else:
                size = (options.cycle_left, options.cycle_right)
                if options.fractional:
                    # Millionths of a cycle, floored on each side.
                    cycles = min(
                        Fraction(left * 10**6 // size[0], 10**6),
                        Fraction(right * 10**6 // size[1], 10**6),
                    )
                else:
                    cycles = Fraction(min(left // size[0], right // size[1]))
                paid_cycles = cycles
                if options.cap_pairs is not None:
                    paid_cycles = min(paid_cycles, options.cap_pairs)
                if options.cap_amount is not None:
                    limit = Fraction(options.cap_amount, options.cycle_amount)
                    if options.fractional:
                        limit = Fraction(int(limit * 10**6), 10**6)
                    else:
                        limit = Fraction(int(limit))
                    paid_cycles = min(paid_cycles, limit)
                raw = int(paid_cycles * options.cycle_amount * 10**8)  # 1e-8 cent
                used_cycles = cycles if options.cap_excess == "flush" else paid_cycles
                take = [_ceil(used_cycles * size[0]), _ceil(used_cycles * size[1])]
                with_pay = [_ceil(paid_cycles * size[0]), _ceil(paid_cycles * size[1])]
        if raw > 0:
            pay[person] = raw
        if any(with_pay):
            # 8. The pairing: what it paid (rounded as its line) and consumed with pay.
            cents = round_fraction(Fraction(raw, 10**8), rounding)
            pairings[(person, current)] = [cents, with_pay[0], with_pay[1], 0]
        # Consume oldest first on each side; the paid part is the oldest.
        for side in (0, 1):
            remaining, paid_left = take[side], with_pay[side]
            for key in sorted(k for k in queue if k[0] == person and k[1] == side):
                used = min(queue[key], remaining)
                queue[key] -= used
                remaining -= used
                paid_part = min(used, paid_left)
                paid_left -= paid_part
                if paid_part:
                    history[(person, side, key[2], current)] = paid_part
        if options.flush_weaker_leg and qualified[person]:
            if options.method == "percent":
                weaker_sides = [s for s, v in ((0, left), (1, right)) if v == min(left, right)]
            else:
                lw = left * options.cycle_right
                rw = right * options.cycle_left
                weaker_sides = [s for s, v in ((0, lw), (1, rw)) if v == min(lw, rw)]
            for key in list(queue):
                if key[0] == person and key[1] in weaker_sides:
                    queue[key] = 0
    if options.expire_periods is not None:
        for key in list(queue):
            if current - key[2] >= options.expire_periods:
                queue[key] = 0
    keep = options.history_periods
    history = {k: v for k, v in history.items() if v > 0 and current - k[2] < keep}
    pairings = {
        k: v for k, v in pairings.items() if any(h[0] == k[0] and h[3] == k[1] for h in history)
    }
    return Reference(
        pay, {key: value for key, value in queue.items() if value > 0}, history, pairings, clawbacks
    )


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def refund(draw, n: int, pvs: list[list[int]], period: int) -> tuple[int, int, int]:
    """(buyer, −volume, source period) of a refund in ``period``: anyone, any amount; or
    (mostly) a part or all of what someone bought in an earlier period."""
    source = draw(st.integers(0, period - 1))
    bought = [person for person in range(n) if pvs[source][person] > 0]
    if bought and draw(st.integers(0, 3)):
        buyer = draw(st.sampled_from(bought))
        return buyer, -draw(st.integers(1, pvs[source][buyer] // 100)) * 100, source
    return draw(st.integers(0, n - 1)), -draw(st.integers(1, 800)) * 100, source


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 9))
    pparent, position = [-1], [-1]
    for person in range(1, n):
        free = [
            (p, s)
            for p in range(person)
            for s in (0, 1)
            if (p, s) not in set(zip(pparent, position, strict=True))
        ]
        if draw(st.integers(0, 9)) == 0 or not free:
            pparent.append(-1)
            position.append(-1)
        else:
            owner, side = draw(st.sampled_from(free))
            pparent.append(owner)
            position.append(side)
    enroller = [-1] + [draw(st.integers(-1, person - 1)) for person in range(1, n)]
    periods = draw(st.integers(1, 4))
    pvs = [
        [draw(st.sampled_from([0, 50, 100, 150, 300, 450, 1000])) * 100 for _ in range(n)]
        for _ in range(periods)
    ]
    refunds = [
        [refund(draw, n, pvs, p) for _ in range(draw(st.integers(0, 3)))] if p else []
        for p in range(periods)
    ]
    method = draw(st.sampled_from(["cycle", "percent"]))
    section: dict[str, Any] = {}
    if method == "cycle":
        section["pairing"] = {
            "method": "cycle",
            "left": draw(st.sampled_from([100, 200, 300])),
            "right": draw(st.sampled_from([100, 300])),
            "amount": draw(st.sampled_from([10, 25, "7.5"])),
        }
        section["fractional"] = draw(st.booleans())
        cap = draw(st.sampled_from([None, {"pairs": 2}, {"amount": 40}]))
    else:
        section["pairing"] = {
            "method": "percent",
            "percent": draw(st.sampled_from([10, "12.5", "7.777777"])),
        }
        cap = draw(st.sampled_from([None, {"amount": 40}]))
    if cap is not None:
        section["cap"] = {**cap, "excess": draw(st.sampled_from(["flush", "carry"]))}
    if draw(st.booleans()):
        section["carry"] = {"expire_periods": draw(st.integers(1, 2))}
    if draw(st.booleans()):
        section["clawback_periods"] = draw(st.integers(1, 3))
    section["flush_weaker_leg"] = draw(st.booleans())
    qualification: dict[str, Any] = {}
    if draw(st.booleans()):
        qualification["personally_enrolled_active_per_leg"] = draw(st.integers(1, 2))
    if draw(st.booleans()):
        qualification["rank"] = "member"
    if qualification:
        section["qualification"] = qualification
    ranks = [[draw(st.integers(0, 1)) for _ in range(n)] for _ in range(periods)]
    rounding = draw(st.sampled_from(["half_up", "half_even", "toward_zero", "away_from_zero"]))
    return pparent, position, enroller, pvs, refunds, section, ranks, rounding


def history_of(state) -> dict[tuple[int, int, int, int], int]:
    paired = state["paired"]
    return {
        (int(o), int(s), int(f), int(p)): int(v)
        for o, s, f, p, v in zip(
            paired["owner"],
            paired["side"],
            paired["source_period"],
            paired["period"],
            paired["volume"],
            strict=True,
        )
    }


def pairings_of(state) -> dict[tuple[int, int], list[int]]:
    rows = state["pairings"]
    return {
        (int(o), int(p)): [int(a), int(b), int(c), int(d)]
        for o, p, a, b, c, d in zip(
            rows["owner"],
            rows["period"],
            rows["paid"],
            rows["left"],
            rows["right"],
            rows["clawed"],
            strict=True,
        )
    }


def clawbacks_of(state) -> dict[tuple[int, int, int], tuple[int, int, int]]:
    rows = state["clawbacks"]
    return {
        (int(r), int(o), int(p)): (int(v), int(a), int(b))
        for r, o, p, v, a, b in zip(
            rows["refund"],
            rows["owner"],
            rows["period"],
            rows["volume"],
            rows["amount"],
            rows["restored"],
            strict=True,
        )
    }


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_numpy_matches_the_reference(scenario):
    pparent, position, enroller, pvs, refunds, section, ranks, rounding = scenario
    plan = make_plan(options={"rounding": rounding}, placement={"kind": "binary"}, binary=section)
    options = plan.components["binary"]
    n = len(pparent)
    state: dict[str, Any] | None = None
    queue: dict[tuple[int, int, int], int] = {}
    history: dict[tuple[int, int, int, int], int] = {}
    pairings: dict[tuple[int, int], list[int]] = {}
    for period, pv in enumerate(pvs):
        inputs = EngineInputs(
            parent=np.array(pparent, dtype=np.int64),
            enroller=np.array(enroller, dtype=np.int64),
            status=np.zeros(n, dtype=np.int8),
            pv=np.array(pv, dtype=np.int64),
            cv=np.array(pv, dtype=np.int64),
            join_day=np.zeros(n, dtype=np.int32),
            period_start_day=0,
            period_end_day=29,
            placement_parent=np.array(pparent, dtype=np.int64),
            placement_position=np.array(position, dtype=np.int16),
            component_inputs={}
            if state is None
            else {
                "binary": {
                    **state,
                    "refunds": {
                        "buyer": np.array([r[0] for r in refunds[period]], dtype=np.int64),
                        "volume": np.array([r[1] for r in refunds[period]], dtype=np.int64),
                        "source_period_index": np.array(
                            [r[2] for r in refunds[period]], dtype=np.int64
                        ),
                    },
                }
            },
        )
        pv_array = np.array(pv, dtype=np.int64)
        active = pv_array >= 10_000
        context = ComponentContext(
            plan=plan,
            inputs=inputs,
            forest=Forest.build(inputs.parent),
            is_active=active,
            pv=pv_array,
            cv=pv_array,
            gv=pv_array,
            paid_as=np.array(ranks[period], dtype=np.int64),
            line_order=np.zeros(0, dtype=np.int64),
            earnings={},
        )
        output = binary_module.compute(options, context)
        lines = output.lines["binary"]
        got_pay = {
            int(e): int(b) * int(r)  # Python ints: the raw pay in 1e-8 cent
            for e, b, r in zip(lines.earner, lines.base, lines.rate, strict=True)
        }
        want = reference(
            options,
            pparent,
            position,
            pv,
            [bool(a) for a in active],
            enroller,
            ranks[period],
            queue,
            refunds[period] if state is not None else [],
            period,
            history,
            pairings,
            rounding,
        )
        queue, history, pairings = want.queue, want.history, want.pairings
        state = output.state
        assert got_pay == want.pay
        assert queue_of(state) == queue
        assert history_of(state) == history
        assert pairings_of(state) == pairings
        assert clawbacks_of(state) == want.clawbacks
        if any(amount for _, amount, _ in want.clawbacks.values()):
            event("a refund clawed back a pairing")
        if any(restored for _, _, restored in want.clawbacks.values()):
            event("a refund put volume back")
        assert list(lines.earner) == sorted(lines.earner)
        # Never more clawed back than a pairing paid, never a negative history.
        for paid, _left, _right, clawed in pairings.values():
            assert 0 <= clawed <= paid
