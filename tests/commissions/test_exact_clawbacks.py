"""Clawbacks that reverse exactly what was paid (``services/clawbacks.py``): never more than an
original line paid, whatever the rounding of each refund's share; the plan components' lines
(stair-step per source, order awards per order and per unit) come back by their own rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from commissions.models import Clawback, CommissionLine, LineKind
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from orders.models import RefundReason
from orders.services import order_refund
from tests.clock import Clock
from tests.commissions.month_ends import (
    FEBRUARY,
    JANUARY,
    MARCH,
    MEMBER_AND_GOLD,
    calculate_and_close,
    mid_month,
)
from tests.factories import ProductFactory, buy, make_distributor, make_order, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

RANKS = MEMBER_AND_GOLD


def plan(**sections):
    doc = {
        "name": "Exact clawback plan",
        "activity": {"personal_pv": "100"},
        "ranks": RANKS,
        "unilevel": {"percents": ["5"]},
    }
    doc.update(sections)
    make_plan_version(doc, effective_from=dt.date(2026, 1, 1))


def product(volume: str):
    value = Decimal(volume)
    return ProductFactory(pv=value, cv=value, wholesale_price=value, retail_price=value)


def refund(order, line, quantity, period):
    order_refund(
        order=order,
        quantities={line.pk: quantity},
        reason=RefundReason.RETURN,
        now=mid_month(period),
    )


def taken(distributor, kind, period=None) -> list[int]:
    rows = Clawback.objects.filter(earner=distributor, kind=kind)
    if period is not None:
        rows = rows.filter(period=period_row(period))
    return list(rows.order_by("id").values_list("amount", flat=True))


def paid(distributor, kind, period) -> int:
    lines = CommissionLine.objects.filter(
        run=period_row(period).current_run, earner=distributor, kind=kind
    )
    return sum(lines.values_list("amount", flat=True))


@pytest.fixture
def ann_and_ben(monkeypatch):
    clock = Clock(monkeypatch, mid_month(JANUARY))
    ann = make_distributor(name="Ann Exact")
    ben = make_distributor(sponsor=ann, name="Ben Exact")
    buy(ann, "100", paid_at=mid_month(JANUARY))
    return clock, ann, ben


def test_two_refunds_of_halves_never_take_back_the_cent_paid_once(ann_and_ben):
    # Given Ann paid 5 % of Ben's 0.20 CV: 1 cent (no other line of hers)
    plan()
    clock, ann, ben = ann_and_ben
    order = make_order(distributor=ben, items={product("0.10"): 2}, paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    assert paid(ann, LineKind.UNILEVEL, JANUARY) == 1
    # When Ben returns one unit in February and the other in March
    line = order.lines.get()
    clock.set(mid_month(FEBRUARY))
    refund(order, line, 1, FEBRUARY)
    calculate_and_close(FEBRUARY, clock)
    clock.set(mid_month(MARCH))
    refund(order, line, 1, MARCH)
    clock.set(MARCH.end + dt.timedelta(days=5))
    calculate_period(period=MARCH)
    # Then each half alone rounds up to a cent, but only the one cent paid comes back
    assert taken(ann, LineKind.UNILEVEL, FEBRUARY) == [-1]
    assert taken(ann, LineKind.UNILEVEL, MARCH) == []


def test_stair_step_lines_come_back_by_the_refunded_share_of_their_source(ann_and_ben):
    # Given Ben (Member, 5 %) buys 200 and Ann (Gold, 10 %) 100: Ben earns 5 % of his 200,
    # Ann 10 − 5 = 5 % of Ben's 200 and 10 % of her own 100
    plan(stair_step={"percents": {"member": 5, "gold": 10}})
    clock, ann, ben = ann_and_ben
    order = make_order(distributor=ben, items={product("100"): 2}, paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    assert (paid(ben, LineKind.STAIR_STEP, JANUARY), paid(ann, LineKind.STAIR_STEP, JANUARY)) == (
        1000,
        2000,
    )
    # When Ben returns half of it in February
    clock.set(mid_month(FEBRUARY))
    refund(order, order.lines.get(), 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    # Then half of each line on Ben's volume comes back, and Ann's line on her own stays
    assert taken(ben, LineKind.STAIR_STEP) == [-500]
    assert taken(ann, LineKind.STAIR_STEP) == [-500]


def two_line_order(ben, volumes):
    order = make_order(
        distributor=ben,
        items={product(volume): 1 for volume in volumes},
        paid_at=mid_month(JANUARY),
    )
    return order, list(order.lines.order_by("id"))


def test_an_order_award_comes_back_whole_once_the_order_falls_below_its_minimum(ann_and_ben):
    # Given a 5.00 award to the sponsor per order of at least 50 CV; Ben's order of 40 + 40
    plan(order_award={"amount": "5", "per": "order", "minimum_order_cv": "50", "to": "sponsor"})
    clock, ann, ben = ann_and_ben
    order, lines = two_line_order(ben, ["40", "40"])
    calculate_and_close(JANUARY, clock)
    assert paid(ann, LineKind.ORDER_AWARD, JANUARY) == 500
    # When Ben returns the second line in February (not the line the award names) and the
    # first in March
    clock.set(mid_month(FEBRUARY))
    refund(order, lines[1], 1, FEBRUARY)
    calculate_and_close(FEBRUARY, clock)
    clock.set(mid_month(MARCH))
    refund(order, lines[0], 1, MARCH)
    clock.set(MARCH.end + dt.timedelta(days=5))
    calculate_period(period=MARCH)
    # Then February takes the whole award back (40 < 50) and March nothing more
    assert taken(ann, LineKind.ORDER_AWARD, FEBRUARY) == [-500]
    assert taken(ann, LineKind.ORDER_AWARD, MARCH) == []


def test_an_order_award_stays_while_the_order_still_reaches_its_minimum(ann_and_ben):
    plan(order_award={"amount": "5", "per": "order", "minimum_order_cv": "50", "to": "sponsor"})
    clock, ann, ben = ann_and_ben
    order, lines = two_line_order(ben, ["30", "30", "30"])
    calculate_and_close(JANUARY, clock)
    assert paid(ann, LineKind.ORDER_AWARD, JANUARY) == 500
    clock.set(mid_month(FEBRUARY))
    refund(order, lines[0], 1, FEBRUARY)  # 60 left: the order still earns its award
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    assert taken(ann, LineKind.ORDER_AWARD) == []
    assert taken(ann, LineKind.UNILEVEL) == [-150]  # 5 % of the 30 refunded


def test_a_per_unit_award_comes_back_by_the_refunded_units(ann_and_ben):
    # Given 2.00 to the sponsor per unit; Ben buys 3 units
    plan(order_award={"amount": "2", "per": "unit", "to": "sponsor"})
    clock, ann, ben = ann_and_ben
    order = make_order(distributor=ben, items={product("10"): 3}, paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    assert paid(ann, LineKind.ORDER_AWARD, JANUARY) == 600
    # When he returns one unit
    clock.set(mid_month(FEBRUARY))
    refund(order, order.lines.get(), 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    # Then one unit's award comes back
    assert taken(ann, LineKind.ORDER_AWARD) == [-200]


@pytest.mark.parametrize(
    ("amount", "limited"),
    [(-250, False), (-249, True), (-100, True), (0, True)],
)
def test_a_clawback_says_when_the_limit_cut_it(amount, limited):
    # Half of a 5.00 line is 2.50: less than that was cut by what earlier refunds took.
    claw = Clawback(original_amount=500, refunded_base=100, original_base=200, amount=amount)
    assert claw.was_limited is limited
