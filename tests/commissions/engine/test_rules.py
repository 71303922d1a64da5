"""Hand-worked examples, one per rule and per option value. Amounts in the comments are in
currency units; the engine works in cents."""

from __future__ import annotations

import numpy as np

from commissions.engine import run_engine
from tests.commissions.engine.builders import cents, make_inputs, make_plan, totals

ANN, BEN, CAL, DEE, EVE = range(5)
UNILEVEL, MATCHING, RETAIL, FAST_START, ADVANCEMENT = range(5)  # the core kinds


def chain_of_five(**kwargs):
    """Ann → Ben → Cal → Dee → Eve, each sponsoring the next; PV = CV; Ben inactive (0 PV)."""
    return make_inputs([-1, ANN, BEN, CAL, DEE], ["100", "0", "120", "100", "200"], **kwargs)


# -- unilevel and compression ---------------------------------------------------------------


def test_dynamic_compression_skips_inactive_ben_and_pays_ann_level_three():
    # Eve's 200 pays Dee 10 (L1), Cal 10 (L2), Ann 20 (L3, Ben skipped);
    # Dee's 100 pays Cal 5, Ann 5; Cal's 120 pays Ann 6.
    result = run_engine(make_plan({"compression": "dynamic"}), chain_of_five())

    assert totals(result) == [cents("31.00"), 0, cents("15.00"), cents("10.00"), 0]
    assert result.summary["total_paid"] == cents("56.00")
    ann_from_eve = [line for line in result.lines.as_tuples() if line[0] == ANN and line[3] == EVE]
    assert ann_from_eve == [(ANN, UNILEVEL, 3, EVE, -1, cents(200), 10_000_000, 2000, 2000)]


def test_no_compression_leaves_inactive_bens_levels_as_breakage():
    # Eve: Dee 10, Cal 10, Ben's L3 (20) is breakage; Dee: Cal 5, Ben's L2 (5) breakage,
    # Ann 10 (L3); Cal: Ben's L1 (6) breakage, Ann 6 (L2).
    result = run_engine(make_plan({"compression": "none"}), chain_of_five())

    assert totals(result) == [cents("16.00"), 0, cents("15.00"), cents("10.00"), 0]
    assert result.summary["total_paid"] == cents("41.00")
    assert result.breakage["unilevel"] == cents("31.00") + cents("32.00")  # Ben + past the root


def test_skip_inactive_forfeits_a_level_the_active_upline_does_not_unlock():
    # Zed → Abe → Bea (inactive) → Cyd → Dot. Dot's 100 CV climbs; levels 5 %, 5 %, 10 %.
    # Starter unlocks 1 level, Leader 3. Cyd: Leader, Abe: Starter, Zed: Leader.
    zed, abe, bea, cyd, dot = range(5)
    plan_ranks = [
        {"code": "starter", "personal_pv": "100", "unilevel_levels": 1},
        {"code": "leader", "personal_pv": "200", "unilevel_levels": 3},
    ]
    inputs = make_inputs(
        [-1, zed, abe, bea, cyd], ["200", "100", "0", "200", "100"], cv=["0", "0", "0", "0", "100"]
    )

    def paid(compression: str) -> list[int]:
        plan = make_plan({"compression": compression}, ranks=plan_ranks)
        return totals(run_engine(plan, inputs))

    # skip_inactive: Cyd L1 (5), Bea skipped, Abe offered L2 but unlocks 1 → forfeited,
    # Zed offered L3 → 10.
    assert paid("skip_inactive") == [cents(10), 0, 0, cents(5), 0]
    # dynamic: Cyd L1, Bea and Abe skipped without using L2, Zed gets L2 (5); L3 nobody.
    assert paid("dynamic") == [cents(5), 0, 0, cents(5), 0]
    # none: Cyd L1, Bea's L2 and Abe's L3 are breakage.
    assert paid("none") == [0, 0, 0, cents(5), 0]


