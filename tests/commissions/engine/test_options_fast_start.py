"""Fast start paid to several enroller generations, a rate each (fast_start.percents)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissions.engine import PlanValidationError, run_engine
from commissions.engine.results import KIND_CODES
from tests.commissions.engine.builders import make_inputs, make_plan

FAST = KIND_CODES["fast_start"]


def fast_lines(result):
    return [
        (earner, level, source, line, base, rate, amount)
        for earner, kind, level, source, line, base, rate, _, amount in result.lines.as_tuples()
        if kind == FAST
    ]


def chain_inputs(status=None, day=100, join=100):
    # Enrollers (and sponsors) 0 ← 1 ← 2 ← 3; all 100 PV; 3 joined day 100 and pays a line
    # of 100.00 CV on ``day``.
    return make_inputs(
        [-1, 0, 1, 2],
        ["100"] * 4,
        cv=["0"] * 4,
        status=status,
        join_day=[0, 0, 0, join],
        lines=[{"buyer": 3, "cv": "100", "day": day, "id": 7}],
    )


PLAN = {"fast_start": {"percents": ["10", "5", "2"], "days": 30}}


def test_each_generation_gets_its_rate_at_its_level():
    # 10 % → 2 (gen 1) 10.00, 5 % → 1 (gen 2) 5.00, 2 % → 0 (gen 3) 2.00.
    result = run_engine(make_plan(**PLAN), chain_inputs())
    assert fast_lines(result) == [
        (0, 3, 3, 7, 10000, 2_000_000, 200),  # rates in 1e-8 of 1: 2 %
        (1, 2, 3, 7, 10000, 5_000_000, 500),
        (2, 1, 3, 7, 10000, 10_000_000, 1000),
    ]
    assert result.breakage["fast_start"] == 0


def test_an_inactive_generation_is_breakage_without_compression():
    # 1 inactive: its 5.00 is breakage; 0 still gets generation 3 (2.00).
    result = run_engine(make_plan(**PLAN), chain_inputs(status=[0, 1, 0, 0]))
    assert [(e, lv, a) for e, lv, *_, a in fast_lines(result)] == [(0, 3, 200), (2, 1, 1000)]
    assert result.breakage["fast_start"] == 500


def test_generations_past_the_top_are_breakage():
    # Four generations, only three enrollers: the 4th (1 %, 1.00) is breakage.
    plan = make_plan(fast_start={"percents": ["10", "5", "2", "1"], "days": 30})
    result = run_engine(plan, chain_inputs())
    assert len(fast_lines(result)) == 3
    assert result.breakage["fast_start"] == 100


def test_outside_the_days_nothing_is_paid():
    result = run_engine(make_plan(**PLAN), chain_inputs(day=129, join=99))  # day 30 after joining
    assert fast_lines(result) == []


def test_percent_still_pays_one_generation_at_level_zero():
    plan = make_plan(fast_start={"percent": "10", "days": 30})
    assert fast_lines(run_engine(plan, chain_inputs())) == [(2, 0, 3, 7, 10000, 10_000_000, 1000)]


def test_the_payout_bound_counts_every_generation():
    # unilevel 5 + 5 + 10 = 20 % (member unlocks 3 levels); fast start 10 + 5 + 2 = 17 %.
    assert make_plan(**PLAN).max_payout_percent() == Decimal(37)


@pytest.mark.parametrize(
    ("section", "errors"),
    [
        (
            {"days": 30},
            [
                (
                    "fast_start.percent",
                    "is required (or percents: a list, one per enroller generation)",
                )
            ],
        ),
        (
            {"percent": "10", "percents": ["10"], "days": 30},
            [
                (
                    "fast_start.percent",
                    "give percent (one generation) or percents (one per generation), not both",
                )
            ],
        ),
        (
            {"percents": [], "days": 30},
            [("fast_start.percents", "must list at least one generation")],
        ),
        ({"percents": "10", "days": 30}, [("fast_start.percents", "must be a list of percents")]),
        (
            {"percents": ["10", "101"], "days": 30},
            [("fast_start.percents[1]", "must be at most 100")],
        ),
        ({"percents": ["1"] * 21, "days": 30}, [("fast_start.percents", "at most 20 generations")]),
        ({"percents": ["10"], "days": 0}, [("fast_start.days", "must be at least 1")]),
    ],
)
def test_bad_sections_are_refused(section, errors):
    with pytest.raises(PlanValidationError) as caught:
        make_plan(fast_start=section)
    assert caught.value.errors == errors


CENT = 10**8  # raw amounts (cents × rate units of 1e-8) per cent
HALF_CENT = CENT // 2


def reference(parent, active, join_day, lines, percents, days, n):
    """From the words: each line paid within ``days`` of its buyer's joining pays the g-th
    enroller up percents[g-1] of its CV if that enroller is active; otherwise breakage."""
    paid, unpaid = [], 0
    for buyer, cv, day, line_id in lines:
        if cv <= 0 or not 0 <= day - join_day[buyer] < days or parent[buyer] < 0:
            continue
        upline = parent[buyer]
        for g, rate in enumerate(percents, start=1):
            if rate == 0:
                upline = parent[upline] if upline >= 0 else -1
                continue
            if upline >= 0 and active[upline]:
                paid.append((upline, g, buyer, line_id, cv, rate))
            else:
                unpaid += cv * rate
            upline = parent[upline] if upline >= 0 else -1
    return sorted(paid), unpaid


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_matches_the_reference(data):
    n = data.draw(st.integers(1, 12))
    parent = [-1] + [data.draw(st.integers(-1, i - 1)) for i in range(1, n)]
    status = data.draw(st.lists(st.sampled_from([0, 0, 1]), min_size=n, max_size=n))
    join = data.draw(st.lists(st.integers(90, 110), min_size=n, max_size=n))
    count = data.draw(st.integers(0, 8))
    raw_lines = [
        (
            data.draw(st.integers(0, n - 1)),
            data.draw(st.integers(0, 20000)),
            data.draw(st.integers(100, 129)),
            500 + i,
        )
        for i in range(count)
    ]
    percents = data.draw(
        st.lists(st.sampled_from(["0", "1", "2.5", "3.333333", "10"]), min_size=1, max_size=4)
    )
    plan = make_plan(fast_start={"percents": percents, "days": 10})
    inputs = make_inputs(
        parent,
        ["100"] * n,
        cv=["0"] * n,
        status=status,
        join_day=join,
        lines=[
            {"buyer": b, "cv": f"{cv / 100:.2f}", "day": d, "id": i} for b, cv, d, i in raw_lines
        ],
    )
    result = run_engine(plan, inputs)
    active = [s == 0 for s in status]
    rates = [int(Decimal(p) * 1_000_000) for p in percents]  # 1e-8 of 1 per rate unit
    paid, unpaid = reference(parent, active, join, raw_lines, rates, 10, n)
    got = [(e, lv, s, line, base, rate) for e, lv, s, line, base, rate, _ in fast_lines(result)]
    # Lines that round to 0.00 are not written (their raw amount is rounded away).
    assert got == [p for p in paid if (p[4] * p[5] + HALF_CENT) // CENT > 0]
    detail = result.summary["breakage_detail"]["fast_start"]
    assert detail["unqualified"] + detail["rounded_away"] == result.breakage["fast_start"]
    assert (
        result.breakage["fast_start"]
        == (
            unpaid
            + sum(p[4] * p[5] for p in paid if (p[4] * p[5] + HALF_CENT) // CENT == 0)
            + HALF_CENT
        )
        // CENT
    )
