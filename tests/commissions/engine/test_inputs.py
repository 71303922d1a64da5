"""Inputs are checked before any money is computed."""

from __future__ import annotations

import numpy as np
import pytest

from commissions.engine import run_engine
from tests.commissions.engine.builders import make_inputs, make_plan


def test_a_sponsor_cycle_is_refused():
    inputs = make_inputs([1, 2, 0], ["100", "100", "100"], enroller=[-1, -1, -1])

    with pytest.raises(ValueError, match="forest"):
        run_engine(make_plan(), inputs)


def test_an_enroller_cycle_is_refused():
    with pytest.raises(ValueError, match="enroller"):
        make_inputs([-1, 0], ["100", "100"], enroller=[1, 0])


def test_money_must_be_integer_cents():
    inputs = make_inputs([-1], ["100"])

    with pytest.raises(TypeError, match="integer"):
        type(inputs)(**{**inputs.__dict__, "pv": np.array([100.0])})


def test_order_lines_cannot_be_paid_after_the_period():
    with pytest.raises(ValueError, match="after period_end_day"):
        make_inputs([-1], ["100"], lines=[{"buyer": 0, "cv": "10", "day": 130}], period=(100, 129))


def test_a_line_paid_late_for_a_closed_period_counts_with_its_own_earlier_day():
    # Paid on day 99 for a period that had closed: it counts in the next one (days 100..129),
    # and fast start still measures from the day it was paid.
    plan = make_plan(fast_start={"percent": "10", "days": 30})
    inputs = make_inputs(
        [-1, 0],
        ["100", "100"],
        join_day=[0, 80],
        lines=[{"buyer": 1, "cv": "100", "day": 99}],
        period=(100, 129),
    )

    result = run_engine(plan, inputs)

    assert result.lines.kind.tolist().count(3) == 1  # fast start: day 99 is 19 days in


def test_order_line_ids_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        make_inputs([-1], ["100"], lines=[{"buyer": 0, "id": 5}, {"buyer": 0, "id": 5}])


def test_inputs_are_read_only_after_validation():
    inputs = make_inputs([-1, 0], ["100", "100"])

    with pytest.raises(ValueError, match="read-only"):
        inputs.pv[0] = 1


def test_prior_ranks_beyond_the_plan_are_refused():
    inputs = make_inputs([-1], ["100"], prior_highest_rank=[4])

    with pytest.raises(ValueError, match="prior ranks"):
        run_engine(make_plan(), inputs)