def test_order_time_upline_pays_the_sponsor_at_order_time_then_the_tree_at_close():
    # Tree at close: Ann → Ben → Eve and Ann → Cal. Eve was under Cal when she ordered.
    inputs = make_inputs(
        [-1, ANN, ANN, -1, BEN],
        ["100", "100", "100", "0", "100"],
        cv=["0", "0", "0", "0", "100"],
        lines=[{"buyer": EVE, "cv": "100", "parent_at_order": CAL, "id": 7}],
    )
    plan = make_plan({"upline": "order_time"})

    result = run_engine(plan, inputs)

    assert result.lines.as_tuples() == [
        (ANN, UNILEVEL, 2, EVE, 7, cents(100), 5_000_000, 500, 500),
        (CAL, UNILEVEL, 1, EVE, 7, cents(100), 5_000_000, 500, 500),
    ]
    period_close = run_engine(make_plan({"upline": "period_close"}), inputs)
    assert totals(period_close) == [cents(5), cents(5), 0, 0, 0]


def test_terminated_and_inactive_status_people_earn_nothing_but_their_volume_pays_upline():
    # Ann → Ben (terminated, 500 PV) → Cal (inactive status, 300 PV) → Dee (100 PV).
    inputs = make_inputs([-1, ANN, BEN, CAL], ["100", "500", "300", "100"], status=[0, 2, 1, 0])

    result = run_engine(make_plan({"compression": "none"}), inputs)

    assert result.is_active.tolist() == [True, False, False, True]
    assert result.paid_as_rank.tolist() == [1, 0, 0, 1]
    # Ann: Ben's 500 at L1 = 25, Cal's 300 at L2 = 15, Dee's 100 at L3 = 10.
    assert totals(result) == [cents(50), 0, 0, 0]


def test_negative_cv_after_refunds_counts_as_zero_and_pays_nothing():
    inputs = make_inputs([-1, ANN], ["100", "-40"], cv=["100", "-40"])

    result = run_engine(make_plan(), inputs)

    assert result.gv.tolist() == [cents(100), 0]
    assert not result.is_active[BEN]
    assert len(result.lines) == 0
    assert result.summary["total_cv"] == cents(100)


# -- ranks and leg caps ---------------------------------------------------------------------

LEADER_WITH_LEG_CAP = {
    "code": "leader",
    "personal_pv": "100",
    "group_volume": "1000",
    "leg_cap_percent": "50",
    "unilevel_levels": 3,
}


def leg_cap_tree(second_leg: str):
    # Pat (own 100) sponsors three legs of 900, second_leg and 100 PV.
    return make_inputs([-1, 0, 0, 0], ["100", "900", second_leg, "100"], cv=["0"] * 4)


def test_leg_cap_counts_at_most_half_of_the_required_gv_from_one_leg():
    plan = make_plan(ranks=[LEADER_WITH_LEG_CAP])

    short = run_engine(plan, leg_cap_tree("200"))  # 500 + 200 + 100 + 100 = 900
    enough = run_engine(plan, leg_cap_tree("300"))  # 500 + 300 + 100 + 100 = 1,000

    assert (short.gv[0], short.counted_gv[0], short.paid_as_rank[0]) == (cents(1300), cents(900), 0)
    assert (enough.counted_gv[0], enough.paid_as_rank[0]) == (cents(1000), 1)


def test_leg_cap_basis_actual_caps_each_leg_at_a_share_of_the_persons_own_gv():
    # GV 1,300 → cap 650: 100 + 650 + 200 + 100 = 1,050 ≥ 1,000.
    plan = make_plan({"leg_cap_basis": "actual"}, ranks=[LEADER_WITH_LEG_CAP])

    result = run_engine(plan, leg_cap_tree("200"))

    assert (result.counted_gv[0], result.paid_as_rank[0]) == (cents(1050), 1)


def test_leg_cap_includes_personal_caps_own_pv_like_a_leg():
    # Own 700 + one leg of 400 = 1,100. Cap 500: without personal 700 + 400; with 500 + 400.
    inputs = make_inputs([-1, 0], ["700", "400"], cv=["0", "0"])

    def counted(includes_personal: bool) -> tuple[int, int]:
        plan = make_plan(
            {"leg_cap_includes_personal": includes_personal}, ranks=[LEADER_WITH_LEG_CAP]
        )
        result = run_engine(plan, inputs)
        return int(result.counted_gv[0]), int(result.paid_as_rank[0])

    assert counted(False) == (cents(1100), 1)
    assert counted(True) == (cents(900), 0)


