"""Clawbacks of ``upline: order_time`` unilevel lines in the engine: a refund takes back its
share of the lines its order line paid (one per earner and level), worked by hand.

The order line 77 (9.99 of CV) paid person 1 level 1 (1.00 before the payout cap, 0.50 after)
and person 2 level 2 (0.50); person 7 was paid matching on person 1's unilevel (0.10 on a
1.00 base). A third of the line (3.33) is refunded.
"""

from __future__ import annotations

import pytest

from commissions.engine import KINDS
from commissions.engine.clawbacks import PaidLine, Refund, refund_clawbacks
from commissions.engine.explain import Upline
from tests.commissions.engine.builders import make_plan

UNILEVEL, MATCHING = (KINDS.index(kind) for kind in ("unilevel", "matching"))
REFUND = Refund(cv=333, retail_profit=0, order_line=77)


def line(earner: int, level: int, amount: int, **fields) -> PaidLine:
    return PaidLine(earner, UNILEVEL, level, 999, amount, source=5, source_line=77, **fields)


LINES = [line(1, 1, 50, amount_before_cap=100), line(2, 2, 50)]
MATCHING_LINES = [PaidLine(earner=7, kind=MATCHING, level=1, base=100, amount=10, source=1)]


def taken(lines) -> dict[tuple[int, int, int], int]:
    return {(claw.earner, claw.kind, claw.level): -claw.amount for claw in lines}


def test_the_refunded_share_of_each_line_comes_back_and_matching_on_the_earnings_undone():
    plan = make_plan({"upline": "order_time"})  # half_up, per line

    lines = refund_clawbacks(
        plan,
        REFUND,
        unilevel_lines={},
        matching_lines=MATCHING_LINES,
        order_lines=[],
        order_unilevel_lines=LINES,
    )

    # Person 1: 0.50 paid × 333/999 = 16.67 → 17; person 2: 0.50 × 333/999 → 17. Matching was
    # paid on person 1's earnings before the cap (1.00): 33.33 → 33 undone, 0.10 × 33/100 =
    # 3.3 → 3.
    assert taken(lines) == {(1, UNILEVEL, 1): 17, (2, UNILEVEL, 2): 17, (7, MATCHING, 1): 3}
    first = next(claw for claw in lines if claw.earner == 1)
    assert (first.refunded_base, first.original_base, first.original_amount) == (333, 999, 50)


def test_an_order_time_line_gives_back_at_most_what_it_has_left():
    plan = make_plan({"upline": "order_time"})

    lines = refund_clawbacks(
        plan,
        Refund(cv=999, retail_profit=0, order_line=77),
        unilevel_lines={},
        matching_lines=[],
        order_lines=[],
        order_unilevel_lines=[line(2, 2, 50, limit=33), line(3, 3, 40, limit=0)],
    )

    assert taken(lines) == {(2, UNILEVEL, 2): 33}


def test_order_time_refunds_walk_no_chain_and_take_only_their_order_lines_lines():
    plan = make_plan({"upline": "order_time"})
    with_chain = Refund(cv=333, retail_profit=0, order_line=77, chain=[Upline(1, True, 3)])
    other_line = PaidLine(1, UNILEVEL, 1, 999, 100, source=5, source_line=78)

    with pytest.raises(ValueError, match="not a walk over a chain"):
        refund_clawbacks(plan, with_chain, unilevel_lines={}, matching_lines=[], order_lines=[])
    with pytest.raises(ValueError, match="unilevel lines of order line 77"):
        refund_clawbacks(
            plan,
            REFUND,
            unilevel_lines={},
            matching_lines=[],
            order_lines=[],
            order_unilevel_lines=[other_line],
        )
    with pytest.raises(ValueError, match="only for plans with upline: order_time"):
        refund_clawbacks(
            make_plan(),
            REFUND,
            unilevel_lines={},
            matching_lines=[],
            order_lines=[],
            order_unilevel_lines=LINES,
        )
