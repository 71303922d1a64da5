"""The binary component through the database: placement tree gathered as of the close, the
carry queue stored per run and consumed oldest first the next month, statements, the placement
tree page's carried volume, and the hybrid demo plan.

The company (everyone enrolled by Ann; PV = CV; the plan needs 100 PV to be active and pays
300:300 CV cycles at 25.00; unilevel 5/5/10 % as the test plan):

    placement tree            March CV      April CV
         Ann                  Ann 100       Ann 100
        /    \\                Ben 400       Ben   0
      Ben    Cal              Cal 900       Cal 600
      /                       Dee 740       Dee 100
    Dee
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import override_settings
from django.urls import reverse

from commissions.binary_state import (
    binary_component_inputs,
    carried_into,
    index_first_day,
    period_index,
)
from commissions.demo import DEMO_PLANS, demo_plan_path
from commissions.models import (
    BinaryCarry,
    BinaryLegFigures,
    BinaryPairedVolume,
    BinaryPairing,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    LineKind,
    PlanVersion,
)
from commissions.selectors import carried_leg_volumes, statement
from commissions.services.close import close_period
from commissions.services.periods import period_row
from commissions.services.plans import parse_plan_source, plan_version_create
from commissions.services.runs import calculate_period
from core.periods import Period
from orders.models import RefundReason
from orders.services import order_refund
from tests.factories import COMMISSION_TEST_PLAN, buy, house, make_distributor
from tests.placement_trees import build_placement_tree

pytestmark = pytest.mark.django_db(transaction=True)

MARCH, APRIL, MAY = Period(2026, 3), Period(2026, 4), Period(2026, 5)
IN_MARCH = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
IN_APRIL = dt.datetime(2026, 4, 10, 15, 0, tzinfo=dt.UTC)
IN_MAY = dt.datetime(2026, 5, 12, 15, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 6, 20, 12, 0, tzinfo=dt.UTC)  # both months closable

BINARY_PLAN = {
    **COMMISSION_TEST_PLAN,
    "name": "Binary test plan",
    "placement": {"kind": "binary", "rule": "holding_tank"},
    "binary": {"pairing": {"method": "cycle", "left": "300", "right": "300", "amount": "25"}},
}


@pytest.fixture
def company():
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    cal = make_distributor(sponsor=ann, name="Cal Diaz")
    dee = make_distributor(sponsor=ann, name="Dee Brown")
    build_placement_tree([(ann, None, None), (ben, ann, 0), (cal, ann, 1), (dee, ben, 0)])
    plan_version_create(source=json.dumps(BINARY_PLAN), effective_from=dt.date(2026, 1, 1))
    for person, volume in ((ann, "100"), (ben, "400"), (cal, "900"), (dee, "740")):
        buy(person, volume, paid_at=IN_MARCH)
    return ann, ben, cal, dee


def queue(run) -> list[tuple]:
    return list(
        BinaryCarry.objects.filter(run=run)
        .order_by("distributor_id", "side", "source_period")
        .values_list("distributor_id", "side", "source_period", "volume")
    )


def binary_lines(run) -> list[tuple]:
    return list(
        CommissionLine.objects.filter(run=run, kind=LineKind.BINARY)
        .order_by("position")
        .values_list("earner_id", "base", "rate_units", "amount")
    )


def test_period_index_round_trips_months():
    assert period_index(Period(2026, 1)) == 2026 * 12
    assert period_index(Period(2026, 12)) - period_index(Period(2026, 11)) == 1
    assert period_index(Period(2027, 1)) - period_index(Period(2026, 12)) == 1
    for period in (Period(1999, 12), Period(2026, 3), Period(2030, 1)):
        assert index_first_day(period_index(period)) == period.first_day


def test_two_months_closed_carry_is_stored_and_consumed_oldest_first(company):
    ann, ben, cal, dee = company

    march = calculate_period(period=MARCH)
    # Ann's left leg: Ben 400 + Dee 740 = 1,140; right leg: Cal 900.
    # Cycles = min(1,140 // 300, 900 // 300) = min(3, 3) = 3 → 3 × 25.00 = 75.00,
    # consuming 900 on each side: left 1,140 − 900 = 240 carried, right 0.
    # Ben's left leg: Dee 740, right leg empty → no cycle, 740 carried. Cal, Dee: no legs.
    assert binary_lines(march) == [(ann.pk, 7_500, 100_000_000, 7_500)]
    first = MARCH.first_day
    assert queue(march) == [(ann.pk, 0, first, 24_000), (ben.pk, 0, first, 74_000)]
    close_period(period=MARCH, now=LATER)
    assert period_row(MARCH).current_run.is_final

    # The queue goes into April's inputs as engine indices (ids sorted: Ann, Ben, Cal, Dee are
    # created in that order after the house).
    for person, volume in ((ann, "100"), (cal, "600"), (dee, "100")):
        buy(person, volume, paid_at=IN_APRIL)
    april = calculate_period(period=APRIL)
    # Ann: left = 240 (March) + 100 (Dee, April) = 340; right = 600 (Cal, April).
    # Cycles = min(340 // 300, 600 // 300) = 1 → 25.00, consuming 300 per side, oldest first:
    # left takes March's 240 whole, then 60 of April's 100 → April 40 left; right April 300.
    # Ben: left = 740 (March) + 100 (April) = 840, right 0 → no cycle, both entries stay.
    assert binary_lines(april) == [(ann.pk, 2_500, 100_000_000, 2_500)]
    april_first = APRIL.first_day
    assert queue(april) == [
        (ann.pk, 0, april_first, 4_000),
        (ann.pk, 1, april_first, 30_000),
        (ben.pk, 0, first, 74_000),
        (ben.pk, 0, april_first, 10_000),
    ]
    close_period(period=APRIL, now=LATER)
    assert queue(period_row(APRIL).current_run) == queue(april)
    # A final run's queue and figures are immutable, whatever SQL touches them.
    for rows in (BinaryCarry.objects.filter(run=april), BinaryLegFigures.objects.filter(run=april)):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            rows.delete()
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
            rows.update(run_id=april.pk)

    # What April's run read: March's rows, by engine index, and April's index.
    gathered_state = binary_component_inputs(
        plan=april.plan_version.plan,
        period=APRIL,
        prior_run_id=march.pk,
        ids=np.array(sorted([ann.pk, ben.pk, cal.pk, dee.pk])),
    )
    assert gathered_state["current_period"] == period_index(APRIL)
    assert gathered_state["owner"].tolist() == [0, 1]
    assert gathered_state["side"].tolist() == [0, 0]
    assert gathered_state["period_index"].tolist() == [period_index(MARCH)] * 2
    assert gathered_state["volume"].tolist() == [24_000, 74_000]


def test_a_refund_of_a_closed_months_order_takes_its_volume_out_of_the_queue(company):
    ann, ben, cal, dee = company
    calculate_period(period=MARCH)
    close_period(period=MARCH, now=LATER)
    # Dee's March order (740 CV, one line) is returned in full in April.
    order = dee.orders.get()
    order_refund(
        order=order, quantities={order.lines.get().pk: 1}, reason=RefundReason.RETURN, now=IN_APRIL
    )
    for person, volume in ((ann, "100"), (cal, "600"), (dee, "100")):
        buy(person, volume, paid_at=IN_APRIL)
    april = calculate_period(period=APRIL)
    # The refund takes 740 from March's entry on every placement ancestor's side of Dee:
    # Ben's left March 740 → 0; Ann's left March 240 → 0, and the other 500 had already paired
    # in March (reported as unmatched): it claws back its share of that pairing and puts back
    # 500 of the right's March volume (see the next test).
    # April: Ann left 100 (Dee), right 500 (March) + 600 (Cal) → min(100 // 300, ...) = 0 cycles.
    assert binary_lines(april) == []
    april_first = APRIL.first_day
    assert queue(april) == [
        (ann.pk, 0, april_first, 10_000),
        (ann.pk, 1, MARCH.first_day, 50_000),
        (ann.pk, 1, april_first, 60_000),
        (ben.pk, 0, april_first, 10_000),
    ]
    figures = BinaryLegFigures.objects.get(run=april, distributor=ann)
    assert (figures.left, figures.right, figures.refund_unmatched_left) == (10_000, 110_000, 50_000)
    assert BinaryLegFigures.objects.get(run=april, distributor=ben).refund_unmatched_left == 0


def test_refunds_of_paired_volume_in_later_months_claw_back_the_pairing_and_no_more(
    company, client
):
    """March pays Ann 3 cycles (75.00) on 900/900 of March volume (see the first test). Dee's
    740 is refunded in April after March closed, Ben's 400 in May after April closed."""
    ann, ben, cal, dee = company
    march = calculate_period(period=MARCH)
    close_period(period=MARCH, now=LATER)
    # Given: the March pairing and its history are stored with the run.
    assert list(
        BinaryPairing.objects.filter(run=march).values_list(
            "distributor_id", "paired_period", "paid", "paired_left", "paired_right", "clawed"
        )
    ) == [(ann.pk, MARCH.first_day, 7_500, 90_000, 90_000, 0)]
    assert sorted(
        BinaryPairedVolume.objects.filter(run=march).values_list("side", "source_period", "volume")
    ) == [(0, MARCH.first_day, 90_000), (1, MARCH.first_day, 90_000)]

    # When: Dee's March order (740 CV) is returned in April.
    order = dee.orders.get()
    order_refund(
        order=order, quantities={order.lines.get().pk: 1}, reason=RefundReason.RETURN, now=IN_APRIL
    )
    buy(cal, "600", paid_at=IN_APRIL)
    april = calculate_period(period=APRIL)
    # Then: Ann's left March queue held 240 of it; the other 500 paired in March: 75.00 × 500 /
    # 900 = 41.666… → 41.67 comes back, and 900 × 500 / 900 = 500 of the right's March volume
    # is put back into the queue (as March volume).
    (claw,) = Clawback.objects.filter(period__month=APRIL.first_day, kind=LineKind.BINARY)
    assert (claw.earner_id, claw.source_id, claw.level, claw.original_period.month) == (
        ann.pk,
        dee.pk,
        0,
        MARCH.first_day,
    )
    assert (claw.refunded_base, claw.original_base, claw.original_amount, claw.amount) == (
        50_000,
        90_000,
        7_500,
        -4_167,
    )
    assert (claw.binary.side, claw.binary.source_period, claw.binary.restored) == (
        0,
        MARCH.first_day,
        50_000,
    )
    # It is a ledger line of April like the unilevel clawbacks of the same refund.
    april_claws = Clawback.objects.filter(period__month=APRIL.first_day)
    assert april.summary["adjustments_and_clawbacks"] == sum(c.amount for c in april_claws)
    assert {c.kind for c in april_claws} >= {LineKind.BINARY, LineKind.UNILEVEL}
    april_queue = queue(april)
    assert (ann.pk, 1, MARCH.first_day, 50_000) in april_queue
    assert list(BinaryPairing.objects.filter(run=april).values_list("paid", "clawed")) == [
        (7_500, 4_167)
    ]
    data = statement(ann, CommissionPeriod.objects.get(month=APRIL.first_day))
    assert [c.description for c in data.clawbacks if c.kind == LineKind.BINARY] == [
        "binary: refund of 500 CV on the left (volume of 2026-03) that paired in 2026-03 takes "
        "back 500/900 of the 75.00 that pairing paid; 500 CV put back on the right"
    ]
    # A recalculation of April makes no second clawback and the same queue.
    again = calculate_period(period=APRIL)
    assert Clawback.objects.filter(kind=LineKind.BINARY).count() == 1
    assert queue(again) == april_queue
    close_period(period=APRIL, now=LATER)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        BinaryPairing.objects.filter(run=again).update(clawed=0)
    client.force_login(ann.user)  # the closed month's statement page says it too
    page = client.get(reverse("earnings_statement", args=[str(APRIL)])).content.decode()
    assert "Clawback: binary: refund of 500 CV on the left (volume of 2026-03)" in page

    # When: Ben's March order (400 CV) is returned in May.
    order = ben.orders.get()
    order_refund(
        order=order, quantities={order.lines.get().pk: 1}, reason=RefundReason.RETURN, now=IN_MAY
    )
    may = calculate_period(period=MAY)
    # Then: Ann's March pairing still holds 400 of the left: 75.00 × 400 / 900 = 33.333… →
    # 33.33, exactly what is left of the 75.00 (41.67 + 33.33 = 75.00); the right's last 400
    # of the pairing is put back (March volume 500 + 400 = 900).
    claws = Clawback.objects.filter(kind=LineKind.BINARY, earner=ann).order_by("id")
    assert [c.amount for c in claws] == [-4_167, -3_333]
    assert sum(c.amount for c in claws) == -7_500
    assert (ann.pk, 1, MARCH.first_day, 90_000) in queue(may)
    # The pairing is fully undone: no history is left of it.
    assert not BinaryPairedVolume.objects.filter(run=may, distributor=ann).exists()
    assert not BinaryPairing.objects.filter(run=may, distributor=ann).exists()


