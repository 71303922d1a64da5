"""The plan's placement section: what it may say, and how the genealogy reads it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from commissions.engine import PlanValidationError
from commissions.services.plans import parse_plan_source, placement_policy_at, plan_version_create
from genealogy.policy import (
    HOLDING_TANK,
    RULES,
    PlacementPolicy,
    PlacementPolicyError,
    placement_policy,
)

DEMO_PLAN = Path(__file__).resolve().parents[2] / "plans" / "demo.yaml"


def with_placement(section: str) -> str:
    """The demo plan with its placement section replaced by ``section`` (YAML text)."""
    lines = DEMO_PLAN.read_text().splitlines()
    kept: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith("placement:"):
            skipping = True
            continue
        if skipping and (line.startswith(" ") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    return "\n".join(kept) + "\n" + section + "\n"


def test_no_section_means_no_placement_tree():
    policy = PlacementPolicy.from_mapping(None)
    assert not policy.has_placement_tree
    assert policy.rules_for_sponsors() == []


def test_a_binary_policy_reads_every_option():
    policy = PlacementPolicy.from_mapping(
        {
            "kind": "binary",
            "rule": HOLDING_TANK,
            "auto_rule": "weaker_leg_people",
            "tank_days": 5,
            "sponsor_may_choose": True,
        }
    )
    assert (policy.kind, policy.width, policy.tank_days) == ("binary", 2, 5)
    assert policy.auto_rule == "weaker_leg_people"
    binary_rules = {rule for rule, kinds in RULES.items() if "binary" in kinds}
    assert set(policy.rules_for_sponsors()) == binary_rules


def test_a_sponsors_choice_counts_only_where_the_company_allows_it():
    strict = PlacementPolicy.from_mapping({"kind": "binary", "rule": "outermost_left"})
    assert strict.rule_for("outermost_right") == "outermost_left"
    free = PlacementPolicy.from_mapping(
        {"kind": "binary", "rule": "outermost_left", "sponsor_may_choose": True}
    )
    assert free.rule_for("outermost_right") == "outermost_right"
    assert free.rule_for("") == "outermost_left"
    assert free.rule_for("no_such_rule") == "outermost_left"


def test_a_matrix_has_a_width_and_optionally_a_depth():
    policy = PlacementPolicy.from_mapping(
        {"kind": "matrix", "width": 3, "depth": 7, "rule": "breadth_first"}
    )
    assert (policy.width, policy.depth) == (3, 7)
    assert "weaker_leg_people" not in policy.rules_for_sponsors()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"kind": "ternary"}, "placement.kind"),
        ({"kind": "binary", "width": 3}, "binary tree is 2 wide"),
        ({"kind": "binary", "depth": 4}, "only a matrix has a depth"),
        ({"kind": "matrix", "width": 1}, "placement.width"),
        ({"kind": "matrix", "width": 3, "depth": 0}, "placement.depth"),
        ({"kind": "matrix", "width": 3, "rule": "weaker_leg_people"}, "does not work in a matrix"),
        ({"kind": "binary", "rule": "randomly"}, "placement.rule"),
        ({"kind": "binary", "auto_rule": HOLDING_TANK}, "needs a rule that places"),
        ({"kind": "binary", "tank_days": -1}, "placement.tank_days"),
        ({"kind": "binary", "tank_days": True}, "placement.tank_days"),
        ({"kind": "binary", "sponsor_may_choose": "yes"}, "true or false"),
        ({"kind": "binary", "legs": 2}, "unknown option(s) legs"),
        (["binary"], "expected a mapping"),
    ],
)
def test_a_bad_section_is_refused_with_the_reason(raw, message):
    with pytest.raises(PlacementPolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PlacementPolicy.from_mapping(raw)


def test_a_plan_document_with_a_bad_placement_section_is_refused_by_path():
    source = with_placement("placement:\n  kind: binary\n  rule: randomly")
    with pytest.raises(PlanValidationError) as refused:
        parse_plan_source(source)
    assert any(path == "placement.rule" for path, _ in refused.value.errors)


@pytest.mark.django_db
def test_the_genealogy_reads_the_placement_of_the_plan_in_force():
    moment = dt.datetime(2031, 3, 15, 12, tzinfo=dt.UTC)
    before = placement_policy(moment)
    source = with_placement("placement:\n  kind: matrix\n  width: 4\n  rule: breadth_first")
    plan_version_create(source=source, effective_from=dt.date(2031, 3, 1))
    assert placement_policy(moment) == placement_policy_at(moment)
    assert (placement_policy(moment).kind, placement_policy(moment).width) == ("matrix", 4)
    # The month before the version takes effect keeps what was in force then.
    assert placement_policy(dt.datetime(2031, 2, 15, tzinfo=dt.UTC)).kind == before.kind
