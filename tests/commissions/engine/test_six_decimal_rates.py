"""Rates with six decimals of a percent (1 rate unit = 1e-8 of 1), and int64 headroom.

Each hand-worked case states the rule's arithmetic with ``Decimal`` (currency units, the rate
as the plan writes it) and compares the engine's cents with it: 3.333333 % of 123.45 CV is
4.1149995885, which is 4.11 with half up. The limit cases give one base, one weaker leg or one
earner's total so large that ``cents × rate`` passes 9.2e18 (int64), and a payout cap over
10 billion currency units of CV, and expect the exact cents all the same.
"""

from __future__ import annotations

import copy
import dataclasses
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from commissions.engine import KINDS, parse_plan, run_engine, words
from commissions.engine.binary import explain as binary_explain
from commissions.engine.matrix import explain as matrix_explain
from commissions.engine.money import raw_total, round_product
from commissions.engine.ranks import leg_cap
from commissions.engine.stair_step import explain as stair_explain
from tests.commissions.engine.builders import BASE_PLAN, make_inputs

CENT = Decimal("0.01")
INT64_MAX = 2**63 - 1
MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "toward_zero": ROUND_DOWN,
    "away_from_zero": ROUND_UP,
}


def half_up(amount: Decimal) -> int:
    """Currency units → cents, half up (the default rounding), as an int."""
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


def percent_of(percent: str, cv: str) -> Decimal:
    """The rule's words: ``percent`` % of ``cv`` currency units, exactly."""
    return Decimal(cv) * Decimal(percent) / 100


def plan_of(**top: Any):
    doc = copy.deepcopy(BASE_PLAN)
    doc.update(copy.deepcopy(top))
    if "ranks" not in top:  # one rank unlocking every unilevel level
        levels = len(doc["unilevel"]["percents"])
        doc["ranks"] = [{"code": "member", "personal_pv": "100", "unilevel_levels": levels}]
    return parse_plan(doc)


def lines_of(result, kind: str) -> list[tuple[int, ...]]:
    """(earner, level, source, base, rate, amount) of one kind's lines."""
    code = KINDS.index(kind)
    return [
        (line[0], line[2], line[3], line[5], line[6], line[8])
        for line in result.lines.as_tuples()
        if line[1] == code
    ]


def place(inputs, parent: list[int], position: list[int]):
    return dataclasses.replace(
        inputs,
        placement_parent=np.array(parent, dtype=np.int64),
        placement_position=np.array(position, dtype=np.int16),
    )


# -- the worked example of money.py ---------------------------------------------------------


def test_the_worked_example_rounds_as_decimal_does():
    exact = percent_of("3.333333", "123.45")
    assert exact == Decimal("4.1149995885")
    assert half_up(exact) == 411


# -- one hand-worked case per component that pays a percent -----------------------------------


def test_unilevel_pays_six_decimals_of_a_percent():
    # 1's 123.45 CV pays 0 level 1 at 3.333333 %: 4.1149995885 → 4.11.
    plan = plan_of(unilevel={"percents": ["3.333333"]})
    result = run_engine(plan, make_inputs([-1, 0], ["100", "100"], cv=["0", "123.45"]))

    assert lines_of(result, "unilevel") == [
        (0, 1, 1, 12345, 3_333_333, half_up(percent_of("3.333333", "123.45")))
    ]
    assert words.percent(3_333_333) == "3.333333"


def test_matching_pays_six_decimals_of_the_rounded_unilevel_earnings():
    # 2's 123.45 CV pays 1 level 1 at 10 %: 12.345 → 12.35; 0 (1's enroller) matches
    # 2.123457 % of 12.35 = 0.26224693... → 0.26.
    ranks = [
        {"code": "member", "personal_pv": "100", "unilevel_levels": 1, "matching_generations": 1}
    ]
    plan = plan_of(ranks=ranks, unilevel={"percents": ["10"]}, matching={"percents": ["2.123457"]})
    result = run_engine(plan, make_inputs([-1, 0, 1], ["100"] * 3, cv=["0", "0", "123.45"]))

    unilevel = half_up(percent_of("10", "123.45"))
    assert unilevel == 1235
    expected = half_up(percent_of("2.123457", "12.35"))
    assert expected == 26
    assert lines_of(result, "matching") == [(0, 1, 1, unilevel, 2_123_457, expected)]