def test_a_recalculated_open_month_replaces_its_own_rows(company):
    ann, ben, _cal, _dee = company
    first = calculate_period(period=MARCH)
    second = calculate_period(period=MARCH)
    assert queue(second) == [
        (ann.pk, 0, MARCH.first_day, 24_000),
        (ben.pk, 0, MARCH.first_day, 74_000),
    ]
    # The superseded run's rows are deleted with its results.
    assert not BinaryCarry.objects.filter(run=first).exists()
    assert not BinaryLegFigures.objects.filter(run=first).exists()
    close_period(period=MARCH, now=LATER)
    assert BinaryCarry.objects.count() == 2


def test_statement_explains_the_binary_line_with_legs_and_carry(company):
    ann, ben, _cal, _dee = company
    calculate_period(period=MARCH)
    close_period(period=MARCH, now=LATER)
    data = statement(ann, CommissionPeriod.objects.get(month=MARCH.first_day))
    (line,) = [row for row in data.lines if row.line.kind == LineKind.BINARY]
    # 3 cycles of 300/300; left 1,140 → 240 carried; right 900 → 0 carried (see above).
    assert line.description == (
        "binary: 3 pairs of 300/300 CV, left 1,140 → 240 carried, right 900 → 0 carried"
    )
    assert str(line.amount) == "75.00"
    assert data.totals_by_kind["Binary"] == line.amount
    # Ben has volume but no line: his figures are stored all the same.
    figures = BinaryLegFigures.objects.get(run=data.run, distributor=ben)
    assert (figures.left, figures.right, figures.carried_left, figures.cycles_ppm) == (
        74_000,
        0,
        74_000,
        0,
    )