def test_cumulative_ranks_need_every_lower_rank_too():
    # Rank 1 needs 300 GV with a 50 % leg cap (150 per leg); rank 2 needs 400 GV, no cap.
    # Own 100 + one leg of 300: rank 1 counts 250 (fails), rank 2 counts 400 (meets).
    ranks = [
        {"code": "one", "personal_pv": "100", "group_volume": "300", "leg_cap_percent": "50"},
        {"code": "two", "personal_pv": "100", "group_volume": "400"},
    ]
    inputs = make_inputs([-1, 0], ["100", "300"], cv=["0", "0"])

    cumulative = run_engine(make_plan({"cumulative_ranks": True}, ranks=ranks), inputs)
    independent = run_engine(make_plan({"cumulative_ranks": False}, ranks=ranks), inputs)

    assert cumulative.paid_as_rank[0] == 0
    assert independent.paid_as_rank[0] == 2


def test_qualified_legs_need_someone_paid_as_the_minimum_rank_somewhere_in_the_leg():
    # Pat has two legs; a Star (300 PV) sits two levels down the first leg. Director needs two
    # legs holding a Star.
    ranks = [
        {"code": "member", "personal_pv": "100"},
        {"code": "star", "personal_pv": "300"},
        {
            "code": "director",
            "personal_pv": "300",
            "qualified_legs": {"count": 2, "min_rank": "star"},
        },
    ]
    plan = make_plan(ranks=ranks)
    # 0 Pat, 1 leg A, 2 star under A, 3 leg B, 4 someone under B
    one_leg = make_inputs([-1, 0, 1, 0, 3], ["300", "100", "300", "100", "100"])
    two_legs = make_inputs([-1, 0, 1, 0, 3], ["300", "100", "300", "100", "300"])

    assert run_engine(plan, one_leg).paid_as_rank.tolist() == [2, 1, 2, 1, 1]
    assert run_engine(plan, two_legs).paid_as_rank.tolist() == [3, 1, 2, 1, 2]


def test_personally_enrolled_count_only_active_enrollees():
    ranks = [
        {"code": "member", "personal_pv": "100"},
        {"code": "builder", "personal_pv": "100", "personally_enrolled_active": 2},
    ]
    plan = make_plan(ranks=ranks)
    # Pat enrolled three people; only one is active.
    one_active = make_inputs([-1, 0, 0, 0], ["100", "100", "50", "0"])
    two_active = make_inputs([-1, 0, 0, 0], ["100", "100", "150", "0"])

    assert run_engine(plan, one_active).paid_as_rank[0] == 1
    assert run_engine(plan, two_active).paid_as_rank[0] == 2


def test_highest_rank_keeps_the_prior_highest():
    inputs = make_inputs([-1, 0], ["100", "50"], prior_highest_rank=[0, 1])

    result = run_engine(make_plan(), inputs)

    assert result.paid_as_rank.tolist() == [1, 0]
    assert result.highest_rank.tolist() == [1, 1]


# -- rounding ---------------------------------------------------------------------------------


def test_each_rounding_mode_at_line_level():
    # 3.3333 % of 1.50 = 4.99995 cents; 2.5 % of 0.30 = 0.75 cents; 5 % of 0.50 = 2.5 cents.
    inputs = make_inputs([-1, 0, 0, 0], ["100", "0", "0", "0"], cv=["0", "1.50", "0.30", "0.50"])

    def line_amounts(rounding: str) -> list[int]:
        ranks = [{"code": "member", "personal_pv": "100", "unilevel_levels": 1}]
        result = run_engine(
            make_plan({"rounding": rounding}, ranks=ranks, unilevel={"percents": ["3.3333"]}),
            inputs,
        )
        return result.lines.amount.tolist()

    assert line_amounts("half_up") == [5, 1, 2]  # 4.99995 → 5, 0.99999 → 1, 1.66665 → 2
    # toward_zero: 4.99995 → 4, 0.99999 → 0 (a 0.00 line is not written), 1.66665 → 1.
    assert line_amounts("toward_zero") == [4, 1]
    assert line_amounts("half_even") == [5, 1, 2]
    assert line_amounts("away_from_zero") == [5, 1, 2]  # 4.99995 → 5, 0.99999 → 1, 1.66665 → 2


