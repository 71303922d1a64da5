"""Stair-step (differential) with breakaway and generation overrides (``stair_step.py``).

Hand-worked cases (amounts in currency units in the comments, the engine works in cents), a
published example, plan validation, and a plain-Python reference implementation written from
the module docstring's rules, compared with the numpy walk by hypothesis.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.engine import KINDS, PlanValidationError, parse_plan, run_engine
from commissions.engine import stair_step as module
from commissions.engine.components import ComponentContext
from commissions.engine.tree import Forest
from tests.commissions.engine.builders import BASE_PLAN, cents, make_inputs, totals

STAIR, GENERATION = KINDS.index("stair_step"), KINDS.index("generation_override")

# Rank by own PV (activity needs 100 PV): bronze 100, silver 200, gold 300, director 400.
RANKS = [
    {"code": "bronze", "personal_pv": "100"},
    {"code": "silver", "personal_pv": "200"},
    {"code": "gold", "personal_pv": "300"},
    {"code": "director", "personal_pv": "400"},
]
STAIR_STEP = {
    "percents": {"bronze": "5", "silver": "10", "gold": "15", "director": "20"},
    "breakaway_rank": "director",
    "generation_percents": ["3", "2"],
}


def plan_doc(**stair_step: Any) -> dict[str, Any]:
    """A plan paying only stair-step (unilevel at 0 %, no level unlocked)."""
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = copy.deepcopy(RANKS)
    doc["unilevel"] = {"percents": ["0"]}
    doc["stair_step"] = {**copy.deepcopy(STAIR_STEP), **stair_step}
    return doc


def stair_plan(**stair_step: Any):
    doc = plan_doc(**stair_step)
    doc["stair_step"] = {k: v for k, v in doc["stair_step"].items() if v is not None}
    return parse_plan(doc)


def kind_lines(result, kind: int) -> list[tuple[int, int, int, int, int]]:
    """(earner, level, source, base, rate) of one kind's lines, in result order."""
    return [
        (line[0], line[2], line[3], line[5], line[6])
        for line in result.lines.as_tuples()
        if line[1] == kind
    ]


# -- hand-worked cases ------------------------------------------------------------------------


def test_differential_pays_each_upline_the_difference_over_what_was_paid_below():
    # Chain 0 ← 1 ← 2 ← 3 ← 4 ← 5 (5 at the bottom); only 5 has CV: 200.
    # 5 bronze 5 %: own 5 % of 200 = 10.00; 4 bronze 5 %: 5 − 5 = 0; 3 has 50 PV: inactive, 0 %;
    # 2 gold 15 %: 15 − 5 = 10 % of 200 = 20.00; 1 silver 10 % ≤ 15 %: 0;
    # 0 director 20 %: 20 − 15 = 5 % = 10.00 (and the leg's leader L0: nobody above).
    # Paid 10 + 20 + 10 = 40.00 = 20 % of 200: no stair-step breakage; generations 1 and 2 have
    # no leader above 0: 3 % + 2 % of 200 = 10.00 generation breakage.
    inputs = make_inputs(
        [-1, 0, 1, 2, 3, 4],
        ["400", "200", "300", "50", "100", "100"],
        cv=["0", "0", "0", "0", "0", "200"],
    )
    result = run_engine(stair_plan(), inputs)

    assert totals(result) == [cents("10"), 0, cents("20"), 0, 0, cents("10")]
    assert kind_lines(result, STAIR) == [
        (0, 4, 5, cents("200"), 5_000_000),  # level = the earner's rank (director = 4)
        (2, 3, 5, cents("200"), 10_000_000),  # rates in 1e-8 of 1: 10 %
        (5, 1, 5, cents("200"), 5_000_000),
    ]
    assert result.breakage["stair_step"] == 0
    assert result.breakage["generation_override"] == cents("10")


