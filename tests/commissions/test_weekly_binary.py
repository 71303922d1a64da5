"""The binary paid weekly (``schedules.weekly.components: [binary]``) through the database: each
pay week pairs its own volume and the queue it carries in from the previous week; carry and
expiry count weeks; a refund after a week closed takes its volume out of the queue or claws
back its share of that week's pairing, in the week it is recorded; the month pays the rest.

The company (everyone enrolled by Ann; PV = CV; 100 PV makes one active; cycles of 300:300 CV
at 25.00; unilevel 5/5/10 % as the test plan):

    placement tree            week of 9 March
         Ann                  Ann 100
        /    \\                Ben 400
      Ben    Cal              Cal 900
      /                       Dee 740
    Dee
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from commissions.binary_state import carried_into
from commissions.models import (
    BinaryCarry,
    BinaryLegFigures,
    BinaryPairing,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    LineKind,
    PlanVersion,
    Schedule,
)
from commissions.selectors import statement
from commissions.services.plans import plan_version_create
from commissions.services.runs import calculate_period
from commissions.services.weeks import calculate_week, close_week
from core.periods import Period, Week
from orders.models import RefundReason
from orders.services import order_refund
from tests.clock import Clock
from tests.factories import COMMISSION_TEST_PLAN, buy, house, make_distributor
from tests.placement_trees import build_placement_tree

pytestmark = pytest.mark.django_db(transaction=True)

FIRST = Week(dt.date(2026, 3, 9))  # Monday 9 – Sunday 15 March 2026
SECOND, THIRD = FIRST.next(), FIRST.next().next()
AFTER_GRACE = dt.datetime(2026, 4, 20, 12, 0, tzinfo=dt.UTC)


def in_week(week: Week) -> dt.datetime:
    return week.start + dt.timedelta(days=1, hours=15)


def weekly_binary_plan(**binary) -> dict:
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["name"] = "Weekly binary test plan"
    document["placement"] = {"kind": "binary", "rule": "holding_tank"}
    document["binary"] = {
        "pairing": {"method": "cycle", "left": "300", "right": "300", "amount": "25"},
        **binary,
    }
    document["schedules"] = {
        "weekly": {"components": ["binary"], "minimum_payout": "0", "activity_weeks": 4}
    }
    return document


@pytest.fixture
def company():
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    cal = make_distributor(sponsor=ann, name="Cal Diaz")
    dee = make_distributor(sponsor=ann, name="Dee Brown")
    build_placement_tree([(ann, None, None), (ben, ann, 0), (cal, ann, 1), (dee, ben, 0)])
    return ann, ben, cal, dee


def store(document: dict) -> None:
    plan_version_create(source=json.dumps(document), effective_from=dt.date(2026, 1, 1))


def queue(run) -> list[tuple]:
    return list(
        BinaryCarry.objects.filter(run=run)
        .order_by("distributor_id", "side", "source_period")
        .values_list("distributor_id", "side", "source_period", "volume")
    )


def binary_paid(run) -> dict[int, int]:
    return dict(
        CommissionLine.objects.filter(run=run, kind=LineKind.BINARY).values_list(
            "earner_id", "amount"
        )
    )


def buy_first_week(ann, ben, cal, dee):
    for person, volume in ((ann, "100"), (ben, "400"), (cal, "900"), (dee, "740")):
        buy(person, volume, paid_at=in_week(FIRST))


def test_a_week_pairs_its_volume_and_the_next_week_pairs_what_it_carried(company, monkeypatch):
    ann, ben, cal, dee = company
    store(weekly_binary_plan())
    buy_first_week(ann, ben, cal, dee)
    Clock(monkeypatch, in_week(SECOND))
    first = calculate_week(week=FIRST)
    # Ann: left 400 + 740 = 1,140, right 900 → 3 cycles (75.00), 240 carried on the left;
    # Ben: left 740, right nothing → no cycle, 740 carried.
    assert binary_paid(first) == {ann.pk: 7_500}
    assert queue(first) == [
        (ann.pk, 0, FIRST.first_day, 24_000),
        (ben.pk, 0, FIRST.first_day, 74_000),
    ]
    # The placement tree page's "carried" figure is what carries into the week running now.
    assert carried_into(distributor_id=ann.pk, period=Period(2026, 3)) == {0: 24_000, 1: 0}
    close_week(week=FIRST, now=AFTER_GRACE)

    # The second week: Cal buys 360 on the right → Ann pairs 240 (first week's) + nothing new
    # on the left against 360: 0 cycles of 300:300; Dee buys 60 → left 240 + 60 = 300: 1 cycle.
    buy(cal, "360", paid_at=in_week(SECOND))
    buy(dee, "60", paid_at=in_week(SECOND))
    second = calculate_week(week=SECOND)
    assert binary_paid(second) == {ann.pk: 2_500}
    assert queue(second) == [
        (ann.pk, 1, SECOND.first_day, 6_000),
        (ben.pk, 0, FIRST.first_day, 74_000),
        (ben.pk, 0, SECOND.first_day, 6_000),
    ]
    # The month pays unilevel on the same orders and no binary at all.
    march = calculate_period(period=Period(2026, 3))
    kinds = set(CommissionLine.objects.filter(run=march).values_list("kind", flat=True))
    assert LineKind.UNILEVEL in kinds and LineKind.BINARY not in kinds


def test_carried_volume_expires_after_the_plans_number_of_weeks(company):
    ann, ben, cal, dee = company
    store(weekly_binary_plan(carry={"expire_periods": 2}))
    buy_first_week(ann, ben, cal, dee)
    calculate_week(week=FIRST)
    close_week(week=FIRST, now=AFTER_GRACE)
    second = calculate_week(week=SECOND)
    assert (ben.pk, 0, FIRST.first_day, 74_000) in queue(second)  # one week old: kept
    close_week(week=SECOND, now=AFTER_GRACE)
    third = calculate_week(week=THIRD)
    # Two weeks old in the third week: expired (Ann's 240 and Ben's 740).
    assert queue(third) == []
    figures = BinaryLegFigures.objects.get(run=third, distributor=ben)
    assert figures.expired_left == 74_000


def test_a_refund_after_the_weeks_close_claws_back_its_pairing_in_the_refunds_week(company):
    ann, ben, cal, dee = company
    store(weekly_binary_plan())
    buy_first_week(ann, ben, cal, dee)
    calculate_week(week=FIRST)
    close_week(week=FIRST, now=AFTER_GRACE)
    calculate_week(week=SECOND)
    close_week(week=SECOND, now=AFTER_GRACE)
    # When: Dee's first-week order (740 CV, one line) is returned in the third week.
    order = dee.orders.get()
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=in_week(THIRD),
    )
    third = calculate_week(week=THIRD)
    # Then: Ann's left queue held 240 of it; the other 500 paired in the first week: 75.00 ×
    # 500 / 900 = 41.666… → 41.67 comes back, and 500 of the right's first-week volume is put
    # back into the queue. Ben's 740 leaves his queue.
    (claw,) = Clawback.objects.filter(period__month=THIRD.first_day, kind=LineKind.BINARY)
    assert claw.period.schedule == Schedule.WEEKLY
    assert (claw.earner_id, claw.source_id, claw.level, claw.original_period.month) == (
        ann.pk,
        dee.pk,
        0,
        FIRST.first_day,
    )
    assert (claw.refunded_base, claw.original_base, claw.original_amount, claw.amount) == (
        50_000,
        90_000,
        7_500,
        -4_167,
    )
    third_queue = queue(third)
    assert third_queue == [(ann.pk, 1, FIRST.first_day, 50_000)]
    assert list(BinaryPairing.objects.filter(run=third).values_list("paid", "clawed")) == [
        (7_500, 4_167)
    ]
    row = CommissionPeriod.every_schedule.get(schedule=Schedule.WEEKLY, month=THIRD.first_day)
    data = statement(ann, row)
    assert [c.description for c in data.clawbacks if c.kind == LineKind.BINARY] == [
        "binary: refund of 500 CV on the left (volume of the week of 2026-03-09) that paired "
        "in the week of 2026-03-09 takes back 500/900 of the 75.00 that pairing paid; 500 CV "
        "put back on the right"
    ]
    # A recalculation claws nothing twice and leaves the same queue; the month took nothing.
    again = calculate_week(week=THIRD)
    assert Clawback.objects.filter(kind=LineKind.BINARY).count() == 1
    assert queue(again) == third_queue  # (the superseded run's rows are gone)
    assert not Clawback.objects.filter(
        period__schedule=Schedule.MONTHLY, kind=LineKind.BINARY
    ).exists()


def test_a_refund_recorded_after_the_run_makes_the_close_refuse(company):
    ann, ben, cal, dee = company
    store(weekly_binary_plan())
    buy_first_week(ann, ben, cal, dee)
    calculate_week(week=FIRST)
    close_week(week=FIRST, now=AFTER_GRACE)
    calculate_week(week=SECOND)
    close_week(week=SECOND, now=AFTER_GRACE)
    calculate_week(week=THIRD)
    # Ben's 400 (carried nowhere: it all paired in the first week, at Ann) is returned after
    # the third week's run: its clawback and the queue change, so the close must refuse.
    order = ben.orders.get()
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=in_week(THIRD),
    )
    from commissions.errors import CommissionError

    with pytest.raises(CommissionError, match="changed since run"):
        close_week(week=THIRD, now=AFTER_GRACE)


@override_settings(LADDER_DEMO_PLAN="weekly")
def test_demo_seed_with_the_weekly_plan_closes_pay_weeks_beside_the_months():
    house()  # the transactional test flushed the migration's house row
    call_command("seed_demo", distributors=300, seed=3, order_months=5, commission_months=2)
    version = PlanVersion.objects.get()
    assert version.name == "Ladder Weekly Demo Plan"
    assert version.plan.weekly.kinds == ("binary", "fast_start")
    weeks = CommissionPeriod.every_schedule.filter(schedule=Schedule.WEEKLY).order_by("month")
    paid_weeks = [row for row in weeks if row.status == "paid"]
    assert len(paid_weeks) >= 8  # two months and more of Monday weeks
    # The newest closable week is calculated and left for staff to close.
    assert weeks.last().status == "calculated"
    week_runs = [row.current_run for row in paid_weeks]
    week_kinds = set(
        CommissionLine.objects.filter(run__in=week_runs).values_list("kind", flat=True)
    )
    assert {LineKind.BINARY, LineKind.FAST_START} <= week_kinds
    months = CommissionPeriod.objects.filter(status="paid")
    month_kinds = set(
        CommissionLine.objects.filter(run__in=[row.current_run for row in months]).values_list(
            "kind", flat=True
        )
    )
    assert LineKind.UNILEVEL in month_kinds
    assert not month_kinds & {LineKind.BINARY, LineKind.FAST_START}
