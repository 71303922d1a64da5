import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from genealogy.models import DistributorStatus
from orders.models import Order, OrderLine, OrderStatus, Product, RefundReason
from orders.services import (
    buy_back_on_termination,
    order_cancel,
    order_pay,
    order_place,
    order_refund,
    order_ship,
)
from tests.factories import CustomerFactory, make_distributor, make_order

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_retail_order_is_at_retail_price_and_stores_the_profit(distributor, vitamins, shake):
    customer = CustomerFactory(distributor=distributor)

    order = make_order(distributor=distributor, items={vitamins: 2, shake: 1}, customer=customer)

    assert order.purpose == "retail"
    assert order.total_amount == Decimal("116.49")  # 2 × 32.00 + 52.49
    assert order.total_pv == Decimal("72.50")
    assert order.total_cv == Decimal("65.25")
    assert order.retail_profit == Decimal("28.50")  # 2 × 8.00 + 12.50
    line = order.lines.get(sku="SHK")
    assert (line.unit_price, line.unit_wholesale, line.unit_retail) == (
        Decimal("52.49"),
        Decimal("39.99"),
        Decimal("52.49"),
    )


def test_personal_order_is_at_wholesale_price_with_no_profit(distributor, vitamins):
    order = make_order(distributor=distributor, items={vitamins: 3})
    assert order.total_amount == Decimal("72.00")
    assert order.retail_profit == Decimal("0")


def test_catalog_changes_leave_placed_orders_alone(distributor, vitamins):
    order = make_order(distributor=distributor, items={vitamins: 1}, paid_at=at(2026, 3, 5, 12))

    Product.objects.filter(pk=vitamins.pk).update(
        wholesale_price=Decimal("99.00"), pv=Decimal("1.00"), name="Renamed"
    )

    line = OrderLine.objects.get(order=order)
    assert (line.unit_price, line.pv, line.name) == (Decimal("24.00"), Decimal("20.00"), "Vitamins")
    assert Order.objects.get(pk=order.pk).total_amount == Decimal("24.00")


@pytest.mark.parametrize(
    ("quantity", "message"), [(0, "at least 1"), (-2, "at least 1"), (101, "at most 100")]
)
def test_bad_quantities_are_refused(distributor, vitamins, quantity, message):
    with pytest.raises(ValidationError, match=message):
        order_place(distributor=distributor, items={vitamins.pk: quantity}, purpose="personal")
    assert not Order.objects.exists()


def test_quantity_limit_is_a_setting(settings, distributor, vitamins):
    settings.LADDER_MAX_QUANTITY_PER_LINE = 5
    with pytest.raises(ValidationError, match="at most 5"):
        order_place(distributor=distributor, items={vitamins.pk: 6}, purpose="personal")


def test_inactive_product_is_refused(distributor, vitamins):
    Product.objects.filter(pk=vitamins.pk).update(is_active=False)
    with pytest.raises(ValidationError, match="no longer sold"):
        order_place(distributor=distributor, items={vitamins.pk: 1}, purpose="personal")


def test_terminated_distributor_cannot_order(vitamins):
    terminated = make_distributor(status=DistributorStatus.TERMINATED)
    with pytest.raises(ValidationError, match="terminated"):
        order_place(distributor=terminated, items={vitamins.pk: 1}, purpose="personal")


def test_customer_of_another_distributor_is_refused(distributor, other_distributor, vitamins):
    theirs = CustomerFactory(distributor=other_distributor)
    with pytest.raises(ValidationError, match="another distributor"):
        order_place(
            distributor=distributor, items={vitamins.pk: 1}, purpose="retail", customer=theirs
        )


def test_lifecycle_placed_paid_shipped_and_cancel_only_before_payment(distributor, vitamins):
    order = make_order(distributor=distributor, items={vitamins: 1}, placed_at=at(2026, 3, 4))
    order = order_pay(order=order, provider="test", now=at(2026, 3, 5))
    assert (order.status, order.payment_reference) == (OrderStatus.PAID, f"TEST-{order.pk}")
    assert OrderLine.objects.get(order=order).paid_at == at(2026, 3, 5)
    with pytest.raises(ValidationError, match="only an unpaid order"):
        order_cancel(order=order, reason="late")
    assert order_ship(order=order).status == OrderStatus.SHIPPED

    unpaid = make_order(distributor=distributor, items={vitamins: 1})
    cancelled = order_cancel(order=unpaid, reason="changed mind")
    assert cancelled.status == OrderStatus.CANCELLED
    with pytest.raises(ValidationError):
        order_pay(order=cancelled, provider="test")