def test_placement_page_reads_the_carried_volume_of_each_leg(company):
    ann, ben, cal, _dee = company
    # Before anything was calculated there is no figure (pages show "—").
    assert carried_leg_volumes(distributor_id=ann.pk, period=APRIL) is None
    calculate_period(period=MARCH)
    close_period(period=MARCH, now=LATER)
    # Into April: Ann 240 left, 0 right; Ben 740 left; Cal nothing.
    assert carried_leg_volumes(distributor_id=ann.pk, period=APRIL) == {0: 24_000, 1: 0}
    assert carried_leg_volumes(distributor_id=ben.pk, period=APRIL) == {0: 74_000, 1: 0}
    assert carried_into(distributor_id=cal.pk, period=APRIL) == {0: 0, 1: 0}


def test_placement_tree_page_shows_what_each_leg_carries_into_the_open_month(client):
    """The page asks for the open month: the plan comes from the cached calendar."""
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    cal = make_distributor(sponsor=ann, name="Cal Diaz")
    dee = make_distributor(sponsor=ann, name="Dee Brown")
    build_placement_tree([(ann, None, None), (ben, ann, 0), (cal, ann, 1), (dee, ben, 0)])
    plan_version_create(source=json.dumps(BINARY_PLAN), effective_from=dt.date(2020, 1, 1))
    last_month = Period.current().previous()
    paid_at = last_month.start + dt.timedelta(days=10)
    for person, volume in ((ann, "100"), (ben, "400"), (cal, "900"), (dee, "740")):
        buy(person, volume, paid_at=paid_at)
    calculate_period(period=last_month)  # calculated is enough: it is the run carried from
    client.force_login(ann.user)
    html = client.get(reverse("placement_tree")).content.decode()
    # Left: 1,140 − 3 cycles × 300 = 240 carried; right: 900 − 900 = 0 (as in March above).
    assert re.findall(r"data-leg-carried>([^<]*)<", html) == ["240", "0"]