def test_breakaway_leader_keeps_the_differential_and_uplines_leaders_get_generations():
    # Chain 0 director ← 1 bronze ← 2 director ← 3 gold ← 4 director ← 5 silver.
    # 5's 1,000 CV: 5 own 10 % = 100.00; 4 director 20 − 10 = 10 % = 100.00 and the leg breaks
    # away at 4 (L0); 3 gold earns nothing on it; 2 is L1: generation 1, 3 % = 30.00; 1 bronze
    # nothing; 0 is L2: generation 2, 2 % = 20.00.
    # 4's own 500 CV: 4 own 20 % = 100.00 (L0 = 4); 2 gen 1, 3 % = 15.00; 0 gen 2, 2 % = 10.00.
    # Totals: 0: 30.00, 1: 0, 2: 45.00, 3: 0, 4: 200.00, 5: 100.00; no breakage.
    inputs = make_inputs(
        [-1, 0, 1, 2, 3, 4],
        ["400", "100", "400", "300", "400", "200"],
        cv=["0", "0", "0", "0", "500", "1000"],
    )
    result = run_engine(stair_plan(), inputs)

    assert totals(result) == [cents("30"), 0, cents("45"), 0, cents("200"), cents("100")]
    assert kind_lines(result, GENERATION) == [
        (0, 2, 4, cents("500"), 2_000_000),
        (0, 2, 5, cents("1000"), 2_000_000),
        (2, 1, 4, cents("500"), 3_000_000),
        (2, 1, 5, cents("1000"), 3_000_000),
    ]
    assert result.breakage["stair_step"] == 0
    assert result.breakage["generation_override"] == 0


def test_a_breakaway_below_the_top_percent_stops_the_differential_above_it():
    # Chain 0 director 20 % ← 1 gold 15 % ← 2 bronze 5 %, 2 has 100 CV; breakaway at gold.
    # 2 own 5 % = 5.00; 1 gold 10 % = 10.00 and breaks away (L0); 0 would earn 20 − 15 = 5 %
    # without the breakaway but is L1: generation 1, 3 % = 3.00 instead.
    # Breakage: stair-step 20 − 15 = 5 % of 100 = 5.00; generation 2 (no L2): 2 % = 2.00.
    inputs = make_inputs([-1, 0, 1], ["400", "300", "100"], cv=["0", "0", "100"])
    result = run_engine(stair_plan(breakaway_rank="gold"), inputs)

    assert totals(result) == [cents("3"), cents("10"), cents("5")]
    assert result.breakage["stair_step"] == cents("5")
    assert result.breakage["generation_override"] == cents("2")

    # The same tree without a breakaway: 0 earns the 5 % differential (5.00), nothing else.
    plain = run_engine(stair_plan(breakaway_rank=None, generation_percents=None), inputs)
    assert totals(plain) == [cents("5"), cents("10"), cents("5")]
    assert plain.breakage["stair_step"] == 0


def test_published_example_differential_and_two_generation_leadership_bonus():
    # Worked example "Bonus for A ... all distributors are old" in
    # http://banner-store.blogspot.com/2007/09/examples-of-bonus-calculation.html
    # (a published stair-step breakaway plan: 40 % top, 36 % below it, 1 % leadership on two
    # generations). A personal 200 PV and a new frontline D with 300 PV (0 %); B's network
    # 100,000 PV including B1's 50,000; C and E 40,000 each; B1, C and E have nobody at or
    # above their level below them. Published: direct (200 + 300) × 40 % = 200; indirect
    # (40,000 + 40,000) × (40 − 36) % = 3,200; leadership generation 1 (100,000 − 50,000) × 1 %
    # = 500, generation 2 50,000 × 1 % = 500; total 4,400. One PV = one currency unit here;
    # each group is one person holding its volume, B's group split into B (50,000) and B1.
    a, b, b1, c, d, e = range(6)
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = [
        {"code": "p36", "personal_pv": "100", "group_volume": "40000"},
        {"code": "p40", "personal_pv": "100", "group_volume": "50000"},
    ]
    doc["unilevel"] = {"percents": ["0"]}
    doc["stair_step"] = {
        "percents": {"p36": "36", "p40": "40"},
        "breakaway_rank": "p40",
        "generation_percents": ["1", "1"],
    }
    inputs = make_inputs([-1, a, b, a, a, a], ["200", "50000", "50000", "40000", "300", "40000"])
    result = run_engine(parse_plan(doc), inputs)

    assert int(result.period_total[a]) == cents("4400")  # 200 + 3,200 + 500 + 500
    assert [line[4] for line in kind_lines(result, GENERATION) if line[0] == a] == [
        1_000_000,  # 1 % in rate units
        1_000_000,
    ]
    # B: own 50,000 × 40 % = 20,000 + generation 1 on B1's 50,000 = 500.
    assert int(result.period_total[b]) == cents("20500")
    assert int(result.period_total[c]) == cents("14400") == int(result.period_total[e])
    assert int(result.period_total[d]) == 0