def test_half_even_rounds_exact_ties_to_the_even_cent():
    # 5 % of 0.50 = 2.5 cents → 2 (half_even) or 3 (half_up); of 0.70 = 3.5 → 4 either way.
    inputs = make_inputs([-1, 0, 0], ["100", "0", "0"], cv=["0", "0.50", "0.70"])
    ranks = [{"code": "member", "personal_pv": "100", "unilevel_levels": 1}]

    def amounts(rounding: str) -> list[int]:
        plan = make_plan({"rounding": rounding}, ranks=ranks, unilevel={"percents": ["5"]})
        return run_engine(plan, inputs).lines.amount.tolist()

    assert amounts("half_even") == [2, 4]
    assert amounts("half_up") == [3, 4]
    assert amounts("toward_zero") == [2, 3]


def test_earner_kind_total_rounds_each_earners_total_once_and_splits_it_exactly():
    # Three sources of 0.40 CV at 1 %: 0.4 cent each. Line rounding pays 0 + 0 + 0;
    # the earner's total 1.2 cents rounds to 1 cent, given to the first line (equal remainders).
    inputs = make_inputs([-1, 0, 0, 0], ["100", "0", "0", "0"], cv=["0", "0.40", "0.40", "0.40"])
    ranks = [{"code": "member", "personal_pv": "100", "unilevel_levels": 1}]

    def amounts(point: str) -> list[int]:
        plan = make_plan({"rounding_point": point}, ranks=ranks, unilevel={"percents": ["1"]})
        return run_engine(plan, inputs).lines.amount.tolist()

    # 0.00 lines are not written: line rounding writes none (1.2 cents rounded away, breakage
    # 0.012 → 0 cents), the total writes only the first line's cent.
    assert amounts("line") == []
    assert amounts("earner_kind_total") == [1]


# -- retail profit, fast start, matching, advancement ------------------------------------------


def test_retail_profit_goes_to_a_seller_in_good_standing_even_without_activity():
    # Ben (30 PV, not active) sells a line with 12.00 profit; Cal (inactive status) 8.00.
    inputs = make_inputs(
        [-1, ANN, ANN],
        ["100", "30", "100"],
        cv=["0", "0", "0"],
        status=[0, 0, 1],
        lines=[
            {"buyer": BEN, "profit": "12.00", "id": 1},
            {"buyer": CAL, "profit": "8.00", "id": 2},
            {"buyer": ANN, "profit": "0", "id": 3},
        ],
    )
    plan = make_plan(retail_profit={"enabled": True})

    result = run_engine(plan, inputs)

    assert result.lines.as_tuples() == [(BEN, RETAIL, 0, BEN, 1, 1200, 100_000_000, 1200, 1200)]
    assert result.breakage["retail_profit"] == cents(8)
    assert run_engine(make_plan(), inputs).summary["total_paid"] == 0  # disabled by default


def test_fast_start_pays_the_enroller_on_lines_in_the_first_days_only():
    # Eve joined on day 100; 30-day fast start at 20 %. Lines on day 100 (day 0), 129 (day 29)
    # and a line by Ann (joined long ago). Period days 100..139.
    inputs = make_inputs(
        [-1, ANN],
        ["100", "100"],
        cv=["0", "0"],
        join_day=[0, 100],
        period=(100, 139),
        lines=[
            {"buyer": BEN, "cv": "50", "day": 100, "id": 1},
            {"buyer": BEN, "cv": "40", "day": 129, "id": 2},
            {"buyer": BEN, "cv": "30", "day": 130, "id": 3},
            {"buyer": ANN, "cv": "90", "day": 101, "id": 4},
        ],
    )
    plan = make_plan(fast_start={"percent": "20", "days": 30})

    result = run_engine(plan, inputs)

    assert [line[:5] + line[-1:] for line in result.lines.as_tuples()] == [
        (ANN, FAST_START, 0, BEN, 1, cents(10)),
        (ANN, FAST_START, 0, BEN, 2, cents(8)),
    ]