def test_a_plan_without_binary_stores_no_queue_and_shows_no_carry(db):
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    build_placement_tree([(ann, None, None), (ben, ann, 0)])
    plan_version_create(source=json.dumps(COMMISSION_TEST_PLAN), effective_from=MARCH.first_day)
    buy(ann, "100", paid_at=IN_MARCH)
    buy(ben, "100", paid_at=IN_MARCH)
    run = calculate_period(period=MARCH)
    assert not BinaryCarry.objects.exists()
    assert "binary_carry" not in run.counts
    assert carried_leg_volumes(distributor_id=ann.pk, period=APRIL) is None


def test_hybrid_demo_plan_parses_with_binary_and_unilevel():
    _document, plan = parse_plan_source(DEMO_PLANS["hybrid"].read_text(encoding="utf-8"))
    binary = plan.components["binary"]
    assert (binary.method, binary.cycle_left, binary.cycle_right, binary.cycle_amount) == (
        "cycle",
        30_000,
        30_000,
        3_000,
    )
    assert plan.placement["kind"] == "binary"
    assert plan.unilevel_rates == (4_000_000, 3_000_000, 2_000_000, 1_000_000, 1_000_000, 1_000_000)
    # 12 % unilevel + 15 % matching of it (1.8) + 10 % fast start + 10 % binary = 33.8 %.
    assert str(plan.max_payout_percent().normalize()) == "33.8"
    with override_settings(LADDER_DEMO_PLAN="hybrid"):
        assert demo_plan_path() == DEMO_PLANS["hybrid"]
    assert demo_plan_path() == DEMO_PLANS["unilevel"]