def test_fast_start_pays_six_decimals_of_the_line_cv():
    # 1 joins on day 100 and buys 123.45 CV that day: 0, the enroller, earns 3.333333 %.
    plan = plan_of(unilevel={"percents": ["0"]}, fast_start={"percent": "3.333333", "days": 30})
    inputs = make_inputs(
        [-1, 0],
        ["100", "100"],
        cv=["0", "123.45"],
        join_day=[0, 100],
        lines=[{"buyer": 1, "cv": "123.45", "day": 100, "id": 7}],
    )
    result = run_engine(plan, inputs)

    assert lines_of(result, "fast_start") == [(0, 0, 1, 12345, 3_333_333, 411)]


def test_binary_percent_of_the_weaker_leg_has_six_decimals():
    # 0's left leg 123.45, right leg 200: the weaker leg pays 3.333333 % = 4.11.
    plan = plan_of(
        placement={"kind": "binary"},
        binary={"pairing": {"method": "percent", "percent": "3.333333"}},
    )
    inputs = place(make_inputs([-1, 0, 0], ["100", "123.45", "200"]), [-1, 0, 0], [-1, 0, 1])
    result = run_engine(plan, inputs)

    [line] = lines_of(result, "binary")
    assert line == (0, 0, -1, 12345, 3_333_333, half_up(percent_of("3.333333", "123.45")))
    options = plan.components["binary"]
    rate_line = dataclasses.make_dataclass("L", ["base", "rate"])(12345, line[4])
    assert binary_explain(rate_line, options) == "binary: 3.333333 % of the weaker leg's 123.45 CV"


def test_stair_step_differential_of_six_decimal_percents():
    # Bronze 3.333333 %, silver 7.777777 %. 1 (bronze, 123.45 CV) earns own 3.333333 % =
    # 4.1149995885 → 4.11; 0 (silver) earns 7.777777 − 3.333333 = 4.444444 % of it =
    # 5.486666118 → 5.49, and 7.777777 % of own 200 CV = 15.555554 → 15.56.
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = [
        {"code": "bronze", "personal_pv": "100"},
        {"code": "silver", "personal_pv": "200"},
    ]
    doc["unilevel"] = {"percents": ["0"]}
    doc["stair_step"] = {"percents": {"bronze": "3.333333", "silver": "7.777777"}}
    plan = parse_plan(doc)
    result = run_engine(plan, make_inputs([-1, 0], ["200", "123.45"]))

    assert lines_of(result, "stair_step") == [
        (0, 2, 0, 20000, 7_777_777, half_up(percent_of("7.777777", "200"))),
        (0, 2, 1, 12345, 4_444_444, half_up(percent_of("4.444444", "123.45"))),
        (1, 1, 1, 12345, 3_333_333, 411),
    ]
    assert [
        half_up(percent_of(p, cv)) for p, cv in (("7.777777", "200"), ("4.444444", "123.45"))
    ] == [
        1556,
        549,
    ]
    options = plan.components["stair_step"]
    words_of = dataclasses.make_dataclass("L", ["level", "base", "rate"])
    assert stair_explain(words_of(2, 12345, 4_444_444), options) == (
        "stair-step: 7.777777 % − 3.333333 % paid below = 4.444444 % of 123.45 CV"
    )


