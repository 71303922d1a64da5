"""Clawback arithmetic in the engine: the plan's rounding mode and rounding point decide every
cent taken back, worked by hand for one refund of half an order.

The refund: the buyer had 10.10 of CV and half of it (5.05) is refunded. Their uplines 1, 2, 3
were paid unilevel levels 1-3 at 5 %, 5 % and 10 % (50.5, 50.5 and 101 cents exact); person 7
was paid matching on the unilevel earnings of 1 and of 2 (5 cents each on a 1.00 base); the
order line paid person 9 a fast start of 5 cents (base 10.10) and person 8 retail profit of
7 cents (base 10.00, of which 5.00 is refunded).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from commissions.engine import KINDS
from commissions.engine.clawbacks import CappedLine, PaidLine, Refund, refund_clawbacks
from commissions.engine.explain import Upline
from commissions.engine.money import round_fraction, split_fractions
from tests.commissions.engine.builders import make_plan

UNILEVEL, MATCHING, RETAIL, FAST_START = (
    KINDS.index(kind) for kind in ("unilevel", "matching", "retail_profit", "fast_start")
)
REFUND = Refund(
    cv=505,
    retail_profit=500,
    source_cv=1010,
    chain=[Upline(1, True, 3), Upline(2, True, 3), Upline(3, True, 3)],
)
MATCHING_LINES = [
    PaidLine(earner=7, kind=MATCHING, level=1, base=100, amount=5, source=1),
    PaidLine(earner=7, kind=MATCHING, level=2, base=100, amount=5, source=2),
]
ORDER_LINES = [
    PaidLine(earner=9, kind=FAST_START, level=0, base=1010, amount=5),
    PaidLine(earner=8, kind=RETAIL, level=0, base=1000, amount=7),
]

# (earner, kind, level) → cents taken back (positive here; the lines hold them negative).
EXPECTED = {
    # Per line: the 50.5-cent unilevel amount is first rounded (51 / 50 / 50), then halved.
    ("line", "half_up"): [26, 26, 51, 1, 1, 3, 4],
    ("line", "half_even"): [25, 25, 50, 1, 1, 2, 4],
    ("line", "toward_zero"): [25, 25, 50, 1, 1, 2, 3],
    # One rounding of each earner's exact total per kind: 25.25 → 25; matching 2 × 1.2625 =
    # 2.525 → 3 (2 + 1, the earlier line first) or 2 toward zero.
    ("earner_kind_total", "half_up"): [25, 25, 51, 2, 1, 3, 4],
    ("earner_kind_total", "half_even"): [25, 25, 50, 2, 1, 2, 4],
    ("earner_kind_total", "toward_zero"): [25, 25, 50, 1, 1, 2, 3],
}
LINES = [
    (1, UNILEVEL, 1),
    (2, UNILEVEL, 2),
    (3, UNILEVEL, 3),
    (7, MATCHING, 1),
    (7, MATCHING, 2),
    (9, FAST_START, 0),
    (8, RETAIL, 0),
]


@pytest.mark.parametrize(("point", "mode"), list(EXPECTED))
def test_clawbacks_follow_the_plans_rounding_mode_and_point(point, mode):
    plan = make_plan({"rounding": mode, "rounding_point": point})

    lines = refund_clawbacks(
        plan, REFUND, unilevel_lines={}, matching_lines=MATCHING_LINES, order_lines=ORDER_LINES
    )

    taken = {(line.earner, line.kind, line.level): -line.amount for line in lines}
    assert taken == dict(zip(LINES, EXPECTED[(point, mode)], strict=True))
    assert all(line.amount < 0 for line in lines)


def test_a_capped_unilevel_line_is_taken_back_in_its_capped_proportion():
    plan = make_plan()  # half_up, per line
    capped = {(1, 1): CappedLine(amount=30, amount_before_cap=60)}

    lines = refund_clawbacks(plan, REFUND, unilevel_lines=capped, matching_lines=[], order_lines=[])

    first = next(line for line in lines if line.earner == 1)
    # 50.5 → 51 before the cap, half of it after the cap: 26 (25.5 up), half refunded: 13.
    assert (first.original_amount, -first.amount) == (26, 13)


def test_nothing_is_taken_back_when_the_share_rounds_to_zero():
    plan = make_plan({"rounding": "toward_zero"})
    tiny = Refund(cv=1, retail_profit=0)

    lines = refund_clawbacks(
        plan,
        tiny,
        unilevel_lines={},
        matching_lines=[],
        order_lines=[PaidLine(earner=9, kind=FAST_START, level=0, base=1010, amount=5)],
    )

    assert lines == []


@pytest.mark.parametrize(
    ("value", "half_up", "half_even", "toward_zero"),
    [
        (Fraction(5, 2), 3, 2, 2),
        (Fraction(7, 2), 4, 4, 3),
        (Fraction(-5, 2), -3, -2, -2),
        (Fraction(101, 40), 3, 3, 2),
        (Fraction(4), 4, 4, 4),
    ],
)
def test_round_fraction_rounds_each_mode_symmetrically(value, half_up, half_even, toward_zero):
    assert round_fraction(value, "half_up") == half_up
    assert round_fraction(value, "half_even") == half_even
    assert round_fraction(value, "toward_zero") == toward_zero


def test_split_fractions_adds_up_to_the_rounded_total_earlier_line_first():
    parts = split_fractions([Fraction(101, 80), Fraction(101, 80)], "half_up")

    assert parts == [2, 1]
    assert sum(parts) == round_fraction(Fraction(202, 80), "half_up")


def test_a_clawback_never_takes_more_than_the_lines_limit():
    # The fast start line paid 5 cents; an earlier refund took 3: 2 are left, though half of
    # the line (2.5 → 3 half up) would be 3.
    plan = make_plan()
    line = PaidLine(earner=9, kind=FAST_START, level=0, base=1010, amount=5, limit=2)

    half = Refund(cv=505, retail_profit=0)

    lines = refund_clawbacks(plan, half, unilevel_lines={}, matching_lines=[], order_lines=[line])

    assert [(claw.earner, claw.amount) for claw in lines] == [(9, -2)]


def test_a_capped_unilevel_line_with_nothing_left_takes_nothing_back():
    plan = make_plan()
    spent = {(1, 1): CappedLine(amount=51, amount_before_cap=51, limit=0)}

    lines = refund_clawbacks(plan, REFUND, unilevel_lines=spent, matching_lines=[], order_lines=[])

    assert 1 not in {line.earner for line in lines}
    assert {line.earner for line in lines} == {2, 3}


STAIR_STEP = KINDS.index("stair_step")


def test_per_source_lines_come_back_by_the_refunded_share_of_their_sources_cv():
    # A stair-step line of 50 cents on the source's 1,000 of CV; the refund undid 400 of it.
    plan = make_plan(
        stair_step={"percents": {"member": 5}},
        ranks=[{"code": "member", "name": "Member", "personal_pv": "0"}],
    )
    line = PaidLine(earner=4, kind=STAIR_STEP, level=1, base=1000, amount=50, source=6)

    lines = refund_clawbacks(
        plan,
        Refund(cv=400, retail_profit=0),
        unilevel_lines={},
        matching_lines=[],
        order_lines=[],
        source_lines=[line],
    )

    assert [(claw.earner, claw.kind, -claw.amount) for claw in lines] == [(4, STAIR_STEP, 20)]


def test_with_complete_unilevel_lines_a_payer_without_a_line_gives_nothing_back():
    # Uplines 1 and 3 have their lines; 2 was paid nothing at level 2 (the company's root, or
    # a line that rounded to 0.00): no unilevel back from 2, nor matching on 2's earnings.
    plan = make_plan()
    paid = {
        (1, 1): CappedLine(amount=51, amount_before_cap=51),
        (3, 3): CappedLine(amount=101, amount_before_cap=101),
    }

    lines = refund_clawbacks(
        plan,
        REFUND,
        unilevel_lines=paid,
        matching_lines=MATCHING_LINES,
        order_lines=[],
        unilevel_lines_complete=True,
    )

    taken = {(line.earner, line.kind, line.level): -line.amount for line in lines}
    assert taken == {(1, UNILEVEL, 1): 26, (3, UNILEVEL, 3): 51, (7, MATCHING, 1): 1}
