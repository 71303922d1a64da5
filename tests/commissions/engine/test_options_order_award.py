"""The order_award component: a fixed amount per order or per unit, above a minimum order CV."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import pytest

from commissions.engine import PlanValidationError, run_engine
from commissions.engine.components import REGISTRY
from commissions.engine.results import KIND_CODES
from tests.commissions.engine.builders import make_inputs, make_plan

AWARD = KIND_CODES["order_award"]


def award_lines(result):
    return [
        (earner, level, source, line, base, rate, amount)
        for earner, kind, level, source, line, base, rate, _, amount in result.lines.as_tuples()
        if kind == AWARD
    ]


def inputs(status=None, company=()):
    # Enrollers 0 ← 1 ← 2, 100 PV each (active). 2 buys order 1 (lines 10: 30.00 CV × 2
    # units, 11: 30.00 × 1 unit: order CV 60.00) and order 2 (line 12: 40.00 × 5 units).
    base = make_inputs(
        [-1, 0, 1],
        ["100"] * 3,
        cv=["0"] * 3,
        status=status,
        lines=[
            {"buyer": 2, "cv": "30", "id": 10},
            {"buyer": 2, "cv": "30", "id": 11},
            {"buyer": 2, "cv": "40", "id": 12},
        ],
    )
    flags = np.zeros(3, dtype=bool)
    flags[list(company)] = True
    return dataclasses.replace(
        base,
        line_units=np.array([2, 1, 5]),
        line_order_id=np.array([1, 1, 2]),
        is_company=flags,
    )


def plan(**award):
    return make_plan(order_award={"per": "order", "to": "enroller", **award})


def test_one_award_per_order_above_the_minimum():
    # Order 1 (60.00 ≥ 50.00) pays 5.00 to 2's enroller 1, named by its first line (10);
    # order 2 (40.00) is below the minimum.
    result = run_engine(plan(amount="5", minimum_order_cv="50"), inputs())
    assert award_lines(result) == [(1, 1, 2, 10, 500, 100_000_000, 500)]


def test_without_order_ids_each_line_is_an_order():
    # Lines 10 and 11 (30.00) are below 35.00; line 12 (40.00) pays 5.00.
    plain = dataclasses.replace(inputs(), line_order_id=None)
    result = run_engine(plan(amount="5", minimum_order_cv="35"), plain)
    assert award_lines(result) == [(1, 1, 2, 12, 500, 100_000_000, 500)]


def test_per_unit_pays_each_line_of_a_qualifying_order_by_its_units():
    # Order 1 qualifies: line 10 → 2 × 1.00, line 11 → 1 × 1.00; order 2 does not.
    result = run_engine(plan(amount="1", per="unit", minimum_order_cv="50"), inputs())
    assert award_lines(result) == [
        (1, 1, 2, 10, 200, 100_000_000, 200),
        (1, 1, 2, 11, 100, 100_000_000, 100),
    ]


def test_generations_up_the_enroller_chain_with_breakage():
    # No minimum: both orders pay 5.00 to 1 (gen 1) and 2.00 to 0 (gen 2); gen 3 (1.00)
    # has nobody: breakage 2 × 1.00.
    result = run_engine(plan(generations=["5", "2", "1"]), inputs())
    assert award_lines(result) == [
        (0, 2, 2, 10, 200, 100_000_000, 200),
        (0, 2, 2, 12, 200, 100_000_000, 200),
        (1, 1, 2, 10, 500, 100_000_000, 500),
        (1, 1, 2, 12, 500, 100_000_000, 500),
    ]
    assert result.breakage["order_award"] == 200


def test_an_inactive_or_company_earner_is_breakage():
    inactive = run_engine(plan(generations=["5", "2"]), inputs(status=[0, 1, 0]))
    assert [(e, lv) for e, lv, *_ in award_lines(inactive)] == [(0, 2), (0, 2)]
    assert inactive.breakage["order_award"] == 1000  # 2 orders × 5.00 for inactive 1
    company = run_engine(plan(generations=["5", "2"]), inputs(company=[0]))
    assert [(e, lv) for e, lv, *_ in award_lines(company)] == [(1, 1), (1, 1)]
    assert company.summary["breakage_detail"]["order_award"] == {
        "unqualified": 0,
        "company": 400,
        "rounded_away": 0,
    }


def test_to_sponsor_follows_the_sponsor_tree():
    # Sponsors 0 ← 1 ← 2 but 2 was enrolled by 0: to sponsor pays 1, to enroller pays 0.
    data = dataclasses.replace(inputs(), enroller=np.array([-1, 0, 0]))
    assert award_lines(run_engine(plan(amount="5", to="sponsor"), data))[0][0] == 1
    assert award_lines(run_engine(plan(amount="5"), data))[0][0] == 0


def test_the_payout_bound_and_explanation():
    options = plan(generations=["5", "2"], minimum_order_cv="50").components["order_award"]
    spec = REGISTRY["order_award"]
    assert spec.max_payout_percent(options) == Decimal(14)  # 7.00 of at least 50.00 CV
    unit = plan(amount="1", per="unit").components["order_award"]
    assert spec.max_payout_percent(unit) is None
    result = run_engine(plan(amount="5", minimum_order_cv="50"), inputs())
    line = dataclasses.make_dataclass("Line", ["base", "level", "source_line"])(500, 1, 10)
    assert spec.explain(line, options) == (
        "order award: 5.00 for an order of at least 50.00 CV (order line 10), generation 1 of "
        "your enrollees"
    )
    stored = dataclasses.make_dataclass("Stored", ["base", "level", "source_line_id"])(300, 1, 11)
    assert spec.explain(stored, unit) == (
        "order award: 3 units × 1.00 = 3.00 (order line 11), generation 1 of your enrollees"
    )
    assert len(award_lines(result)) == 1


@pytest.mark.parametrize(
    ("section", "errors"),
    [
        ({"amount": "5"}, [("order_award.per", "is required"), ("order_award.to", "is required")]),
        (
            {"per": "order", "to": "enroller"},
            [
                (
                    "order_award.amount",
                    "is required (or generations: a list of amounts, one per generation)",
                )
            ],
        ),
        (
            {"amount": "5", "generations": ["5"], "per": "order", "to": "enroller"},
            [
                (
                    "order_award.amount",
                    "give amount (one generation) or generations (an amount per generation), "
                    "not both",
                )
            ],
        ),
        (
            {"amount": "0", "per": "order", "to": "enroller"},
            [("order_award.amount", "must be greater than 0")],
        ),
        (
            {"amount": "5", "per": "box", "to": "enroller"},
            [("order_award.per", "must be one of order, unit")],
        ),
        (
            {"amount": "5", "per": "order", "to": "upline"},
            [("order_award.to", "must be one of enroller, sponsor")],
        ),
        (
            {"amount": "5", "per": "order", "to": "enroller", "minimum_order_cv": "-1"},
            [("order_award.minimum_order_cv", "must not be negative")],
        ),
        (
            {"generations": [], "per": "order", "to": "enroller"},
            [("order_award.generations", "must be a non-empty list of amounts")],
        ),
        (
            {"generations": ["0", "0"], "per": "order", "to": "enroller"},
            [("order_award.generations", "must pay something in one generation")],
        ),
        (
            {"amount": "5", "per": "order", "to": "enroller", "percent": "5"},
            [("order_award.percent", "unknown key")],
        ),
    ],
)
def test_bad_sections_are_refused(section, errors):
    with pytest.raises(PlanValidationError) as caught:
        make_plan(order_award=section)
    assert caught.value.errors == errors


def test_line_units_must_not_be_negative():
    with pytest.raises(ValueError, match="line_units must be in"):
        dataclasses.replace(inputs(), line_units=np.array([1, -1, 0]))
