"""Volume summaries kept as orders are paid and refunded, rebuilt by bulk writers, checked.

Products (tests/orders/conftest.py): vitamins wholesale 24.00, retail 32.00, PV 20, CV 18;
shake wholesale 39.99, retail 52.49, PV 32.50, CV 29.25. Figures are cents.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.periods import Period
from orders.models import OrderLine, RefundReason, VolumeSummary
from orders.services import order_refund
from orders.volume import TOTAL_COLUMNS, period_totals
from orders.volume_summaries import (
    SUMMARY_COLUMNS,
    rebuild_volume_summaries,
    summary_totals,
    volume_summary_differences,
)
from tests.factories import (
    CustomerFactory,
    closed_period_with_results,
    make_distributor,
    make_order,
)

pytestmark = pytest.mark.django_db

MARCH = Period(2026, 3)
FEBRUARY = Period(2026, 2)


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC)


def summary(person, period: Period) -> dict[str, int] | None:
    row = VolumeSummary.objects.filter(distributor=person, month=period.first_day).first()
    return None if row is None else {name: getattr(row, name) for name in SUMMARY_COLUMNS}


def figures(**given) -> dict[str, int]:
    return {name: given.get(name, 0) for name in SUMMARY_COLUMNS}


def refund(order, quantities: dict, when: dt.datetime):
    lines = {line.product_id: line.pk for line in order.lines.all()}
    return order_refund(
        order=order,
        quantities={lines[product.pk]: quantity for product, quantity in quantities.items()},
        reason=RefundReason.RETURN,
        now=when,
    )


def test_a_payment_adds_its_lines_to_the_month_and_an_unpaid_order_adds_nothing(vitamins, shake):
    ann, bob = make_distributor(), make_distributor()
    customer = CustomerFactory(distributor=ann)
    make_order(distributor=bob, items={vitamins: 5}, placed_at=at(3, 2))  # never paid
    assert summary(bob, MARCH) is None

    make_order(distributor=ann, items={vitamins: 2}, paid_at=at(3, 3))
    # Personal: PV 2 × 20.00 = 40.00, CV 2 × 18.00 = 36.00, one line.
    personal = figures(pv=4000, cv=3600, personal_pv=4000, personal_cv=3600, order_lines=1)
    assert summary(ann, MARCH) == personal

    make_order(distributor=ann, items={vitamins: 1, shake: 2}, customer=customer, paid_at=at(3, 9))
    # Retail: PV 20.00 + 2 × 32.50 = 85.00; CV 18.00 + 2 × 29.25 = 76.50;
    # sales 32.00 + 2 × 52.49 = 136.98; profit (32.00 − 24.00) + 2 × (52.49 − 39.99) = 33.00.
    assert summary(ann, MARCH) == figures(
        pv=4000 + 8500,
        cv=3600 + 7650,
        personal_pv=4000,
        personal_cv=3600,
        retail_pv=8500,
        retail_cv=7650,
        retail_sales=13698,
        retail_profit=3300,
        order_lines=1 + 2,
    )
    assert summary(ann, FEBRUARY) is None
    assert volume_summary_differences() == []


def test_a_full_refund_in_the_month_leaves_a_row_of_zeros(vitamins):
    ann = make_distributor()
    order = make_order(distributor=ann, items={vitamins: 2}, paid_at=at(3, 3))

    refund(order, {vitamins: 2}, at(3, 10))

    # 2 × 20.00 − 2 × 20.00 = 0; the row stays (a line counted there), as in period_totals.
    assert summary(ann, MARCH) == figures(order_lines=1, refund_lines=1)
    totals = summary_totals(MARCH)
    assert totals.distributor_ids.tolist() == [ann.pk]
    assert totals.for_distributor(ann.pk) == period_totals(MARCH).for_distributor(ann.pk)


def test_partial_refunds_take_back_their_quantity_only(vitamins, shake):
    ann = make_distributor()
    customer = CustomerFactory(distributor=ann)
    order = make_order(
        distributor=ann, items={vitamins: 3, shake: 2}, customer=customer, paid_at=at(3, 3)
    )
    refund(order, {vitamins: 1}, at(3, 5))
    refund(order, {vitamins: 1, shake: 1}, at(3, 6))

    # Left: 1 vitamins + 1 shake. PV 20.00 + 32.50 = 52.50; CV 18.00 + 29.25 = 47.25;
    # sales 32.00 + 52.49 = 84.49; profit 8.00 + 12.50 = 20.50. Lines: 2 paid, 3 refunded.
    assert summary(ann, MARCH) == figures(
        pv=5250,
        cv=4725,
        retail_pv=5250,
        retail_cv=4725,
        retail_sales=8449,
        retail_profit=2050,
        order_lines=2,
        refund_lines=3,
    )


def test_a_late_refund_counts_negative_in_its_own_month_and_leaves_the_order_month(vitamins):
    ann = make_distributor()
    order = make_order(distributor=ann, items={vitamins: 2}, paid_at=at(2, 20))

    refund(order, {vitamins: 1}, at(3, 4))

    assert summary(ann, FEBRUARY) == figures(
        pv=4000, cv=3600, personal_pv=4000, personal_cv=3600, order_lines=1
    )
    # March: −20.00 PV, −18.00 CV, no paid line.
    assert summary(ann, MARCH) == figures(
        pv=-2000, cv=-1800, personal_pv=-2000, personal_cv=-1800, refund_lines=1
    )
    assert summary_totals(MARCH).for_distributor(ann.pk)["pv"] == -2000


def test_money_moved_in_a_closed_month_counts_in_the_next_open_one(vitamins):
    ann = make_distributor()
    order = make_order(distributor=ann, items={vitamins: 2}, paid_at=at(1, 20))
    closed_period_with_results(dt.date(2026, 1, 1), {})
    closed_period_with_results(dt.date(2026, 2, 1), {})

    # Paid on 25 February and refunded on 26 February, both after February closed: March.
    late = make_order(distributor=ann, items={vitamins: 1}, paid_at=at(2, 25))
    refund(order, {vitamins: 1}, at(2, 26))

    assert summary(ann, FEBRUARY) is None
    # March: +20.00 (the late payment) − 20.00 (the refund of January's order) = 0.
    assert summary(ann, MARCH) == figures(order_lines=1, refund_lines=1)
    assert late.lines.get().commission_month == MARCH.first_day


def test_the_check_catches_a_corrupted_missing_or_extra_summary_and_fix_rebuilds(vitamins):
    ann, bob, carl = make_distributor(), make_distributor(), make_distributor()
    make_order(distributor=ann, items={vitamins: 2}, paid_at=at(3, 3))
    make_order(distributor=bob, items={vitamins: 1}, paid_at=at(3, 4))
    call_command("check_volume_summaries")  # consistent: no error

    VolumeSummary.objects.filter(distributor=ann).update(cv=1)
    VolumeSummary.objects.filter(distributor=bob).delete()
    VolumeSummary.objects.create(distributor=carl, month=MARCH.first_day, pv=500)

    differences = {d.distributor_id: d for d in volume_summary_differences(MARCH)}
    assert set(differences) == {ann.pk, bob.pk, carl.pk}
    assert differences[ann.pk].columns == ["cv"]
    assert differences[ann.pk].expected["cv"] == 3600
    assert differences[ann.pk].stored["cv"] == 1
    assert differences[bob.pk].stored is None
    assert differences[carl.pk].expected is None
    with pytest.raises(CommandError, match="differ"):
        call_command("check_volume_summaries", "--period", "2026-03")
    assert volume_summary_differences(FEBRUARY) == []

    call_command("check_volume_summaries", "--fix")

    assert volume_summary_differences() == []
    assert summary(ann, MARCH)["cv"] == 3600
    assert summary(bob, MARCH)["pv"] == 2000
    assert summary(carl, MARCH) is None


def test_rebuilding_one_period_leaves_the_others_alone(vitamins):
    ann = make_distributor()
    make_order(distributor=ann, items={vitamins: 1}, paid_at=at(2, 3))
    make_order(distributor=ann, items={vitamins: 2}, paid_at=at(3, 3))
    VolumeSummary.objects.update(pv=7)

    assert rebuild_volume_summaries(MARCH) == 1

    assert summary(ann, MARCH)["pv"] == 4000
    assert summary(ann, FEBRUARY)["pv"] == 7  # not this period's business


def test_bulk_lines_written_without_the_services_are_counted_by_a_rebuild(vitamins):
    ann = make_distributor()
    order = make_order(distributor=ann, items={vitamins: 1}, paid_at=at(3, 3))
    # A bulk writer (like the demo seeder) doubles the line behind the services' back.
    OrderLine.objects.filter(order=order).update(
        quantity=2, amount=Decimal("48.00"), pv=Decimal("40.00"), cv=Decimal("36.00")
    )
    assert [d.columns for d in volume_summary_differences()] == [
        ["pv", "cv", "personal_pv", "personal_cv"]
    ]

    rebuild_volume_summaries()

    assert summary(ann, MARCH) == figures(
        pv=4000, cv=3600, personal_pv=4000, personal_cv=3600, order_lines=1
    )


# --- Reference: the summaries as the rule's words say, from the operations alone ------------

# One operation: buyer, product quantities (vitamins, shake), retail?, paid in month (2..4 or
# None: never paid), then refunds: (month offset after payment, vitamins, shake) quantities.
operation = st.tuples(
    st.integers(0, 2),
    st.tuples(st.integers(0, 3), st.integers(0, 3)).filter(lambda q: q != (0, 0)),
    st.booleans(),
    st.one_of(st.none(), st.integers(2, 4)),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)), max_size=2),
)


def reference(operations, products) -> dict[tuple[int, int], dict[str, int]]:
    """(person, month) → figures. A paid line counts in the month it was paid, a refunded
    quantity negative in the month it was given back; retail lines are the retail split, their
    amount the retail sales; profit is (retail − wholesale) × quantity on retail lines."""
    expected: dict[tuple[int, int], dict[str, int]] = {}

    def add(person, month, product, quantity, retail, sign, kind):
        row = expected.setdefault((person, month), figures())
        cents = {
            "pv": product.pv * quantity * 100,
            "cv": product.cv * quantity * 100,
        }
        for name in ("pv", "cv"):
            row[name] += sign * int(cents[name])
            row[("retail_" if retail else "personal_") + name] += sign * int(cents[name])
        if retail:
            row["retail_sales"] += sign * int(product.retail_price * quantity * 100)
            profit = (product.retail_price - product.wholesale_price) * quantity * 100
            row["retail_profit"] += sign * int(profit)
        row[kind] += 1

    for person, quantities, retail, paid, refunds in operations:
        if paid is None:
            continue
        left = list(quantities)
        for product, quantity in zip(products, quantities, strict=True):
            if quantity:
                add(person, paid, product, quantity, retail, 1, "order_lines")
        for offset, *wanted in refunds:
            taken = [min(w, q) for w, q in zip(wanted, left, strict=True)]
            if not any(taken):
                continue
            for index, (product, quantity) in enumerate(zip(products, taken, strict=True)):
                if quantity:
                    left[index] -= quantity
                    add(person, paid + offset, product, quantity, retail, -1, "refund_lines")
    return expected


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operation, min_size=1, max_size=6))
def test_summaries_kept_by_the_services_match_the_reference_and_the_lines(
    vitamins, shake, operations
):
    products = (vitamins, shake)
    with transaction.atomic():
        people = [make_distributor() for _ in range(3)]
        customers = [CustomerFactory(distributor=p) for p in people]
        for person, quantities, retail, paid, refunds in operations:
            items = {p: q for p, q in zip(products, quantities, strict=True) if q}
            order = make_order(
                distributor=people[person],
                items=items,
                customer=customers[person] if retail else None,
                paid_at=None if paid is None else at(paid, 10),
                placed_at=at(2, 1),
            )
            left = dict(items)
            for day, (offset, *wanted) in enumerate(refunds, start=11):
                taken = {
                    p: min(w, left.get(p, 0))
                    for p, w in zip(products, wanted, strict=True)
                    if min(w, left.get(p, 0))
                }
                if paid is None or not taken:
                    continue
                refund(order, taken, at(paid + offset, day))
                for p, q in taken.items():
                    left[p] -= q

        stored = {
            (row.distributor_id, row.month.month): {n: getattr(row, n) for n in SUMMARY_COLUMNS}
            for row in VolumeSummary.objects.all()
        }
        expected = reference(operations, products)
        assert stored == {(people[p].pk, month): row for (p, month), row in expected.items()}
        assert volume_summary_differences() == []
        for month in range(2, 7):
            period = Period(2026, month)
            read, computed = summary_totals(period), period_totals(period)
            assert np.array_equal(read.distributor_ids, computed.distributor_ids)
            for name in TOTAL_COLUMNS:
                assert np.array_equal(getattr(read, name), getattr(computed, name)), name
        transaction.set_rollback(True)


# --- The commission run reads the summaries and gets what the lines give ---------------------


@pytest.mark.django_db(transaction=True)
def test_a_commission_run_from_the_summaries_equals_one_from_the_lines(vitamins, monkeypatch):
    import commissions.gather as gather_module
    from commissions.models import DistributorResult
    from commissions.services.runs import calculate_period
    from tests.commissions.conftest import build_chain
    from tests.factories import make_plan_version

    make_plan_version()
    chain = build_chain()  # Ann → Ben → Cal → Dee → Eve, volume paid in March 2026
    # A refund in March of a February order (negative March volume) and a partial same-month
    # refund, so the figures are not only sums of payments.
    february = make_order(distributor=chain.cal, items={vitamins: 2}, paid_at=at(2, 12))
    refund(february, {vitamins: 1}, at(3, 12))
    march = make_order(distributor=chain.dee, items={vitamins: 3}, paid_at=at(3, 13))
    refund(march, {vitamins: 1}, at(3, 14))

    def results(run):
        return list(
            DistributorResult.objects.filter(run=run)
            .order_by("distributor_id")
            .values_list("distributor_id", "pv", "cv", "gv", "period_total", "paid_as_rank")
        )

    from_summaries = calculate_period(period=MARCH)
    summary_results = results(from_summaries)  # the second run supersedes (deletes) them
    monkeypatch.setattr(gather_module, "summary_totals", period_totals)
    from_lines = calculate_period(period=MARCH)

    assert from_summaries.input_hash == from_lines.input_hash
    assert summary_results == results(from_lines)
    assert len(summary_results) == 6  # the house and the five
    cal = next(row for row in summary_results if row[0] == chain.cal.pk)
    assert cal[1] == 12000 - 2000  # 120.00 PV bought in March, one 20.00 vitamins refunded