def test_unlisted_rank_takes_the_percent_of_the_rank_below():
    plan = stair_plan(percents={"bronze": "5", "gold": "15", "director": "20"})
    assert plan.components["stair_step"].rates_by_rank == (
        0,
        5_000_000,
        5_000_000,
        15_000_000,
        20_000_000,
    )


def test_max_payout_percent_adds_the_top_percent_and_every_generation():
    # 20 % + 3 % + 2 % = 25 % on top of the core (unilevel 0 % here).
    assert stair_plan().max_payout_percent() == 25


def test_explain_says_the_percent_what_was_paid_below_and_the_generation():
    options = stair_plan().components["stair_step"]
    gold_line = SimpleNamespace(level=3, base=20_000, rate=6_000_000)  # gold 15 % − 9 %
    assert module.explain(gold_line, options) == (
        "stair-step: 15 % − 9 % paid below = 6 % of 200.00 CV"
    )
    own = SimpleNamespace(level=1, base=8_000, rate=5_000_000)
    assert module.explain(own, options) == "stair-step: 5 % of 80.00 CV"
    generation = SimpleNamespace(level=2, base=123_456, rate=2_000_000, kind=GENERATION)
    assert module.explain(generation, options) == "generation 2 override: 2 % of 1,234.56 CV"


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "path", "words"),
    [
        ({"percents": {"bronze": "5", "silver": "4"}}, "stair_step.percents.silver", "≥"),
        ({"percents": {"platinum": "5"}}, "stair_step.percents.platinum", "unknown key"),
        ({"percents": {"bronze": "101"}}, "stair_step.percents.bronze", "at most 100"),
        ({"percents": {}}, "stair_step.percents", "at least one rank"),
        ({"breakaway_rank": "boss"}, "stair_step.breakaway_rank", "unknown rank code"),
        (
            {"percents": {"gold": "5"}, "generation_percents": ["1"]},
            "stair_step.generation_percents",
            "needs breakaway_rank",
        ),
        ({"volume": "pv"}, "stair_step.volume", "must be one of cv"),
        (
            {"generation_percent": ["1"]},
            "stair_step.generation_percent",
            "did you mean 'generation_percents'",
        ),
        ({"breakaway_rank": "gold"}, "stair_step.percents", "is required"),
    ],
)
def test_bad_sections_are_refused_with_their_path(section, path, words):
    doc = plan_doc()
    doc["stair_step"] = (
        {"percents": STAIR_STEP["percents"], **section}
        if "percents" in section or path != "stair_step.percents"
        else section
    )
    with pytest.raises(PlanValidationError) as caught:
        parse_plan(doc)
    assert any(p == path and words in m for p, m in caught.value.errors), caught.value.errors


def test_plans_without_the_section_compute_as_before():
    # The core plan and its inputs give no stair-step lines and the same totals as ever:
    # Eve's 200 CV at 5 % to Dee = 10.00 and so on (test_rules' chain, compression none).
    inputs = make_inputs([-1, 0, 1], ["100", "100", "200"])
    result = run_engine(parse_plan(BASE_PLAN), inputs)
    assert totals(result) == [cents("15"), cents("10"), 0]  # 1: 200 × 5 %; 0: 100 × 5 % + 200 × 5 %
    assert not kind_lines(result, STAIR) and not kind_lines(result, GENERATION)


# -- reference implementation -----------------------------------------------------------------


def reference(options, parent, rank, active, cv):
    """The rules in plain Python, one parent at a time: lines as (earner, kind, level, source,
    base, rate) and the raw breakage per kind."""
    percent = [options.rates_by_rank[rank[v]] if active[v] else 0 for v in range(len(parent))]
    breakaway = options.breakaway_rank

    def is_leader(v):
        return breakaway is not None and active[v] and rank[v] >= breakaway

    lines = []
    unpaid = {"stair_step": 0, "generation_override": 0}
    top = max(options.rates_by_rank)
    for source, volume in enumerate(cv):
        if volume <= 0:
            continue
        paid = 0
        generation = None  # None until the leg breaks away, then the leaders counted above L0
        person = source
        while person != -1:
            if generation is None:
                if percent[person] > paid:
                    lines.append(
                        (person, STAIR, rank[person], source, volume, percent[person] - paid)
                    )
                    paid = percent[person]
                if is_leader(person):
                    generation = 0
            elif is_leader(person):
                generation += 1
                if generation <= len(options.generation_rates):
                    rate = options.generation_rates[generation - 1]
                    if rate:
                        lines.append((person, GENERATION, generation, source, volume, rate))
            person = parent[person]
        unpaid["stair_step"] += (top - paid) * volume
        reached = generation or 0
        unpaid["generation_override"] += volume * sum(options.generation_rates[reached:])
    return sorted(lines, key=lambda line: (line[0], line[1], line[2], line[3])), unpaid


