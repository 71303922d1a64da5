"""The synthetic period generator makes valid, realistic inputs the engine runs on."""

from __future__ import annotations

import numpy as np

from benchmarks.synthetic import synthetic_inputs, synthetic_plan_doc
from commissions.engine import parse_plan, run_engine
from commissions.engine.tree import compute_depth


def test_synthetic_forest_has_few_recruiters_and_deep_chains():
    inputs = synthetic_inputs(20_000, seed=1)

    children = np.bincount(inputs.parent[inputs.parent >= 0], minlength=inputs.n)
    assert (children == 0).mean() > 0.6  # most recruit nobody
    assert children.max() >= 50  # a few recruit many
    assert compute_depth(inputs.parent).max() >= 30
    assert inputs.m == 60_000


def test_engine_runs_on_a_synthetic_period_and_money_adds_up():
    inputs = synthetic_inputs(5_000, seed=2)
    plan = parse_plan(synthetic_plan_doc())

    result = run_engine(plan, inputs)

    assert len(result.lines) > 0
    assert result.summary["total_paid"] == int(result.period_total.sum())
    assert result.summary["total_paid"] <= result.summary["cap_cents"]
    assert (result.paid_as_rank >= 2).any()


def test_same_seed_gives_the_same_period():
    first, second = synthetic_inputs(1_000, seed=3), synthetic_inputs(1_000, seed=3)

    assert np.array_equal(first.parent, second.parent)
    assert np.array_equal(first.line_cv, second.line_cv)
