"""The company's own root never earns: its lines are removed and are breakage "company"."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from commissions.engine import run_engine
from tests.commissions.engine.builders import make_inputs, make_plan

# 0 is the company's root, 1 its child, 2 the child of 1; everyone 100 PV (= CV), so everyone
# is active and a member unlocking 3 levels of 5 %, 5 %, 10 % (builders.BASE_PLAN).
INPUTS = make_inputs([-1, 0, 1], ["100", "100", "100"])


def with_company(inputs, *people):
    flags = np.zeros(inputs.n, dtype=bool)
    flags[list(people)] = True
    return dataclasses.replace(inputs, is_company=flags)


def test_without_the_flag_the_root_earns_as_before():
    # Source 1: level 1 → 0 (5.00). Source 2: level 1 → 1 (5.00), level 2 → 0 (5.00).
    # Unqualified: source 0 all 20 %, source 1 levels 2-3 (15 %), source 2 level 3 (10 %):
    # 20.00 + 15.00 + 10.00 = 45.00.
    result = run_engine(make_plan(), INPUTS)
    assert [(e, lv, s, a) for e, _, lv, s, _, _, _, _, a in result.lines.as_tuples()] == [
        (0, 1, 1, 500),
        (0, 2, 2, 500),
        (1, 1, 2, 500),
    ]
    assert result.breakage["unilevel"] == 4500


def test_the_company_root_earns_nothing_and_its_share_is_breakage():
    result = run_engine(make_plan(), with_company(INPUTS, 0))
    # Only 1's line on source 2 is left; the company's 5.00 + 5.00 are breakage "company".
    assert [(e, lv, s, a) for e, _, lv, s, _, _, _, _, a in result.lines.as_tuples()] == [
        (1, 1, 2, 500)
    ]
    assert result.period_total.tolist() == [0, 500, 0]
    assert result.breakage["unilevel"] == 4500 + 1000
    assert result.summary["breakage_detail"]["unilevel"] == {
        "unqualified": 4500,
        "company": 1000,
        "rounded_away": 0,
    }


def test_the_company_gets_no_matching_fast_start_or_advancement_either():
    # Matching 50 % of 1's unilevel (5.00) would go to 0 (1's enroller): 2.50, company.
    # Fast start 10 % of 2's 100.00 line goes to 1 (2's enroller): 10.00, kept; of 1's
    # 100.00 line to 0: 10.00, company. Advancement bonus 20.00 each: 0's is company.
    plan = make_plan(
        matching={"percents": ["50"]},
        fast_start={"percent": "10", "days": 30},
        ranks=[
            {
                "code": "member",
                "personal_pv": "100",
                "unilevel_levels": 3,
                "matching_generations": 1,
                "advancement_bonus": "20",
            }
        ],
    )
    inputs = make_inputs(
        [-1, 0, 1],
        ["100", "100", "100"],
        join_day=[100, 100, 100],
        lines=[{"buyer": 1, "cv": "100", "day": 100}, {"buyer": 2, "cv": "100", "day": 100}],
    )
    result = run_engine(plan, with_company(inputs, 0))
    assert 0 not in result.lines.earner.tolist()
    detail = result.summary["breakage_detail"]
    assert detail["matching"]["company"] == 250
    assert detail["fast_start"]["company"] == 1000
    assert detail["rank_advancement"]["company"] == 2000
    assert result.period_total.tolist() == [0, 500 + 1000 + 2000, 2000]


@pytest.mark.parametrize("point", ["line", "earner_kind_total"])
def test_company_lines_go_before_the_earner_total_is_rounded(point):
    # 1 % of 0.40 from 1 and 2 → 0 and 1 (1 unlocks the level as member; 2 is not active):
    # 0.4 cent each. The company's 0.4 cent is breakage "company", 1's rounds to 0: "rounded
    # away"; 0.8 cent → 1 cent, split 0.4 / 0.4 → the earlier cause (company) gets it.
    ranks = [{"code": "member", "personal_pv": "100", "unilevel_levels": 1}]
    plan = make_plan({"rounding_point": point}, ranks=ranks, unilevel={"percents": ["1"]})
    inputs = make_inputs([-1, 0, 1], ["100", "100", "0"], cv=["0", "0.40", "0.40"])
    result = run_engine(plan, with_company(inputs, 0))
    assert len(result.lines) == 0
    assert result.breakage["unilevel"] == 1
    assert result.summary["breakage_detail"]["unilevel"] == {
        "unqualified": 0,
        "company": 1,
        "rounded_away": 0,
    }
