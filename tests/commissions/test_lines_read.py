"""A month's run reads only the order lines its plan's rules read (retail profit, the fast
start), and pays exactly what reading every line pays: same results, same ledger lines."""

from __future__ import annotations

import copy
import datetime as dt
import random

import pytest

import commissions.gather as gather_module
from commissions.gather import gather, lines_read_by
from commissions.models import CommissionLine, DistributorResult, LineKind
from commissions.services.runs import calculate_period
from genealogy.models import Distributor
from genealogy.services import place_pending_distributors
from orders.models import OrderLine, RefundReason
from orders.services import order_refund
from orders.volume_summaries import rebuild_volume_summaries
from tests.clock import Clock
from tests.commissions.conftest import PERIOD
from tests.commissions.test_oracle import ORACLE_PLAN
from tests.factories import CustomerFactory, buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

MARCH = dt.date(2026, 3, 1)


def _at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 15, tzinfo=dt.UTC)


def _company(seed: int) -> dict:
    """Old members and March recruits buying for themselves and for customers, one who joined
    on the fast-start window's first day, a same-month refund of a retail and of a recruit's
    line, and a late payment: a January line of a member who joined on 1 January, counted in
    March (within 20 days of joining)."""
    rng = random.Random(seed)
    people = []
    for _ in range(16):
        sponsor = rng.choice(people) if people and rng.random() < 0.8 else None
        people.append(make_distributor(sponsor=sponsor, place=False))
    place_pending_distributors()
    orders = []
    for person in people:
        for _ in range(rng.choice([1, 2, 3])):
            volume = str(rng.choice([25, 40, 60, 85]))
            if rng.random() < 0.3:
                customer = CustomerFactory(distributor=person)
                order = buy(
                    person,
                    volume,
                    paid_at=_at(3, rng.randint(1, 28)),
                    customer=customer,
                    profit=str(rng.randint(1, 9)),
                )
            else:
                order = buy(person, volume, paid_at=_at(3, rng.randint(1, 28)))
            orders.append(order)
    recruits = people[10:]
    Distributor.objects.filter(pk__in=[p.pk for p in people[:10]]).update(
        joined_on=dt.date(2025, 1, 1)
    )
    for day, person in enumerate(recruits, start=1):
        Distributor.objects.filter(pk=person.pk).update(joined_on=dt.date(2026, 3, day))
    # The window's first day: joined 19 days before a line of 1 March (in the 20-day window).
    edge = people[4]
    Distributor.objects.filter(pk=edge.pk).update(joined_on=dt.date(2026, 2, 10))
    buy(edge, "45", paid_at=_at(3, 1))
    late_buyer = people[3]
    Distributor.objects.filter(pk=late_buyer.pk).update(joined_on=dt.date(2026, 1, 1))
    late = buy(late_buyer, "70", paid_at=_at(1, 10))
    OrderLine.objects.filter(order=late).update(commission_month=MARCH)
    retail = next(o for o in orders if o.customer_id is not None)
    recruit_order = next(o for o in orders if o.distributor_id == recruits[0].pk)
    for order in (retail, recruit_order):
        line = order.lines.get()
        order_refund(
            order=order, quantities={line.pk: 1}, reason=RefundReason.RETURN, now=_at(3, 29)
        )
    rebuild_volume_summaries()
    return {"late_line": OrderLine.objects.get(order=late).pk, "edge": edge}


def _ledger(run) -> tuple[list, list]:
    results = list(
        DistributorResult.objects.filter(run=run)
        .order_by("distributor_id")
        .values_list(
            "distributor_id",
            "pv",
            "cv",
            "gv",
            "paid_as_rank",
            "period_total",
            "balance",
            "payable",
            "carried_out",
        )
    )
    lines = list(
        CommissionLine.objects.filter(run=run)
        .order_by("position")
        .values_list("earner_id", "kind", "level", "source_id", "source_line_id", "base", "amount")
    )
    return results, lines


@pytest.mark.parametrize("seed", [1, 2])
def test_reading_only_the_lines_the_plan_reads_pays_what_every_line_pays(seed, monkeypatch):
    clock = Clock(monkeypatch, dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC))
    company = _company(seed)
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC))
    make_plan_version(ORACLE_PLAN)

    read = gather(PERIOD).inputs.line_id
    every = OrderLine.objects.filter(commission_month=MARCH).count()
    assert 0 < len(read) < every  # old members' personal lines are not read
    # Paid before March by a member who joined in January (not a recent joiner, no retail
    # profit), within the 20 days of the fast start: read as every line paid before the month.
    assert company["late_line"] in read
    edge_lines = OrderLine.objects.filter(distributor=company["edge"], commission_month=MARCH)
    assert set(edge_lines.values_list("pk", flat=True)) <= set(read.tolist())
    some = calculate_period(period=PERIOD)
    from_some = _ledger(some)
    monkeypatch.setattr(gather_module, "lines_read_by", lambda *args, **kwargs: None)
    assert len(gather(PERIOD).inputs.line_id) == every
    all_lines = calculate_period(period=PERIOD)

    assert from_some == _ledger(all_lines)
    assert {kind for _, kind, *_ in from_some[1]} >= {LineKind.RETAIL_PROFIT, LineKind.FAST_START}
    assert some.summary == all_lines.summary


def test_an_order_time_upline_or_a_line_reading_component_reads_every_line(db):
    order_time = make_plan_version(ORACLE_PLAN, upline="order_time").plan
    assert lines_read_by(order_time, PERIOD) is None
    award = copy.deepcopy(ORACLE_PLAN)
    award["order_award"] = {"amount": "2", "per": "unit", "to": "sponsor"}
    assert lines_read_by(make_plan_version(award).plan, PERIOD) is None
    # The oracle plan's fast start lasts 20 days: a March line can be in the window of someone
    # who joined on 10 February or later, up to 31 March.
    selection = lines_read_by(make_plan_version(ORACLE_PLAN).plan, PERIOD)
    assert selection.buyers_joined == (dt.date(2026, 2, 9), dt.date(2026, 3, 31))
    no_fast_start = copy.deepcopy(ORACLE_PLAN)
    del no_fast_start["fast_start"]
    selection = lines_read_by(make_plan_version(no_fast_start).plan, PERIOD)
    assert selection.retail_profit
    assert selection.buyers_joined is None and selection.paid_before is None
