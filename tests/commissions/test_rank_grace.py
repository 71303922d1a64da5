"""Rank grace: ``options.rank_grace_months`` keeps last period's paid-as rank N months in a row
while a person qualifies lower (``commissions/engine/rank_grace.py``).

Engine tests are hand-worked; a property test compares the numpy code with the plain-Python
reference (``rank_reference.py``); service tests run three month ends with the injected clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.engine import PlanValidationError, parse_plan, run_engine
from commissions.selectors import statement
from commissions.services.periods import period_row
from tests.clock import Clock
from tests.commissions.engine.builders import make_inputs, make_plan
from tests.commissions.engine.test_properties import forests, plans
from tests.commissions.month_ends import (
    FEBRUARY,
    JANUARY,
    MARCH,
    calculate_and_close,
    mid_month,
    result_of,
)
from tests.commissions.rank_reference import reference_ranks
from tests.factories import buy, make_distributor, make_plan_version

# Member needs 100 PV; Silver 100 PV and 300 GV; Gold 100 PV and 1,000 GV.
RANKS = [
    {"code": "member", "personal_pv": "100", "unilevel_levels": 1},
    {"code": "silver", "personal_pv": "100", "group_volume": "300", "unilevel_levels": 2},
    {"code": "gold", "personal_pv": "100", "group_volume": "1000", "unilevel_levels": 3},
]
MEMBER, SILVER, GOLD = 1, 2, 3


def one_month(*, grace: int, prior: int, used: int, pv: str, status: int = 0):
    """One person alone (GV = own PV), last paid as ``prior`` with ``used`` grace months."""
    plan = make_plan({"rank_grace_months": grace}, ranks=RANKS)
    inputs = dataclasses.replace(
        make_inputs([-1], [pv], status=[status]),
        prior_paid_as_rank=np.array([prior], dtype=np.int16),
        grace_months_used=np.array([used], dtype=np.int16),
    )
    result = run_engine(plan, inputs)
    return int(result.paid_as_rank[0]), int(result.grace_months_used[0])


def test_without_grace_a_drop_takes_effect_at_once():
    # GV 300 qualifies Silver; last month Gold; N = 0: paid as Silver, counter 0.
    assert one_month(grace=0, prior=GOLD, used=0, pv="300") == (SILVER, 0)


def test_grace_keeps_the_rank_for_n_months_in_a_row_then_drops():
    # N = 2, qualifies Silver (GV 300) three months running after Gold.
    # Month 1: used 0 < 2 → Gold, counter 1. Month 2: used 1 < 2 → Gold, counter 2.
    # Month 3: used 2 = N → Silver (what they qualify for), counter 0.
    paid, used = one_month(grace=2, prior=GOLD, used=0, pv="300")
    assert (paid, used) == (GOLD, 1)
    paid, used = one_month(grace=2, prior=paid, used=used, pv="300")
    assert (paid, used) == (GOLD, 2)
    paid, used = one_month(grace=2, prior=paid, used=used, pv="300")
    assert (paid, used) == (SILVER, 0)


def test_a_month_back_at_the_rank_resets_the_counter():
    # Month 1 below (Gold kept, counter 1); month 2 GV 1,000 qualifies Gold: counter 0.
    assert one_month(grace=2, prior=GOLD, used=0, pv="300") == (GOLD, 1)
    assert one_month(grace=2, prior=GOLD, used=1, pv="1000") == (GOLD, 0)


def test_qualifying_higher_during_grace_pays_the_higher_rank():
    # Prior Silver, GV 1,000 qualifies Gold: paid as Gold, not in grace.
    assert one_month(grace=3, prior=SILVER, used=2, pv="1000") == (GOLD, 0)


def test_an_inactive_person_gets_no_grace():
    # PV 50 < 100: not active, no rank, no grace; an inactive status likewise.
    assert one_month(grace=2, prior=GOLD, used=0, pv="50") == (0, 0)
    assert one_month(grace=2, prior=GOLD, used=0, pv="1000", status=1) == (0, 0)


def test_a_rank_kept_by_grace_pays_that_ranks_unilevel_levels():
    # Ann (GV 100 + 200 = 300: Silver) was Gold. Under grace she unlocks Gold's 3 levels.
    # Chain Ann → Bob → Cat → Dan, PV 100, 100, 0, 100; Dan's CV 100 is Ann's level 3 (10 %).
    plan = make_plan({"rank_grace_months": 1}, ranks=RANKS)
    base = make_inputs([-1, 0, 1, 2], ["100", "100", "0", "100"])
    prior = np.array([GOLD, 0, 0, 0], dtype=np.int16)
    inputs = dataclasses.replace(base, prior_paid_as_rank=prior)
    result = run_engine(plan, inputs)
    assert int(result.paid_as_rank[0]) == GOLD
    level_three = [line for line in result.lines.as_tuples() if line[0] == 0 and line[2] == 3]
    assert [(line[3], line[8]) for line in level_three] == [(3, 1000)]  # 10 % of 100.00
    without = run_engine(
        plan, dataclasses.replace(inputs, grace_months_used=np.array([1, 0, 0, 0]))
    )
    assert int(without.paid_as_rank[0]) == SILVER
    assert not [line for line in without.lines.as_tuples() if line[0] == 0 and line[2] == 3]


def test_a_grace_rank_counts_in_the_uplines_qualified_legs():
    # Leader needs GV 1,000 and one leg holding a Gold. Cal (PV 900 = GV 900: Silver) was Gold
    # and keeps it under grace, so Ann above her (GV 100 + 900 = 1,000) has her Gold leg.
    leader = {
        "code": "leader",
        "personal_pv": "100",
        "group_volume": "1000",
        "unilevel_levels": 3,
        "qualified_legs": {"count": 1, "min_rank": "gold"},
    }
    plan = make_plan({"rank_grace_months": 1}, ranks=[*RANKS, leader])
    base = make_inputs([-1, 0], ["100", "900"])
    kept = run_engine(plan, dataclasses.replace(base, prior_paid_as_rank=np.array([0, GOLD])))
    assert [int(r) for r in kept.paid_as_rank] == [4, GOLD]
    dropped = run_engine(plan, base)  # no grace: Cal Silver, so Ann only Gold (no Gold leg)
    assert [int(r) for r in dropped.paid_as_rank] == [GOLD, SILVER]


def test_rank_grace_months_is_validated():
    for bad, message in ((-1, "must not be negative"), (121, "at most 120"), ("2", "whole")):
        with pytest.raises(PlanValidationError) as caught:
            make_plan({"rank_grace_months": bad})
        assert any(
            path == "options.rank_grace_months" and message in text
            for path, text in caught.value.errors
        )


@st.composite
def graced(draw: st.DrawFn) -> tuple[Any, Any]:
    doc = draw(plans())
    doc["options"]["rank_grace_months"] = draw(st.integers(0, 3))
    doc["options"]["late_refunds"] = draw(st.sampled_from(["floored", "negative"]))
    plan = parse_plan(doc)
    base = draw(forests(len(plan.ranks)))
    n = base.n
    ranks = st.integers(0, len(plan.ranks))

    def column(values: st.SearchStrategy[int]) -> np.ndarray:
        return np.array(draw(st.lists(values, min_size=n, max_size=n)), dtype=np.int16)

    inputs = dataclasses.replace(
        base,
        prior_paid_as_rank=column(ranks),
        grace_months_used=column(st.integers(0, 4)),
        rank_override=column(st.sampled_from([0, 0, 0, *range(len(plan.ranks) + 1)])),
    )
    return plan, inputs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graced())
def test_paid_as_and_grace_counter_match_the_reference(case):
    plan, inputs = case
    expected = reference_ranks(plan, inputs)
    result = run_engine(plan, inputs)
    assert [bool(v) for v in result.is_active] == expected["is_active"]
    assert [int(v) for v in result.gv] == expected["gv"]
    assert [int(v) for v in result.paid_as_rank] == expected["paid_as_rank"]
    assert [int(v) for v in result.grace_months_used] == expected["grace_months_used"]


# --- Through the services: three month ends with the injected clock ----------------------------

GRACE_PLAN = {
    "name": "Grace plan",
    "activity": {"personal_pv": "100"},
    "ranks": [
        {"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 1},
        {
            "code": "gold",
            "name": "Gold",
            "personal_pv": "100",
            "group_volume": "300",
            "unilevel_levels": 1,
        },
    ],
    "unilevel": {"percents": ["5"]},
    "options": {"rank_grace_months": 1},
}


@pytest.mark.django_db(transaction=True)
def test_grace_carries_from_one_closed_month_to_the_next(monkeypatch):
    # Given Ann (100 PV every month) over Ben (200 PV in January only), grace of one month
    make_plan_version(GRACE_PLAN, effective_from=dt.date(2026, 1, 1))
    clock = Clock(monkeypatch, mid_month(JANUARY))
    ann = make_distributor(name="Ann Grace")
    ben = make_distributor(sponsor=ann, name="Ben Grace")
    buy(ann, "100", paid_at=mid_month(JANUARY))
    buy(ben, "200", paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    for period in (FEBRUARY, MARCH):
        clock.set(mid_month(period))
        buy(ann, "100", paid_at=mid_month(period))
        calculate_and_close(period, clock)

    # Then January: GV 300, Gold. February: GV 100 qualifies Member only, Gold kept (month 1
    # of 1). March: the one grace month is used, Ann is paid as Member.
    ranks = [
        (result_of(p, ann).paid_as_rank, result_of(p, ann).grace_months_used)
        for p in (JANUARY, FEBRUARY, MARCH)
    ]
    assert ranks == [(2, 0), (2, 1), (1, 0)]
    february = statement(ann, period_row(FEBRUARY))
    assert february.paid_as_rank == "Gold"
    assert february.paid_as_note == "paid as Gold under rank grace (month 1 of 1)"
    assert statement(ann, period_row(MARCH)).paid_as_note == ""