def test_fast_start_of_an_inactive_enroller_is_breakage():
    inputs = make_inputs(
        [-1, ANN],
        ["50", "100"],
        cv=["0", "0"],
        join_day=[0, 100],
        lines=[{"buyer": BEN, "cv": "50", "day": 100}],
    )
    plan = make_plan(fast_start={"percent": "20", "days": 30})

    result = run_engine(plan, inputs)

    assert len(result.lines) == 0
    assert result.breakage["fast_start"] == cents(10)


def test_matching_pays_on_personal_enrollees_unilevel_earnings_by_generation():
    # Sponsor tree: Ann → Ben → Cal → Dee → Eve (everyone active). Enrollers: Ben and Cal were
    # enrolled by Ann; Dee by Cal; Eve by Dee. Matching 10 % (gen 1), 5 % (gen 2).
    ranks = [
        {"code": "member", "personal_pv": "100", "unilevel_levels": 1, "matching_generations": 2}
    ]
    inputs = make_inputs(
        [-1, ANN, BEN, CAL, DEE],
        ["100", "100", "100", "100", "200"],
        enroller=[-1, ANN, ANN, CAL, DEE],
    )
    plan = make_plan(ranks=ranks, unilevel={"percents": ["10"]}, matching={"percents": ["10", "5"]})

    result = run_engine(plan, inputs)

    # Unilevel (L1 10 %): Ann 10 (from Ben), Ben 10, Cal 10, Dee 20.
    # Matching: Dee's 20 → Cal gen 1 (2.00), Ann gen 2 (1.00). Cal's 10 → Ann gen 1 (1.00).
    # Ben's 10 → Ann gen 1 (1.00). Ann's own 10 has no enroller.
    matching = [
        (line[0], line[2], line[3], line[-1])
        for line in result.lines.as_tuples()
        if line[1] == MATCHING
    ]
    assert matching == [
        (ANN, 1, BEN, 100),
        (ANN, 1, CAL, 100),
        (ANN, 2, DEE, 100),
        (CAL, 1, DEE, 200),
    ]


def test_advancement_all_at_once_pays_every_newly_reached_rank():
    ranks = [
        {"code": "one", "personal_pv": "100", "advancement_bonus": "0"},
        {"code": "two", "personal_pv": "200", "advancement_bonus": "50"},
        {"code": "three", "personal_pv": "300", "advancement_bonus": "100"},
    ]
    inputs = make_inputs([-1], ["300"])

    all_at_once = run_engine(make_plan({"rank_advancement": "all_at_once"}, ranks=ranks), inputs)
    one_per_period = run_engine(
        make_plan({"rank_advancement": "one_per_period"}, ranks=ranks), inputs
    )

    assert [(line[2], line[-1]) for line in all_at_once.lines.as_tuples()] == [
        (2, cents(50)),
        (3, cents(100)),
    ]
    assert all_at_once.advancement_paid_rank.tolist() == [3]
    assert len(one_per_period.lines) == 0  # rank one's bonus is 0: no line
    assert one_per_period.advancement_paid_rank.tolist() == [1]


def test_advancement_is_not_paid_twice():
    ranks = [{"code": "one", "personal_pv": "100", "advancement_bonus": "25"}]
    inputs = make_inputs([-1], ["300"], prior_advancement_paid_rank=[1])

    result = run_engine(make_plan(ranks=ranks), inputs)

    assert len(result.lines) == 0
    assert result.advancement_paid_rank.tolist() == [1]


# -- payout cap, minimum payout, holds ---------------------------------------------------------


def capped_plan(method: str, protected: list[str] | None = None):
    cap = {"percent_of_cv": "10", "method": method}
    if protected is not None:
        cap["protected_kinds"] = protected
    return make_plan(
        ranks=[{"code": "member", "personal_pv": "100", "unilevel_levels": 1}],
        unilevel={"percents": ["10"]},
        payout_cap=cap,
        retail_profit={"enabled": True},
        fast_start={"percent": "10", "days": 30},
    )


