"""Clawbacks under ``upline: order_time`` (``services/clawbacks.py``): a refund takes back the
unilevel lines its order line paid (the sponsor at order time, then the tree at close), not
what a walk over the buyer's later upline would have paid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.gather import clawback_candidates, closed_months
from commissions.models import Clawback, CommissionLine, CommissionPeriod, LineKind
from commissions.services.clawbacks import _RunClawbacks
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from genealogy.services import move_distributor
from orders.models import RefundReason
from orders.services import order_refund
from tests.clock import Clock
from tests.commissions.month_ends import FEBRUARY, JANUARY, MARCH, calculate_and_close, mid_month
from tests.factories import ProductFactory, buy, make_distributor, make_order, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

RATES = ("10", "5")  # level 1, level 2 (percent)


def plan(compression: str = "dynamic", *, matching: bool = False) -> None:
    member = {"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 2}
    doc: dict = {
        "name": "Order-time clawback plan",
        "activity": {"personal_pv": "100"},
        "ranks": [member],
        "unilevel": {"percents": list(RATES)},
        "options": {"compression": compression, "upline": "order_time"},
    }
    if matching:
        member["matching_generations"] = 1
        doc["matching"] = {"percents": ["10"]}
    make_plan_version(doc, effective_from=dt.date(2026, 1, 1))


def unilevel(period, earner) -> dict[int, int]:
    """level -> cents of ``earner``'s unilevel lines in ``period``'s run."""
    paid: dict[int, int] = {}
    for level, amount in CommissionLine.objects.filter(
        run=period_row(period).current_run, earner=earner, kind=LineKind.UNILEVEL
    ).values_list("level", "amount"):
        paid[level] = paid.get(level, 0) + amount
    return paid


def clawed(kind=LineKind.UNILEVEL, period=None) -> dict[tuple[int, int], list[int]]:
    """(earner, level) -> the amounts clawed back, oldest first."""
    rows = Clawback.objects.filter(kind=kind)
    if period is not None:
        rows = rows.filter(period=period_row(period))
    found: dict[tuple[int, int], list[int]] = {}
    for earner, level, amount in rows.order_by("id").values_list("earner_id", "level", "amount"):
        found.setdefault((earner, level), []).append(amount)
    return found


def refund(order, quantity, period) -> None:
    order_refund(
        order=order,
        quantities={order.lines.get().pk: quantity},
        reason=RefundReason.RETURN,
        now=mid_month(period),
    )


@pytest.fixture
def tree(monkeypatch):
    """A0 → A1 → S1 → Bea and A2 → S2 → Dan, joined in January; everyone but Bea and Dan buys
    100 (active) in January, Dan buys 100 too (S2 earns level 1 on it); Bea buys 3 units of
    3.33 CV on January 10, under S1, and is moved under S2 on January 20."""
    clock = Clock(monkeypatch, dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC))
    a0 = make_distributor(name="Ava Zero")
    a1 = make_distributor(sponsor=a0, name="Abe One")
    s1 = make_distributor(sponsor=a1, name="Sam One")
    bea = make_distributor(sponsor=s1, name="Bea Buyer")
    a2 = make_distributor(name="Amy Two")
    s2 = make_distributor(sponsor=a2, name="Sue Two")
    dan = make_distributor(sponsor=s2, name="Dan Down")
    people = {"a0": a0, "a1": a1, "s1": s1, "bea": bea, "a2": a2, "s2": s2, "dan": dan}
    return clock, people


def buy_and_move(clock, people, *, active=("a0", "a1", "s1", "a2", "s2", "dan")):
    for name in active:
        buy(people[name], "100", paid_at=mid_month(JANUARY))
    value = Decimal("3.33")
    product = ProductFactory(pv=value, cv=value, wholesale_price=value, retail_price=value)
    order = make_order(distributor=people["bea"], items={product: 3}, paid_at=mid_month(JANUARY))
    clock.set(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC))
    move_distributor(distributor=people["bea"], new_sponsor=people["s2"], reason="Asked", by=None)
    calculate_and_close(JANUARY, clock)
    return order


def test_a_refund_claws_back_from_the_sponsor_at_order_time_not_the_one_at_close(tree):
    clock, p = tree
    plan()
    order = buy_and_move(clock, p)
    # Given January paid Bea's 9.99 CV to S1 (10 %: 99.9 → 1.00) and S1's sponsor A1 (5 %:
    # 49.95 → 0.50), and S2 only on Dan's 100 (10.00 at level 1), A2 on S2's and Dan's
    assert unilevel(JANUARY, p["s1"]) == {1: 100}
    assert unilevel(JANUARY, p["a1"]) == {1: 1000, 2: 50}
    assert unilevel(JANUARY, p["s2"]) == {1: 1000}
    assert unilevel(JANUARY, p["a2"]) == {1: 1000, 2: 500}
    # When Bea returns one unit of three in February
    clock.set(mid_month(FEBRUARY))
    refund(order, 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    calculate_period(period=FEBRUARY)  # a re-run takes nothing twice
    # Then a third of each line Bea's order line paid comes back (1.00/3 = 0.333 → 0.33,
    # 0.50/3 = 0.1667 → 0.17), from S1 and A1; nothing from S2 or A2
    assert clawed() == {(p["s1"].pk, 1): [-33], (p["a1"].pk, 2): [-17]}
    claw = Clawback.objects.get(earner=p["s1"], kind=LineKind.UNILEVEL)
    assert (claw.refunded_base, claw.original_base, claw.original_amount) == (333, 999, 100)
    assert claw.source_id == p["bea"].pk
    assert not claw.was_limited


def test_refunds_of_the_whole_line_never_take_back_more_than_it_paid(tree):
    clock, p = tree
    plan()
    order = buy_and_move(clock, p)
    # When Bea returns one unit in February (0.33 and 0.17 back) and two in March
    clock.set(mid_month(FEBRUARY))
    refund(order, 1, FEBRUARY)
    calculate_and_close(FEBRUARY, clock)
    clock.set(mid_month(MARCH))
    refund(order, 2, MARCH)
    clock.set(MARCH.end + dt.timedelta(days=5))
    calculate_period(period=MARCH)
    # Then March takes back two thirds, at most what the lines have left: S1 0.67 of 0.67
    # left, A1 0.33 of 0.33 left (0.50 × 2/3 = 0.3333 → 0.33); in all exactly what was paid
    assert clawed(period=MARCH) == {(p["s1"].pk, 1): [-67], (p["a1"].pk, 2): [-33]}
    assert clawed() == {(p["s1"].pk, 1): [-33, -67], (p["a1"].pk, 2): [-17, -33]}


@pytest.mark.parametrize(
    ("compression", "expected"),
    [
        # S1 inactive: with none, level 1 is lost on S1 and level 2 is A1's
        ("none", {("a1", 2): [-17]}),
        # skip_inactive and dynamic: S1 is skipped; A1 gets level 1, A0 level 2
        ("skip_inactive", {("a1", 1): [-33], ("a0", 2): [-17]}),
        ("dynamic", {("a1", 1): [-33], ("a0", 2): [-17]}),
    ],
)
def test_compression_claws_back_the_order_time_walk(tree, compression, expected):
    clock, p = tree
    plan(compression)
    # Given S1 inactive in January (bought nothing)
    order = buy_and_move(clock, p, active=("a0", "a1", "a2", "s2", "dan"))
    clock.set(mid_month(FEBRUARY))
    refund(order, 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    assert clawed() == {(p[name].pk, level): amounts for (name, level), amounts in expected.items()}


def test_matching_comes_back_on_the_unilevel_earnings_the_refund_undid(tree):
    clock, p = tree
    plan(matching=True)
    order = buy_and_move(clock, p)

    def matching(earner) -> list[tuple[int, int]]:
        return list(
            CommissionLine.objects.filter(
                run=period_row(JANUARY).current_run, earner=earner, kind=LineKind.MATCHING
            ).values_list("base", "amount")
        )

    # Given A1 (who enrolled S1) matched 10 % of S1's 1.00 unilevel: 0.10, and A0 (who
    # enrolled A1) 10 % of A1's 10.50: 1.05
    assert matching(p["a1"]) == [(100, 10)]
    assert matching(p["a0"]) == [(1050, 105)]
    # When Bea returns one unit of three in February
    clock.set(mid_month(FEBRUARY))
    refund(order, 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    calculate_period(period=FEBRUARY)
    # Then S1's 0.33 of unilevel undone takes back 0.10 × 33/100 = 0.033 → 0.03 from A1, and
    # A1's 0.17 undone 1.05 × 17/1050 = 0.017 → 0.02 from A0; nothing from A2, whose S2
    # earned nothing on Bea
    assert clawed(LineKind.MATCHING) == {(p["a1"].pk, 1): [-3], (p["a0"].pk, 1): [-2]}


def test_each_order_line_claws_back_from_the_sponsor_it_was_paid_under(tree):
    clock, p = tree
    plan()
    for name in ("a0", "a1", "s1", "a2", "s2", "dan"):
        buy(p[name], "100", paid_at=mid_month(JANUARY))
    value = Decimal("3.33")
    product = ProductFactory(pv=value, cv=value, wholesale_price=value, retail_price=value)
    # Given Bea's order of January 10 under S1, her move under S2 on January 20 and her order
    # of January 25 under S2: each paid its own walk (S2 1.00 and A2 0.50 on the second)
    before = make_order(distributor=p["bea"], items={product: 3}, paid_at=mid_month(JANUARY))
    clock.set(dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC))
    move_distributor(distributor=p["bea"], new_sponsor=p["s2"], reason="Asked", by=None)
    clock.set(dt.datetime(2026, 1, 25, 12, tzinfo=dt.UTC))
    after = make_order(
        distributor=p["bea"],
        items={product: 3},
        paid_at=dt.datetime(2026, 1, 25, 15, tzinfo=dt.UTC),
    )
    calculate_and_close(JANUARY, clock)
    assert unilevel(JANUARY, p["s2"]) == {1: 1100}
    assert unilevel(JANUARY, p["a2"]) == {1: 1000, 2: 550}
    # When Bea returns one unit of each order in February
    clock.set(mid_month(FEBRUARY))
    refund(before, 1, FEBRUARY)
    refund(after, 1, FEBRUARY)
    clock.set(FEBRUARY.end + dt.timedelta(days=5))
    # Then the batch reads the same number of queries for two refunds as for one
    refunds = sorted(
        clawback_candidates(FEBRUARY, closed_months()), key=lambda refund: refund["id"]
    )
    row, original = period_row(FEBRUARY), period_row(JANUARY)
    counts = []
    for batch in (refunds, refunds[:1], refunds):  # the first warms the plan's cache
        with CaptureQueriesContext(connection) as queries:
            _RunClawbacks(row, CommissionPeriod.objects.get(pk=original.pk)).for_refunds(batch)
        counts.append(len(queries))
    assert counts[1] == counts[2]
    # and each refund takes back a third of what its own order line paid, from whom it paid
    calculate_period(period=FEBRUARY)
    assert clawed() == {
        (p["s1"].pk, 1): [-33],
        (p["a1"].pk, 2): [-17],
        (p["s2"].pk, 1): [-33],
        (p["a2"].pk, 2): [-17],
    }
