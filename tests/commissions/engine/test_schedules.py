"""Pay schedules (``schedules.py``): validation, what each schedule's run pays, and the rule
that the monthly and weekly runs together pay what one plan without schedules pays."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.engine import PlanValidationError, run_engine
from commissions.engine.results import KIND_CODES
from commissions.engine.schedules import (
    MONTHLY,
    WEEKLY,
    kinds_in,
    plan_for_schedule,
    schedule_of,
)

from .builders import cents, make_inputs, make_plan

CYCLE_300 = {"method": "cycle", "left": 300, "right": 300, "amount": 25}
FAST_START = {"percent": "10", "days": 30, "basis": "cv"}


def hybrid(weekly: dict[str, Any] | None = None, **top: Any):
    """A unilevel + matching + fast start + binary plan; ``weekly`` is its schedules.weekly."""
    doc: dict[str, Any] = {
        "placement": {"kind": "binary"},
        "binary": {"pairing": CYCLE_300},
        "fast_start": FAST_START,
        "matching": {"percents": ["10"]},
        "retail_profit": {"enabled": True},
        **top,
    }
    if weekly is not None:
        doc["schedules"] = {"weekly": weekly}
    return make_plan(**doc)


def errors_of(**kwargs: Any) -> dict[str, str]:
    with pytest.raises(PlanValidationError) as raised:
        hybrid(**kwargs)
    return dict(raised.value.errors)


def paid_by_kind(result) -> dict[str, dict[int, int]]:
    names = {code: name for name, code in KIND_CODES.items()}
    paid: dict[str, dict[int, int]] = {}
    for kind, earner, amount in zip(
        result.lines.kind, result.lines.earner, result.lines.amount, strict=True
    ):
        by_earner = paid.setdefault(names[int(kind)], {})
        by_earner[int(earner)] = by_earner.get(int(earner), 0) + int(amount)
    return paid


# -- the plan section ------------------------------------------------------------------------


def test_a_plan_without_schedules_is_all_monthly():
    plan = hybrid()
    assert plan.weekly is None
    assert plan_for_schedule(plan, MONTHLY) is plan
    assert schedule_of(plan, "binary") == MONTHLY
    with pytest.raises(ValueError, match="pays nothing weekly"):
        plan_for_schedule(plan, WEEKLY)


def test_the_weekly_section_is_read():
    plan = hybrid(
        {
            "components": ["binary", "fast_start"],
            "week_starts": "Sunday",
            "minimum_payout": "20.00",
            "activity_weeks": 2,
        }
    )
    assert plan.weekly.kinds == ("binary", "fast_start")
    assert plan.weekly.week_starts == 6 and plan.weekly.week_starts_name == "sunday"
    assert plan.weekly.minimum_payout == cents(20)
    assert plan.weekly.activity_weeks == 2
    assert schedule_of(plan, "binary") == WEEKLY
    assert schedule_of(plan, "unilevel") == MONTHLY


@pytest.mark.parametrize(
    ("weekly", "path", "words"),
    [
        ({"components": ["unilevel"]}, "schedules.weekly.components[0]", "cannot be paid weekly"),
        ({"components": ["matching"]}, "schedules.weekly.components[0]", "cannot be paid weekly"),
        ({"components": ["order_award"]}, "schedules.weekly.components[0]", "not in this plan"),
        (
            {"components": ["binary", "binary"]},
            "schedules.weekly.components[1]",
            "listed twice",
        ),
        ({"components": []}, "schedules.weekly.components", "at least one"),
        ({"components": "binary"}, "schedules.weekly.components", "at least one"),
        ({}, "schedules.weekly.components", "is required"),
        (
            {"components": ["binary"], "week_starts": "someday"},
            "schedules.weekly.week_starts",
            "weekday",
        ),
        (
            {"components": ["binary"], "activity_weeks": 0},
            "schedules.weekly.activity_weeks",
            "at least 1",
        ),
        (
            {"components": ["binary"], "activity_weeks": 14},
            "schedules.weekly.activity_weeks",
            "13",
        ),
        (
            {"components": ["binary"], "minimum_payout": "1.005"},
            "schedules.weekly.minimum_payout",
            "2 decimals",
        ),
        (
            {"components": ["binary"], "every": "week"},
            "schedules.weekly.every",
            "unknown key",
        ),
    ],
)
def test_bad_weekly_sections_are_refused_with_the_field(weekly, path, words):
    errors = errors_of(weekly=weekly)
    assert path in errors, errors
    assert words in errors[path]


def test_an_unknown_schedule_and_a_cap_beside_weekly_kinds_are_refused():
    with pytest.raises(PlanValidationError) as raised:
        make_plan(schedules={"daily": {}})
    assert "schedules.daily" in dict(raised.value.errors)
    errors = errors_of(
        weekly={"components": ["binary"]},
        payout_cap={"percent_of_cv": "50"},
    )
    assert "one period's CV" in errors["payout_cap"]


def test_each_schedule_pays_only_its_kinds():
    plan = hybrid({"components": ["binary", "fast_start"], "minimum_payout": "20"})
    monthly, weekly = plan_for_schedule(plan, MONTHLY), plan_for_schedule(plan, WEEKLY)
    assert kinds_in(monthly) == {"unilevel", "matching", "retail_profit"}
    assert kinds_in(weekly) == {"binary", "fast_start"}
    assert weekly.unilevel_rates == () and weekly.matching_rates == ()
    assert weekly.minimum_payout == cents(20) and monthly.minimum_payout == plan.minimum_payout
    assert monthly.weekly is None and weekly.weekly is None
    assert all(rank.advancement_bonus == 0 for rank in weekly.ranks)
    assert plan_for_schedule(monthly, MONTHLY) is monthly


# -- runs --------------------------------------------------------------------------------------

#        0
#      1   2        sponsor tree = placement tree; 3 and 4 joined on day 100 (fast start)
#     3 4
PARENT = [-1, 0, 0, 1, 1]
POSITION = [-1, 0, 1, 0, 1]


def week_inputs(pv: list[str], **extra: Any):
    inputs = make_inputs(
        PARENT,
        pv,
        join_day=[0, 0, 0, 100, 100],
        lines=[
            {"buyer": 3, "cv": "440", "day": 101},
            {"buyer": 4, "cv": "100", "day": 102, "profit": "30"},
        ],
        period=(100, 106),
    )
    return dataclasses.replace(
        inputs,
        placement_parent=np.array(PARENT, dtype=np.int64),
        placement_position=np.array(POSITION, dtype=np.int16),
        **extra,
    )


def test_a_weekly_run_pays_binary_and_fast_start_only():
    # Legs of 0: left = 1 + 3 + 4 = 700 + 440 + 100 = 1,240; right = 2 = 950 → 3 cycles = $75.
    # Fast start: 10 % of 3's 440 and 4's 100 to their enroller 1 = $54.
    plan = plan_for_schedule(hybrid({"components": ["binary", "fast_start"]}), WEEKLY)
    result = run_engine(plan, week_inputs(["100", "700", "950", "440", "100"]))
    assert paid_by_kind(result) == {"binary": {0: cents(75)}, "fast_start": {1: cents(54)}}


def test_weekly_activity_reads_the_activity_window():
    # 0 bought nothing this week (PV 0): inactive on the week alone, no binary; with 120 PV
    # over the activity window it is active and pairs.
    plan = plan_for_schedule(hybrid({"components": ["binary"]}), WEEKLY)
    pv = ["0", "700", "950", "440", "100"]
    assert "binary" not in paid_by_kind(run_engine(plan, week_inputs(pv)))
    window = np.array([cents(v) for v in ["120", "700", "950", "440", "100"]], dtype=np.int64)
    result = run_engine(plan, week_inputs(pv, activity_pv=window))
    assert paid_by_kind(result)["binary"] == {0: cents(75)}
    assert bool(result.is_active[0])


def test_a_weekly_run_takes_ranks_as_given():
    # Binary needs rank "pro" (500 PV). 0 has 100 PV this week: on the week it is only a
    # member, but the latest monthly run paid it as pro (2), which the weekly run takes.
    doc = {
        "ranks": [
            {"code": "member", "personal_pv": "100", "unilevel_levels": 3},
            {"code": "pro", "personal_pv": "500", "unilevel_levels": 3},
        ],
        "binary": {"pairing": CYCLE_300, "qualification": {"rank": "pro"}},
    }
    plan = plan_for_schedule(hybrid({"components": ["binary"]}, **doc), WEEKLY)
    pv = ["100", "700", "950", "440", "100"]
    assert "binary" not in paid_by_kind(run_engine(plan, week_inputs(pv)))
    given_ranks = np.array([2, 1, 1, 1, 1], dtype=np.int16)
    result = run_engine(plan, week_inputs(pv, given_paid_as_rank=given_ranks))
    assert paid_by_kind(result)["binary"] == {0: cents(75)}
    assert result.paid_as_rank.tolist() == [2, 1, 1, 1, 1]


def test_the_weekly_minimum_payout_carries_the_balance():
    plan = plan_for_schedule(hybrid({"components": ["fast_start"], "minimum_payout": "60"}), WEEKLY)
    result = run_engine(plan, week_inputs(["100", "700", "950", "440", "100"]))
    assert int(result.balance[1]) == cents(54)
    assert int(result.payable[1]) == 0 and int(result.carried_out[1]) == cents(54)
    carried = np.array([0, cents(10), 0, 0, 0], dtype=np.int64)
    result = run_engine(plan, week_inputs(["100", "700", "950", "440", "100"], carried_in=carried))
    assert int(result.payable[1]) == cents(64)


def test_a_schedule_needs_a_known_name():
    with pytest.raises(ValueError, match="unknown schedule"):
        plan_for_schedule(hybrid(), "daily")


# -- the two schedules together pay what the plan pays --------------------------------------

volumes = st.lists(st.integers(min_value=0, max_value=120_000), min_size=7, max_size=7)
weekly_sets = st.sets(st.sampled_from(["binary", "fast_start", "retail_profit"]), min_size=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pv=volumes,
    weekly_kinds=weekly_sets,
    line_cv=volumes,
    compression=st.sampled_from(["none", "skip_inactive", "dynamic"]),
)
def test_monthly_and_weekly_runs_together_pay_what_one_run_pays(
    pv, weekly_kinds, line_cv, compression
):
    # Over the same inputs (activity and ranks as the monthly run sees them), every line of the
    # plan is paid by exactly one of the two schedules, at the same amount.
    parent = [-1, 0, 0, 1, 1, 2, 2]
    position = [-1, 0, 1, 0, 1, 0, 1]
    inputs = dataclasses.replace(
        make_inputs(
            parent,
            [f"{v / 100:.2f}" for v in pv],
            join_day=[0, 0, 0, 95, 95, 99, 99],
            lines=[
                {"buyer": buyer, "cv": f"{cv / 100:.2f}", "day": 100, "profit": "1.50"}
                for buyer, cv in enumerate(line_cv)
                if cv
            ],
        ),
        placement_parent=np.array(parent, dtype=np.int64),
        placement_position=np.array(position, dtype=np.int16),
    )
    plan = hybrid({"components": sorted(weekly_kinds)}, options={"compression": compression})
    whole = run_engine(dataclasses.replace(plan, weekly=None), inputs)
    monthly = run_engine(plan_for_schedule(plan, MONTHLY), inputs)
    weekly = run_engine(
        plan_for_schedule(plan, WEEKLY),
        dataclasses.replace(inputs, given_paid_as_rank=whole.paid_as_rank),
    )
    expected = paid_by_kind(whole)
    got_monthly, got_weekly = paid_by_kind(monthly), paid_by_kind(weekly)
    assert set(got_monthly).isdisjoint(got_weekly)
    assert set(got_weekly) <= weekly_kinds
    assert {**got_monthly, **got_weekly} == expected