def cap_inputs():
    # Ann ← Ben (CV 100, joined on the period's first day, enrolled by Ann) and Ann sells 5.00
    # of retail profit. Total CV 200 (Ann 100 + Ben 100) → cap 20.00.
    return make_inputs(
        [-1, ANN],
        ["100", "100"],
        join_day=[0, 100],
        lines=[{"buyer": BEN, "cv": "100", "id": 1}, {"buyer": ANN, "profit": "5", "id": 2}],
    )


def test_cap_all_pro_rata_scales_every_line_to_exactly_the_cap():
    # Before: unilevel 10.00 + fast start 10.00 + retail 5.00 = 25.00 > 20.00.
    result = run_engine(capped_plan("all_pro_rata"), cap_inputs())

    assert result.summary["total_before_cap"] == cents(25)
    assert result.summary["cap_cents"] == cents(20)
    assert result.lines.amount.sum() == cents(20)
    by_kind = result.summary["totals"]
    assert (by_kind["unilevel"], by_kind["retail_profit"], by_kind["fast_start"]) == (800, 400, 800)


def test_cap_protect_kinds_keeps_retail_profit_whole_and_scales_the_rest():
    result = run_engine(capped_plan("protect_kinds", ["retail_profit"]), cap_inputs())

    by_kind = result.summary["totals"]
    assert (by_kind["unilevel"], by_kind["retail_profit"], by_kind["fast_start"]) == (750, 500, 750)
    assert result.summary["total_paid"] == cents(20)


def test_cap_scales_protected_kinds_too_when_they_alone_exceed_the_cap():
    inputs = make_inputs(
        [-1, ANN], ["100", "100"], lines=[{"buyer": ANN, "profit": "30", "id": 2}]
    )  # cap 20.00

    result = run_engine(capped_plan("protect_kinds", ["retail_profit"]), inputs)

    assert result.summary["totals"]["retail_profit"] == cents(20)
    assert result.summary["totals"]["unilevel"] == 0


def test_cap_that_does_not_bind_changes_nothing():
    inputs = make_inputs([-1, ANN], ["100", "100"])

    result = run_engine(capped_plan("all_pro_rata"), inputs)

    assert result.summary["cap_applied"] is False
    assert np.array_equal(result.lines.amount, result.lines.amount_before_cap)


def test_balance_below_the_minimum_payout_is_carried():
    # Ann earns 5.00 (Ben's 100 at 5 %); with 15.00 carried in she reaches 20.00 < 25.00.
    plan = make_plan(minimum_payout="25.00")
    below = run_engine(
        plan, make_inputs([-1, ANN], ["100", "100"], cv=["0", "100"], carried_in=["15.00", "0"])
    )
    reached = run_engine(
        plan, make_inputs([-1, ANN], ["100", "100"], cv=["0", "100"], carried_in=["20.00", "0"])
    )

    assert (below.balance[ANN], below.payable[ANN], below.carried_out[ANN]) == (2000, 0, 2000)
    assert (reached.payable[ANN], reached.carried_out[ANN]) == (2500, 0)


def test_negative_balance_is_carried_and_never_payable():
    result = run_engine(
        make_plan(),
        make_inputs([-1, ANN], ["100", "100"], cv=["0", "100"], carried_in=["-8.00", "0"]),
    )

    assert (result.balance[ANN], result.payable[ANN], result.carried_out[ANN]) == (-300, 0, -300)


def test_hold_keeps_the_whole_balance_carried():
    result = run_engine(
        make_plan(),
        make_inputs(
            [-1, ANN],
            ["100", "100"],
            cv=["0", "100"],
            carried_in=["100", "0"],
            on_hold=[True, False],
        ),
    )

    assert (result.period_total[ANN], result.payable[ANN], result.carried_out[ANN]) == (
        500,
        0,
        10500,
    )


def test_summary_counts_ranks_and_payout_percent():
    result = run_engine(make_plan({"compression": "dynamic"}), chain_of_five())

    assert result.summary["total_cv"] == cents(520)
    assert str(result.summary["payout_percent_of_cv"]) == "10.77"  # 56 / 520
    assert result.summary["paid_as_rank_counts"] == {0: 1, 1: 4}
    assert result.engine_version == "1.2.0"