PERCENT_CHOICES = ["0", "1", "2.5", "3.333333", "5", "5", "10", "12.5", "20", "33.333333"]
ORDER = ["bronze", "silver", "gold", "director"]


@st.composite
def cases(draw):
    """A random plan section, forest, paid-as ranks, activity and CV (ranks and activity are
    drawn directly: the component reads them, the core computes them)."""
    n = draw(st.integers(1, 14))
    parent = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    cv = [draw(st.sampled_from(["-5", "0", "0.01", "99.99", "150", "1234.57"])) for _ in range(n)]
    rank = [draw(st.integers(0, 4)) for _ in range(n)]
    active = [draw(st.booleans()) or r > 0 for r in rank]  # some ranked people inactive below
    listed = draw(st.lists(st.sampled_from(ORDER), unique=True, min_size=1))
    raw = sorted(
        draw(st.lists(st.sampled_from(PERCENT_CHOICES), min_size=4, max_size=4)), key=float
    )
    section: dict[str, Any] = {"percents": {code: raw[ORDER.index(code)] for code in listed}}
    if draw(st.booleans()):
        section["breakaway_rank"] = draw(st.sampled_from(ORDER))
        section["generation_percents"] = draw(
            st.lists(st.sampled_from(PERCENT_CHOICES), max_size=4)
        )
    if draw(st.booleans()):
        active = [a and draw(st.booleans()) for a in active]
    doc = plan_doc()
    doc["stair_step"] = section
    return parse_plan(doc), make_inputs(parent, ["0"] * n, cv=cv), rank, active


def context_for(plan, inputs, rank, active):
    n = inputs.n
    zeros = np.zeros(n, dtype=np.int64)
    return ComponentContext(
        plan=plan,
        inputs=inputs,
        forest=Forest.build(inputs.parent),
        is_active=np.array(active, dtype=bool),
        pv=zeros,
        cv=np.maximum(inputs.cv, 0),
        gv=zeros,
        paid_as=np.array(rank, dtype=np.int64),
        line_order=np.zeros(0, dtype=np.int64),
        earnings={},
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_numpy_walk_matches_the_reference_implementation(case):
    plan, inputs, rank, active = case
    options = plan.components["stair_step"]
    output = module.compute(options, context_for(plan, inputs, rank, active))
    expected, unpaid = reference(
        options,
        [int(p) for p in inputs.parent],
        rank,
        active,
        [max(int(v), 0) for v in inputs.cv],
    )
    got = []
    for kind, code in (("stair_step", STAIR), ("generation_override", GENERATION)):
        lines = output.lines[kind]
        got += [
            (int(e), code, int(level), int(s), int(b), int(r))
            for e, level, s, b, r in zip(
                lines.earner, lines.level, lines.source, lines.base, lines.rate, strict=True
            )
        ]
        assert lines.unpaid_raw == unpaid[kind]
        assert (lines.source_line == -1).all()
    assert sorted(got, key=lambda line: (line[0], line[1], line[2], line[3])) == expected
    # Each kind is in result order already (earner, level, source).
    for kind in ("stair_step", "generation_override"):
        lines = output.lines[kind]
        keys = list(
            zip(lines.earner.tolist(), lines.level.tolist(), lines.source.tolist(), strict=True)
        )
        assert keys == sorted(keys)
    # Differentials never pay more than the top percent of a source's CV.
    per_source = np.zeros(inputs.n, dtype=np.int64)
    for _earner, kind, _level, source, _base, rate in got:
        if kind == STAIR:
            per_source[source] += rate
    assert per_source.max(initial=0) <= max(options.rates_by_rank)
    # Nor do both kinds together pay more than the component's payout bound.
    for _earner, kind, _level, source, _base, rate in got:
        if kind == GENERATION:
            per_source[source] += rate
    bound = module.max_payout_percent(options) * 1_000_000  # percent → rate units
    assert per_source.max(initial=0) <= bound
