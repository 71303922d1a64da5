"""Matrix level commissions over the placement tree (``matrix.py``).

Hand-worked cases (amounts in currency units in the comments, the engine works in cents),
plan validation, and a plain-Python reference implementation of the three compressions,
written from the rules' words, compared with the numpy walk by hypothesis.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commissions.engine import KINDS, PlanValidationError, parse_plan, run_engine
from commissions.engine import matrix as module
from commissions.engine.components import ComponentContext
from commissions.engine.tree import Forest
from tests.commissions.engine.builders import BASE_PLAN, cents, make_inputs, totals

MATRIX = KINDS.index("matrix")


def plan_doc(ranks: list[dict[str, Any]] | None = None, **matrix: Any) -> dict[str, Any]:
    """A plan paying only the matrix (unilevel at 0 %): 10 %, 5 %, 2 % on a 3-wide matrix (up
    to 7 deep: the tests list up to 7 levels)."""
    doc = copy.deepcopy(BASE_PLAN)
    doc["ranks"] = ranks or [{"code": "member", "personal_pv": "100"}]
    doc["unilevel"] = {"percents": ["0"]}
    doc["placement"] = {"kind": "matrix", "width": 3, "depth": 7}
    doc["matrix"] = {"percents": ["10", "5", "2"], **matrix}
    return doc


def placed(inputs, placement_parent: list[int]):
    """The inputs with a placement tree (positions 0, 1, ... under each parent)."""
    position, seen = [], {}
    for p in placement_parent:
        position.append(-1 if p < 0 else seen.setdefault(p, -1) + 1)
        if p >= 0:
            seen[p] += 1
    return replace(
        inputs,
        placement_parent=np.array(placement_parent, dtype=np.int64),
        placement_position=np.array(position, dtype=np.int16),
    )


def matrix_lines(result) -> list[tuple[int, int, int, int, int]]:
    """(earner, level, source, base, rate) of the matrix lines, in result order."""
    return [
        (line[0], line[2], line[3], line[5], line[6])
        for line in result.lines.as_tuples()
        if line[1] == MATRIX
    ]


def flat_sponsors_chain_placement(pv: list[str], cv: list[str]):
    """Everyone sponsored by 0 (the sponsor tree is flat), placed in a chain 0 ← 1 ← 2 ← ..."""
    n = len(pv)
    inputs = make_inputs([-1] + [0] * (n - 1), pv, cv=cv)
    return placed(inputs, [-1, *range(n - 1)])


# -- hand-worked cases ------------------------------------------------------------------------


def test_levels_follow_the_placement_tree_not_the_sponsor_tree():
    # Placement chain 0 ← 1 ← 2 ← 3; 2 has 50 PV: inactive. Compression none.
    # 3's 200 CV: level 1 is 2 (inactive: 10 % = 20.00 breakage), level 2 is 1: 5 % = 10.00,
    # level 3 is 0: 2 % = 4.00. 2's 100 CV: 1 level 1, 10 % = 10.00; 0 level 2, 5 % = 5.00;
    # level 3 is past the root: 2 % = 2.00 breakage. On the (flat) sponsor tree 0 would have
    # been everyone's level 1; here 0 earns 4 + 5 = 9.00 and 1 earns 10 + 10 = 20.00.
    inputs = flat_sponsors_chain_placement(["100", "100", "50", "100"], ["0", "0", "100", "200"])
    result = run_engine(parse_plan(plan_doc()), inputs)

    assert totals(result) == [cents("9"), cents("20"), 0, 0]
    assert matrix_lines(result) == [
        (0, 2, 2, cents("100"), 5_000_000),  # rates in 1e-8 of 1: 5 %
        (0, 3, 3, cents("200"), 2_000_000),
        (1, 1, 2, cents("100"), 10_000_000),
        (1, 2, 3, cents("200"), 5_000_000),
    ]
    assert result.breakage["matrix"] == cents("22")


def test_skip_inactive_compresses_the_inactive_placement_parent_away():
    # As above with skip_inactive: 3's 200 CV skips inactive 2: 1 level 1, 10 % = 20.00;
    # 0 level 2, 5 % = 10.00; level 3 past the root: 2 % = 4.00 breakage. 2's 100 CV as
    # before: 1 10.00, 0 5.00, 2.00 breakage. Totals 0: 15.00, 1: 30.00; breakage 6.00.
    inputs = flat_sponsors_chain_placement(["100", "100", "50", "100"], ["0", "0", "100", "200"])
    result = run_engine(parse_plan(plan_doc(compression="skip_inactive")), inputs)

    assert totals(result) == [cents("15"), cents("30"), 0, 0]
    assert result.breakage["matrix"] == cents("6")


RANKS = [
    {"code": "member", "personal_pv": "100"},
    {"code": "leader", "personal_pv": "200"},
]


@pytest.mark.parametrize(
    ("compression", "expected", "breakage"),
    [
        # none: level 1 is 3 (member, 1 level): 10 % of 300 = 30.00; level 2 is 2 (unlocks 1):
        # 15.00 breakage; level 3 is 1 (unlocks 1): 6.00 breakage.
        ("none", [0, 0, 0, cents("30"), 0], cents("21")),
        # dynamic: level 1 to 3 (30.00); level 2 to the nearest above 3 unlocking 2 levels: 2
        # and 1 do not, 0 (leader, 3 levels) does: 5 % = 15.00; level 3: nobody above 0,
        # 2 % = 6.00 breakage.
        ("dynamic", [cents("15"), 0, 0, cents("30"), 0], cents("6")),
    ],
)
def test_levels_by_rank_with_dynamic_compression(compression, expected, breakage):
    # Placement chain 0 ← 1 ← 2 ← 3 ← 4; 0 is a leader (200 PV, 3 levels), 1..4 members
    # (1 level); only 4 has CV: 300.
    inputs = flat_sponsors_chain_placement(
        ["200", "100", "100", "100", "100"], ["0", "0", "0", "0", "300"]
    )
    doc = plan_doc(RANKS, compression=compression, levels_by_rank={"member": 1, "leader": 3})
    result = run_engine(parse_plan(doc), inputs)

    assert totals(result) == expected
    assert result.breakage["matrix"] == breakage


def test_unplaced_people_and_missing_placement_inputs():
    # 2 has 100 CV but no placement parent: its three levels (10 + 5 + 2 = 17 %) are breakage.
    inputs = placed(make_inputs([-1, 0, 0], ["100", "100", "100"]), [-1, 0, -1])
    result = run_engine(parse_plan(plan_doc()), inputs)
    # 1's 100 CV pays 0 level 1 (10.00); levels 2 and 3 past the root (7.00); 0's own CV
    # has no placement upline (17.00).
    assert totals(result) == [cents("10"), 0, 0]
    assert result.breakage["matrix"] == cents("17") + cents("7") + cents("17")

    with pytest.raises(ValueError, match="placement tree"):
        run_engine(parse_plan(plan_doc()), make_inputs([-1, 0], ["100", "100"]))


def test_levels_by_rank_fills_unlisted_ranks_from_the_rank_below():
    ranks = [*RANKS, {"code": "star", "personal_pv": "300"}]
    plan = parse_plan(plan_doc(ranks, levels_by_rank={"member": 2}))
    assert plan.components["matrix"].levels_by_rank == (0, 2, 2, 2)


def test_max_payout_percent_counts_the_levels_someone_can_unlock():
    assert parse_plan(plan_doc()).max_payout_percent() == 17  # 10 + 5 + 2
    assert parse_plan(plan_doc(levels_by_rank={"member": 1})).max_payout_percent() == 10


def test_explain_names_the_level_the_tree_and_the_rate():
    options = parse_plan(plan_doc(percents=["5"] * 7)).components["matrix"]
    line = SimpleNamespace(level=3, base=8_000, rate=5_000_000)
    assert module.explain(line, options) == "matrix level 3 of 7 (placement tree): 5 % of 80.00 CV"


def test_a_plan_without_the_section_computes_as_before_with_a_placement_tree():
    # BASE_PLAN's unilevel on the sponsor chain 0 ← 1 ← 2: 2's 200 pays 1 5 % = 10.00 and
    # 0 5 % = 10.00; 1's 100 pays 0 5.00. The placement tree is ignored without a matrix.
    inputs = placed(make_inputs([-1, 0, 1], ["100", "100", "200"]), [-1, 0, 0])
    result = run_engine(parse_plan(BASE_PLAN), inputs)
    assert totals(result) == [cents("15"), cents("10"), 0]
    assert not matrix_lines(result)


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"placement": None}, "matrix", "set placement.kind to matrix"),
        ({"placement": {"kind": "none"}}, "matrix", "placement.kind is 'none'"),
        ({"matrix": {"percents": []}}, "matrix.percents", "at least one level"),
        ({"matrix": {"percents": ["101"]}}, "matrix.percents[0]", "at most 100"),
        ({"matrix": {"compression": "roll_up"}}, "matrix.compression", "must be one of"),
        (
            {"matrix": {"levels_by_rank": {"member": 4}}},
            "matrix.levels_by_rank.member",
            "at most 3",
        ),
        ({"matrix": {"levels_by_rank": {"boss": 1}}}, "matrix.levels_by_rank.boss", "unknown key"),
        (
            {"matrix": {"levels_by_rank": {"member": 3, "leader": 1}}},
            "matrix.levels_by_rank.leader",
            "must be ≥ the levels of the lower rank 'member' (3)",
        ),
        ({"matrix": {"percent": ["1"]}}, "matrix.percent", "did you mean 'percents'"),
        (
            {"matrix": {"percents": ["1"] * 8}},
            "matrix.percents",
            "lists 8 levels, but the matrix is 7 deep",
        ),
    ],
)
def test_bad_sections_are_refused_with_their_path(change, path, words):
    doc = plan_doc(RANKS)
    if "placement" in change:
        if change["placement"] is None:
            del doc["placement"]
        else:
            doc["placement"] = change["placement"]
    else:
        doc["matrix"] = {**doc["matrix"], **change["matrix"]}
        if "percent" in change["matrix"]:
            del doc["matrix"]["percents"]
    with pytest.raises(PlanValidationError) as caught:
        parse_plan(doc)
    assert any(p == path and words in m for p, m in caught.value.errors), caught.value.errors


def test_a_matrix_without_a_depth_takes_any_number_of_levels():
    doc = plan_doc()
    doc["placement"] = {"kind": "matrix", "width": 3}
    doc["matrix"]["percents"] = ["1"] * 12
    assert len(parse_plan(doc).components["matrix"].level_rates) == 12


def test_a_binary_placement_tree_is_accepted():
    doc = plan_doc()
    doc["placement"] = {"kind": "binary"}
    assert parse_plan(doc).components["matrix"].level_rates == (10_000_000, 5_000_000, 2_000_000)


# -- reference implementation -----------------------------------------------------------------


def reference(options, placement_parent, rank, active, cv):
    """The rules in plain Python: lines (earner, level, source, base, rate) and raw breakage."""
    n = len(placement_parent)
    levels = len(options.level_rates)
    if options.levels_by_rank is None:
        unlocks = [levels if active[v] else 0 for v in range(n)]
    else:
        unlocks = [options.levels_by_rank[rank[v]] if active[v] else 0 for v in range(n)]

    def uplines(v):
        v = placement_parent[v]
        while v != -1:
            yield v
            v = placement_parent[v]

    lines, unpaid = [], 0
    for source in range(n):
        if cv[source] <= 0:
            continue
        chain = list(uplines(source))
        earners: list[int | None] = []
        if options.compression == "none":
            # level k: the k-th upline, if they unlock k levels
            for k in range(1, levels + 1):
                upline = chain[k - 1] if k <= len(chain) else None
                earners.append(upline if upline is not None and unlocks[upline] >= k else None)
        elif options.compression == "skip_inactive":
            # inactive uplines use no level; the k-th active one gets level k if unlocked
            active_chain = [v for v in chain if active[v]]
            for k in range(1, levels + 1):
                upline = active_chain[k - 1] if k <= len(active_chain) else None
                earners.append(upline if upline is not None and unlocks[upline] >= k else None)
        else:
            # level k: the nearest upline above the previous level's earner unlocking k
            position = 0
            for k in range(1, levels + 1):
                while position < len(chain) and unlocks[chain[position]] < k:
                    position += 1
                if position < len(chain):
                    earners.append(chain[position])
                    position += 1
                else:
                    earners.append(None)
                    position = len(chain)
        for k, earner in enumerate(earners, start=1):
            rate = options.level_rates[k - 1]
            if rate == 0:
                continue
            if earner is None:
                unpaid += rate * cv[source]
            else:
                lines.append((earner, k, source, cv[source], rate))
    return sorted(lines), unpaid


PERCENT_CHOICES = ["0", "1", "2.5", "3.333333", "5", "10", "33.333333"]


@st.composite
def cases(draw):
    n = draw(st.integers(1, 14))
    parent = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    placement = [-1] + [draw(st.integers(-1, i - 1)) for i in range(1, n)]
    cv = [draw(st.sampled_from(["-5", "0", "0.01", "99.99", "150", "1234.57"])) for _ in range(n)]
    rank = [draw(st.integers(0, 2)) for _ in range(n)]
    active = [draw(st.booleans()) for _ in range(n)]
    percents = draw(st.lists(st.sampled_from(PERCENT_CHOICES), min_size=1, max_size=5))
    section: dict[str, Any] = {
        "percents": percents,
        "compression": draw(st.sampled_from(["none", "skip_inactive", "dynamic"])),
    }
    if draw(st.booleans()):
        low = draw(st.integers(0, len(percents)))
        section["levels_by_rank"] = {
            "member": low,
            "leader": draw(st.integers(low, len(percents))),
        }
    doc = plan_doc(RANKS, **section)
    inputs = placed(make_inputs(parent, ["0"] * n, cv=cv), placement)
    return parse_plan(doc), inputs, rank, active


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_numpy_walk_matches_the_reference_implementation(case):
    plan, inputs, rank, active = case
    n = inputs.n
    zeros = np.zeros(n, dtype=np.int64)
    context = ComponentContext(
        plan=plan,
        inputs=inputs,
        forest=Forest.build(inputs.parent),  # the sponsor tree: the matrix must not use it
        is_active=np.array(active, dtype=bool),
        pv=zeros,
        cv=np.maximum(inputs.cv, 0),
        gv=zeros,
        paid_as=np.array(rank, dtype=np.int64),
        line_order=np.zeros(0, dtype=np.int64),
        earnings={},
    )
    options = plan.components["matrix"]
    lines = module.compute(options, context).lines["matrix"]
    expected, unpaid = reference(
        options,
        [int(p) for p in inputs.placement_parent],
        rank,
        active,
        [max(int(v), 0) for v in inputs.cv],
    )
    got = [
        (int(e), int(level), int(s), int(b), int(r))
        for e, level, s, b, r in zip(
            lines.earner, lines.level, lines.source, lines.base, lines.rate, strict=True
        )
    ]
    assert got == expected  # also in result order: earner, level, source
    assert lines.unpaid_raw == unpaid
    # A source's CV never pays more than the component's payout bound.
    per_source = np.zeros(n, dtype=np.int64)
    np.add.at(per_source, lines.source, lines.rate.astype(np.int64))
    assert per_source.max(initial=0) <= module.max_payout_percent(options) * 1_000_000