@override_settings(LADDER_DEMO_PLAN="hybrid")
def test_demo_seed_with_the_hybrid_plan_pays_binary_lines():
    house()  # the transactional test flushed the migration's house row
    call_command("seed_demo", distributors=300, seed=3, order_months=5, commission_months=2)
    version = PlanVersion.objects.get()
    assert version.name == "Ladder Hybrid Demo Plan"
    closed = CommissionPeriod.objects.filter(status__in=["closed", "paid"]).order_by("month")
    assert closed.count() == 2
    first, second = (row.current_run for row in closed)
    # Both closed months paid binary lines, and the second month's legs started from the
    # first month's queue: on every side, the volume available is at least what carried in.
    assert CommissionLine.objects.filter(run=first, kind=LineKind.BINARY).exists()
    assert CommissionLine.objects.filter(run=second, kind=LineKind.BINARY).exists()
    carried_in: dict[tuple[int, int], int] = {}
    for person, side, volume in BinaryCarry.objects.filter(run=first).values_list(
        "distributor_id", "side", "volume"
    ):
        carried_in[person, side] = carried_in.get((person, side), 0) + volume
    assert carried_in
    available = {
        row[0]: row[1:]
        for row in BinaryLegFigures.objects.filter(run=second).values_list(
            "distributor_id", "left", "right"
        )
    }
    for (person, side), volume in carried_in.items():
        assert available[person][side] >= volume


def test_a_refunds_clawbacks_follow_the_previous_month_when_it_is_recalculated(company):
    """The clawbacks of a May refund are worked out over April's run; when April (still open)
    is recalculated and pairs differently, May's clawbacks are worked out again instead of
    keeping the stale ones."""
    ann, ben, cal, dee = company
    calculate_period(period=MARCH)
    close_period(period=MARCH, now=LATER)
    # April: Ann active; Ben 60 on Ann's left (March's 240 + 60 = 300) and Cal 300 on the
    # right pair once, consuming March's 240.
    buy(ann, "100", paid_at=IN_APRIL)
    late = buy(ben, "60", paid_at=IN_APRIL)
    buy(cal, "300", paid_at=IN_APRIL)
    april = calculate_period(period=APRIL)
    assert binary_lines(april) == [(ann.pk, 2_500, 100_000_000, 2_500)]
    order = dee.orders.get()
    order_refund(
        order=order, quantities={order.lines.get().pk: 1}, reason=RefundReason.RETURN, now=IN_MAY
    )

    def claws() -> list[tuple]:
        return sorted(
            Clawback.objects.filter(period__month=MAY.first_day, kind=LineKind.BINARY).values_list(
                "earner_id", "level", "amount"
            )
        )

    calculate_period(period=MAY)
    # Dee's 740 of March takes back 240/300 of April's pairing (20.00, level 1: March volume
    # that paired in April) and 500/900 of March's (41.67).
    assert claws() == [(ann.pk, 0, -4_167), (ann.pk, 1, -2_000)]
    first_ids = set(Clawback.objects.filter(kind=LineKind.BINARY).values_list("id", flat=True))
    calculate_period(period=MAY)  # the same inputs: the same rows, left as they are
    assert set(Clawback.objects.filter(kind=LineKind.BINARY).values_list("id", flat=True)) == (
        first_ids
    )

    # Ben's 60 is returned within April: April no longer pairs, and May's refund now finds
    # March's 240 still queued: only March's pairing gives back, and the queue agrees.
    order_refund(
        order=late,
        quantities={late.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=IN_APRIL + dt.timedelta(days=1),
    )
    assert binary_lines(calculate_period(period=APRIL)) == []
    may = calculate_period(period=MAY)
    assert claws() == [(ann.pk, 0, -4_167)]
    assert list(BinaryPairing.objects.filter(run=may).values_list("paid", "clawed")) == [
        (7_500, 4_167)
    ]