def test_manual_payment_needs_method_and_reference(distributor, vitamins):
    from orders.payments import PaymentRefused

    order = make_order(distributor=distributor, items={vitamins: 1})
    with pytest.raises(PaymentRefused):
        order_pay(order=order, provider="manual", method="bank transfer")
    order = order_pay(order=order, provider="manual", method="bank transfer", reference="BT-1")
    assert (order.payment_method, order.payment_reference) == ("bank transfer", "BT-1")


def test_starter_kit_volume_is_refused_by_the_database(starter_kit):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=starter_kit.pk).update(pv=Decimal("10"), cv=Decimal("10"))


def test_starter_kit_line_volume_is_refused_by_the_database(distributor, starter_kit):
    order = make_order(distributor=distributor, items={starter_kit: 1})
    assert order.total_pv == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.filter(order=order).update(unit_cv=Decimal("5"), cv=Decimal("5"))


def test_starter_kit_volume_fails_model_validation_too(starter_kit):
    starter_kit.pv = Decimal("5")
    with pytest.raises(ValidationError, match="no volume"):
        starter_kit.full_clean()


def test_refund_is_its_own_record_and_cannot_exceed_what_was_bought(distributor, vitamins):
    staff = make_distributor().user
    order = make_order(distributor=distributor, items={vitamins: 3}, paid_at=at(2026, 3, 5))
    line = order.lines.get()

    refund = order_refund(
        order=order, quantities={line.pk: 2}, reason=RefundReason.RETURN, by=staff, note="box"
    )
    assert (refund.amount, refund.pv, refund.created_by) == (Decimal("48.00"), 40, staff)
    with pytest.raises(ValidationError, match="only 1 of 3"):
        order_refund(order=order, quantities={line.pk: 2}, reason=RefundReason.RETURN)
    order.refresh_from_db()
    assert order.total_amount == Decimal("72.00")  # the order itself never changes


def test_unpaid_order_cannot_be_refunded(distributor, vitamins):
    order = make_order(distributor=distributor, items={vitamins: 1})
    with pytest.raises(ValidationError, match="only a paid order"):
        order_refund(order=order, quantities={order.lines.get().pk: 1}, reason="return")


def test_refund_of_a_line_of_another_order_is_refused(distributor, vitamins):
    first = make_order(distributor=distributor, items={vitamins: 1}, paid_at=at(2026, 3, 5))
    second = make_order(distributor=distributor, items={vitamins: 1}, paid_at=at(2026, 3, 5))
    with pytest.raises(ValidationError, match="not on order"):
        order_refund(order=first, quantities={second.lines.get().pk: 1}, reason="return")


def test_buy_back_refunds_unopened_personal_product_at_ninety_percent(vitamins, starter_kit):
    person = make_distributor()
    now = at(2026, 6, 1, 12)
    recent = make_order(
        distributor=person, items={vitamins: 2, starter_kit: 1}, paid_at=at(2026, 1, 10)
    )
    make_order(distributor=person, items={vitamins: 5}, paid_at=at(2025, 5, 1))  # too old
    customer = CustomerFactory(distributor=person)
    make_order(distributor=person, items={vitamins: 1}, customer=customer, paid_at=at(2026, 2, 1))
    with pytest.raises(ValidationError, match="terminated"):
        buy_back_on_termination(distributor=person, by=None, now=now)
    person.status = DistributorStatus.TERMINATED

    refunds = buy_back_on_termination(distributor=person, by=None, now=now)

    assert [r.order_id for r in refunds] == [recent.pk]
    refund = refunds[0]
    assert refund.reason == RefundReason.BUY_BACK
    assert refund.rate == Decimal("90")
    assert refund.amount == Decimal("87.30")  # 90% of 2 × 24.00 + 49.00
    assert refund.pv == Decimal("40.00")  # volume is taken back in full
    with pytest.raises(ValidationError, match="Nothing is eligible"):
        buy_back_on_termination(distributor=person, by=None, now=now)
