"""Volume refunded after its period (``options.late_refunds``, ``engine/rank_grace.py``): a
refund counting in this period of an earlier period's order lowers the buyer's PV here.
``floored`` (default, the rule before the option): a person's negative PV counts as 0;
``negative``: it counts as it is, in their own GV and their uplines'."""

from __future__ import annotations

import datetime as dt

import pytest

from commissions.engine import PlanValidationError, run_engine
from commissions.models import Clawback
from orders.models import RefundReason
from orders.services import order_refund
from tests.clock import Clock
from tests.commissions.engine.builders import make_inputs, make_plan
from tests.commissions.month_ends import (
    FEBRUARY,
    JANUARY,
    MEMBER_AND_GOLD,
    calculate_and_close,
    mid_month,
    result_of,
)
from tests.factories import buy, make_distributor, make_plan_version

RANKS = MEMBER_AND_GOLD


def february(late_refunds: str | None):
    # Ann over Ben and Cal. Ben's only volume is a refund of 100.00 of a January order (PV
    # -100); Ann 100, Cal 150.
    options = {} if late_refunds is None else {"late_refunds": late_refunds}
    plan = make_plan(options, ranks=RANKS)
    return run_engine(plan, make_inputs([-1, 0, 0], ["100", "-100", "150"]))


def test_floored_counts_a_negative_pv_as_zero():
    # Ann's GV = 100 + max(-100, 0) + 150 = 250: Gold.
    result = february("floored")
    assert [int(v) for v in result.gv] == [25000, 0, 15000]
    assert [int(v) for v in result.paid_as_rank] == [2, 0, 1]


def test_negative_lowers_the_uplines_group_volume():
    # Ann's GV = 100 - 100 + 150 = 150 < 250: Member only; Ben's own GV is -100.
    result = february("negative")
    assert [int(v) for v in result.gv] == [15000, -10000, 15000]
    assert [int(v) for v in result.paid_as_rank] == [1, 0, 1]


def test_the_default_is_floored_the_rule_before_the_option():
    assert make_plan().options.late_refunds == "floored"
    default, floored = february(None), february("floored")
    for name in ("gv", "paid_as_rank", "is_active", "counted_gv", "period_total"):
        assert getattr(default, name).tolist() == getattr(floored, name).tolist()


def test_negative_pv_fails_activity_even_with_no_activity_threshold():
    # Activity needs 0 PV. Floored: Ben's -100 counts as 0 ≥ 0, active. Negative: -100 < 0.
    for mode, active in (("floored", True), ("negative", False)):
        plan = make_plan({"late_refunds": mode}, activity={"personal_pv": "0"})
        result = run_engine(plan, make_inputs([-1, 0], ["100", "-100"]))
        assert bool(result.is_active[1]) is active


def test_cv_is_never_negative_whatever_the_option():
    # Ann's unilevel on Ben (CV -100 → 0) and Cal (CV 150, level 1 at 5 % = 7.50).
    plan = make_plan({"late_refunds": "negative"}, ranks=RANKS)
    inputs = make_inputs([-1, 0, 0], ["100", "-100", "150"])
    lines = run_engine(plan, inputs).lines.as_tuples()
    assert sorted((line[3], line[8]) for line in lines if line[0] == 0) == [(2, 750)]
    # The same money under floored (both ranks here unlock the one level).
    floored = run_engine(make_plan({"late_refunds": "floored"}, ranks=RANKS), inputs)
    assert floored.period_total.tolist() == [750, 0, 0]


def test_late_refunds_is_validated():
    with pytest.raises(PlanValidationError) as caught:
        make_plan({"late_refunds": "ignored"})
    assert caught.value.errors == [("options.late_refunds", "must be one of floored, negative")]


# --- Through the services: a January order refunded after January closed ----------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("mode", "ann_gv", "ann_rank", "ben_gv"),
    [
        ("floored", 25000, 2, 0),  # 100 + 0 + 150
        ("negative", 15000, 1, -10000),  # 100 - 100 + 150
    ],
)
def test_a_refund_after_its_month_closed_counts_in_the_refund_month(
    monkeypatch, mode, ann_gv, ann_rank, ben_gv
):
    # Given Ann over Ben and Cal; Ben buys 100 in January, which closes
    plan = {
        "name": "Late refund plan",
        "activity": {"personal_pv": "100"},
        "ranks": RANKS,
        "unilevel": {"percents": ["5"]},
        "options": {"late_refunds": mode},
    }
    make_plan_version(plan, effective_from=dt.date(2026, 1, 1))
    clock = Clock(monkeypatch, mid_month(JANUARY))
    ann = make_distributor(name="Ann Late")
    ben = make_distributor(sponsor=ann, name="Ben Late")
    cal = make_distributor(sponsor=ann, name="Cal Late")
    order = buy(ben, "100", paid_at=mid_month(JANUARY))
    buy(ann, "100", paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    # When Ben returns it in February, while Ann buys 100 and Cal 150
    clock.set(mid_month(FEBRUARY))
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=mid_month(FEBRUARY),
    )
    buy(ann, "100", paid_at=mid_month(FEBRUARY))
    buy(cal, "150", paid_at=mid_month(FEBRUARY))
    calculate_and_close(FEBRUARY, clock)
    # Then Ben's February PV is -100 either way; the option decides what GV sees
    ben_result, ann_result = result_of(FEBRUARY, ben), result_of(FEBRUARY, ann)
    assert ben_result.pv == -10000
    assert (ben_result.gv, ann_result.gv, ann_result.paid_as_rank) == (ben_gv, ann_gv, ann_rank)
    # and the money paid on the refunded order comes back as a clawback: 5 % of 100.00
    assert list(Clawback.objects.filter(earner=ann).values_list("amount", flat=True)) == [-500]