def test_matrix_level_of_six_decimals():
    # Placement chain 0 ← 1: 1's 123.45 CV pays 0 matrix level 1 at 3.333333 % = 4.11.
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = [{"code": "member", "personal_pv": "100"}]
    doc["unilevel"] = {"percents": ["0"]}
    doc["placement"] = {"kind": "matrix", "width": 3, "depth": 7}
    doc["matrix"] = {"percents": ["3.333333"]}
    plan = parse_plan(doc)
    inputs = place(make_inputs([-1, 0], ["100", "100"], cv=["0", "123.45"]), [-1, 0], [-1, 0])
    result = run_engine(plan, inputs)

    assert lines_of(result, "matrix") == [(0, 1, 1, 12345, 3_333_333, 411)]
    line = dataclasses.make_dataclass("L", ["level", "base", "rate"])(1, 12345, 3_333_333)
    assert matrix_explain(line, plan.components["matrix"]) == (
        "matrix level 1 of 1 (placement tree): 3.333333 % of 123.45 CV"
    )


def test_plans_in_four_decimals_pay_the_same_cents_as_before():
    # 2.5 % of 123.45 = 3.08625 → 3.09, whatever the rate unit; the line's rate is 2.5 %.
    plan = plan_of(unilevel={"percents": ["2.5"]})
    result = run_engine(plan, make_inputs([-1, 0], ["100", "100"], cv=["0", "123.45"]))

    assert lines_of(result, "unilevel") == [(0, 1, 1, 12345, 2_500_000, 309)]
    assert words.percent(5_000_000) == "5"


# -- int64 headroom ---------------------------------------------------------------------------


def test_a_single_base_of_50_billion_at_100_percent_is_exact():
    # 1's CV of 50,000,000,000.00 (5e12 cents × 1e8 = 5e20 raw, past int64) pays 0 all of it
    # at 100 %; 0's matching of 100 % on that is exact too.
    huge = "50000000000.00"
    ranks = [
        {"code": "member", "personal_pv": "100", "unilevel_levels": 1, "matching_generations": 1}
    ]
    plan = plan_of(ranks=ranks, unilevel={"percents": ["100"]}, matching={"percents": ["100"]})
    result = run_engine(plan, make_inputs([-1, 0, 1], ["100"] * 3, cv=["0", "0", huge]))

    assert INT64_MAX < 5 * 10**12 * 10**8
    assert lines_of(result, "unilevel") == [(1, 1, 2, 5 * 10**12, 100_000_000, 5 * 10**12)]
    assert lines_of(result, "matching") == [(0, 1, 1, 5 * 10**12, 100_000_000, 5 * 10**12)]


def test_a_huge_base_at_a_six_decimal_rate_rounds_exactly():
    cv = "12345678901.23"
    plan = plan_of(unilevel={"percents": ["33.333333"]})
    result = run_engine(plan, make_inputs([-1, 0], ["100", "100"], cv=["0", cv]))

    expected = half_up(percent_of("33.333333", cv))  # 4,115,226,259.2577... → 4,115,226,259.26
    assert expected == 411_522_625_926
    assert [line[-1] for line in lines_of(result, "unilevel")] == [expected]


def test_binary_percent_of_a_weaker_leg_of_5_billion_is_exact():
    # Weaker leg 4,999,999,999.99 at 33.333333 %: 5e11 cents × 33,333,333 passes int64.
    left, right = "4999999999.99", "6000000000.00"
    plan = plan_of(
        placement={"kind": "binary"},
        binary={"pairing": {"method": "percent", "percent": "33.333333"}},
    )
    inputs = place(make_inputs([-1, 0, 0], ["100", left, right]), [-1, 0, 0], [-1, 0, 1])
    result = run_engine(plan, inputs)

    expected = half_up(percent_of("33.333333", left))
    assert [line[-1] for line in lines_of(result, "binary")] == [expected]
    report = result.component_state["binary"]["report"]
    assert int(report["paid"][list(report["owner"]).index(0)]) == expected  # cents


