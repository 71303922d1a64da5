"""Plan parsing: every refusal names its field; lawful plans only."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks.synthetic import synthetic_plan_doc
from commissions.engine import PlanValidationError, parse_plan
from commissions.engine.plan import COUNTS_INACTIVE_RECRUITS, PAYS_ON_ENROLLMENT
from tests.commissions.engine.builders import BASE_PLAN

DEMO_PLAN = Path(__file__).resolve().parents[3] / "plans" / "demo.yaml"


def problems(doc: dict) -> list[tuple[str, str]]:
    with pytest.raises(PlanValidationError) as caught:
        parse_plan(doc)
    return caught.value.errors


def with_changes(**top) -> dict:
    doc = copy.deepcopy(BASE_PLAN)
    doc.update(top)
    return doc


def test_minimal_plan_parses_with_documented_defaults():
    plan = parse_plan(BASE_PLAN)

    assert plan.unilevel_rates == (5_000_000, 5_000_000, 10_000_000)  # 1e-8 of 1
    assert plan.ranks[0].personal_pv == 10_000  # cents
    assert plan.options.compression == "none"
    assert plan.options.rounding == "half_up"
    assert plan.payout_cap_rate is None
    assert plan.retail_profit_enabled is False


def test_unknown_key_is_an_error_with_a_hint():
    errors = problems(with_changes(options={"compresion": "dynamic"}))

    assert errors == [("options.compresion", "unknown key (did you mean 'compression'?)")]


@pytest.mark.parametrize("key", ["enrollment_bonus", "recruiting_bonus", "starter_kit_bonus"])
def test_paying_on_enrollment_is_refused(key):
    errors = problems(with_changes(**{key: "50"}))

    assert errors == [(key, PAYS_ON_ENROLLMENT)]


def test_fast_start_on_sign_ups_is_refused():
    errors = problems(
        with_changes(fast_start={"percent": "10", "days": 30, "basis": "enrollments"})
    )

    assert [path for path, _ in errors] == ["fast_start.basis"]
    assert errors[0][1].startswith(PAYS_ON_ENROLLMENT)


def test_a_flat_amount_per_enrollee_is_refused_wherever_it_hides():
    errors = problems(
        with_changes(fast_start={"percent": "10", "days": 30, "amount_per_enrollee": "20"})
    )

    assert errors == [("fast_start.amount_per_enrollee", PAYS_ON_ENROLLMENT)]


def test_rank_counting_recruits_without_activity_is_refused():
    ranks = [{"code": "member", "personal_pv": "100", "personally_enrolled": 3}]

    errors = problems(with_changes(ranks=ranks))

    assert errors == [("ranks[0].personally_enrolled", COUNTS_INACTIVE_RECRUITS)]


def test_qualified_legs_without_a_minimum_rank_are_refused():
    ranks = [{"code": "member", "qualified_legs": {"count": 2}}]

    errors = problems(with_changes(ranks=ranks))

    assert [path for path, _ in errors] == ["ranks[0].qualified_legs.min_rank"]


def test_a_percent_with_six_decimals_is_kept_exactly():
    plan = parse_plan(with_changes(unilevel={"percents": ["5", "3.333333", "0.000001"]}))

    assert plan.unilevel_rates == (5_000_000, 3_333_333, 1)


def test_a_seventh_decimal_of_a_percent_is_refused():
    errors = problems(with_changes(unilevel={"percents": ["5", "3.3333333", "1"]}))

    assert errors == [
        (
            "unilevel.percents[1]",
            "has more precision than 0.000001 % (a percent may have at most 6 decimals)",
        )
    ]


def test_a_seventh_decimal_is_refused_wherever_a_percent_is_read():
    doc = with_changes(
        fast_start={"percent": "1.0000001", "days": 30},
        payout_cap={"percent_of_cv": "45.12345678"},
        matching={"percents": ["2.1234565"]},
    )
    paths = [path for path, message in problems(doc) if "0.000001 %" in message]

    assert sorted(paths) == [
        "fast_start.percent",
        "matching.percents[0]",
        "payout_cap.percent_of_cv",
    ]


def test_amount_with_fractions_of_a_cent_is_refused():
    errors = problems(with_changes(minimum_payout="25.001"))

    assert errors == [
        ("minimum_payout", "has more than 2 decimals (amounts and volumes are kept in cents)")
    ]


def test_decreasing_rank_requirements_are_refused():
    ranks = [
        {"code": "a", "group_volume": "100"},
        {"code": "b", "group_volume": "500"},
        {"code": "c", "group_volume": "400"},
    ]

    errors = problems(with_changes(ranks=ranks))

    assert errors == [("ranks[2].group_volume", "must be ≥ the previous rank's")]


def test_negative_amounts_and_bad_choices_are_all_reported_at_once():
    doc = with_changes(
        minimum_payout="-5",
        activity={"personal_pv": "abc"},
        options={"rounding": "bankers", "upline": "whenever"},
    )
    doc["ranks"] = [{"code": "a", "unilevel_levels": 9}, {"code": "a"}]

    errors = dict(problems(doc))

    assert errors["minimum_payout"] == "must not be negative"
    assert errors["activity.personal_pv"] == "'abc' is not a number"
    assert errors["options.rounding"].startswith("must be one of")
    assert errors["options.upline"].startswith("must be one of")
    assert errors["ranks[0].unilevel_levels"] == "must be at most 3"
    assert errors["ranks[1].code"] == "duplicate rank code 'a'"


def test_missing_required_keys_are_reported():
    errors = problems({"name": "x"})

    assert {path for path, _ in errors} == {"activity", "ranks", "unilevel"}


def test_protected_kinds_must_be_known_kinds():
    errors = problems(
        with_changes(
            payout_cap={
                "percent_of_cv": "40",
                "method": "protect_kinds",
                "protected_kinds": ["retail"],
            }
        )
    )

    assert [path for path, _ in errors] == ["payout_cap.protected_kinds[0]"]


def test_max_payout_percent_adds_unilevel_matching_on_unilevel_and_fast_start():
    # Unilevel 25 % (six levels), matching 10 % + 5 % of that (3.75 %), fast start 10 %.
    plan = parse_plan(synthetic_plan_doc())

    assert plan.max_payout_percent() == Decimal("38.75")


def test_max_payout_percent_only_counts_levels_some_rank_unlocks():
    plan = parse_plan(with_changes(ranks=[{"code": "a", "unilevel_levels": 2}]))

    assert plan.max_payout_percent() == Decimal("10")


def test_demo_plan_file_is_valid_and_matches_the_synthetic_plan():
    yaml = pytest.importorskip("yaml")
    from commissions.engine import load_plan_text

    text = DEMO_PLAN.read_text(encoding="utf-8")
    plan = load_plan_text(text)

    assert len(plan.ranks) == 6
    assert plan.max_payout_percent() == Decimal("38.75")
    assert plan == parse_plan({**synthetic_plan_doc(), "name": yaml.safe_load(text)["name"]})