def test_an_earners_total_past_int64_is_rounded_once_and_split_exactly():
    # rounding_point earner_kind_total: 0 earns level 1 on 1's CV and level 2 on 2's CV, each
    # at 33.333333 %; each raw amount and their sum pass int64.
    a, b = "7777777777.77", "8888888888.89"
    ranks = [{"code": "member", "personal_pv": "100", "unilevel_levels": 2}]
    plan = plan_of(
        ranks=ranks,
        unilevel={"percents": ["33.333333", "33.333333"]},
        options={"rounding_point": "earner_kind_total"},
    )
    result = run_engine(plan, make_inputs([-1, 0, 1], ["100"] * 3, cv=["0", a, b]))

    exact = [percent_of("33.333333", a), percent_of("33.333333", b)]
    mine = [line for line in lines_of(result, "unilevel") if line[0] == 0]
    assert sum(line[-1] for line in mine) == half_up(exact[0] + exact[1])
    for line, amount in zip(mine, exact, strict=True):  # each line its floor or one cent more
        floor = int((amount * 100).to_integral_value(rounding=ROUND_DOWN))
        assert line[-1] in (floor, floor + 1)


def test_a_payout_cap_over_10_billion_of_cv_is_exact():
    # Total CV 9,876,543,210.98 + 1,234,567,890.12 = 11,111,111,101.10 (1.1e12 cents, × the
    # cap's 17,777,777 rate units = 2e19: past int64). Cap = 17.777777 % of it, rounded down
    # to the cent; the two unilevel lines (40 % each) are scaled to it: floor shares, the
    # missing cents to the largest remainders.
    a, b = "9876543210.98", "1234567890.12"
    plan = plan_of(unilevel={"percents": ["40"]}, payout_cap={"percent_of_cv": "17.777777"})
    result = run_engine(plan, make_inputs([-1, 0, 1], ["100"] * 3, cv=["0", a, b]))

    total_cv = Decimal(a) + Decimal(b)
    cap = int((total_cv * Decimal("17.777777")).to_integral_value(rounding=ROUND_DOWN))  # cents
    assert result.summary["cap_cents"] == cap == 197_530_855_377
    before = [half_up(percent_of("40", a)), half_up(percent_of("40", b))]
    shares = [Fraction(amount * cap, sum(before)) for amount in before]
    floors = [int(share) for share in shares]
    order = sorted(range(2), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[: cap - sum(floors)]:
        floors[i] += 1
    assert [line[-1] for line in lines_of(result, "unilevel")] == floors
    assert sum(floors) == cap


def test_stair_step_breakage_of_a_huge_source_is_exact():
    # One bronze (5 %) with 60,000,000,000.00 CV under a schedule topping at 20 %: the 15 % of
    # it nobody earns is breakage (6e12 cents × 15,000,000 = 9e19 raw: past int64).
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = [
        {"code": "bronze", "personal_pv": "100"},
        {"code": "silver", "personal_pv": "1000000000000"},
    ]
    doc["unilevel"] = {"percents": ["0"]}
    doc["stair_step"] = {"percents": {"bronze": "5", "silver": "20"}}
    result = run_engine(parse_plan(doc), make_inputs([-1], ["60000000000.00"]))

    assert [line[-1] for line in lines_of(result, "stair_step")] == [3 * 10**11]
    assert result.breakage["stair_step"] == 9 * 10**11


def test_a_leg_cap_of_a_huge_gv_is_rounded_down_exactly():
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"][0]["leg_cap_percent"] = "33.333333"
    doc["options"] = {"leg_cap_basis": "actual"}
    plan = parse_plan(doc)
    gv = np.array([10**12 + 7, 3 * 10**14], dtype=np.int64)  # 1e14 cents × 3.3e7 > int64

    cap = leg_cap(plan, plan.ranks[0], gv)

    assert cap.tolist() == [(10**12 + 7) * 33_333_333 // 10**8, 3 * 10**14 * 33_333_333 // 10**8]


@given(st.integers(-(2**62), 2**62), st.integers(0, 100_000_000), st.sampled_from(sorted(MODES)))
def test_round_product_agrees_with_decimal_for_any_base(base, rate, mode):
    # base cents × rate (1e-8 of 1) = base × rate / 1e8 cents, rounded with Decimal's mode.
    expected = (Decimal(base) * rate / 10**8).quantize(Decimal(1), rounding=MODES[mode])
    assert round_product(np.array([base]), np.array([rate]), mode).tolist() == [int(expected)]
    assert raw_total(np.array([base, base]), np.array([rate, rate])) == 2 * base * rate
