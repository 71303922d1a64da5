import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from genealogy.models import DistributorStatus
from orders.models import Order, OrderStatus, Refund, RefundReason
from tests.factories import UserFactory, log_in_with_mfa, make_distributor, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    client.staff = staff
    return client


def test_admin_lists_render(staff_client, vitamins):
    make_order(distributor=make_distributor(), items={vitamins: 1})
    for name in ["product", "customer", "order", "refund"]:
        assert staff_client.get(reverse(f"admin:orders_{name}_changelist")).status_code == 200
    order = Order.objects.get()
    assert (
        staff_client.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 200
    )


def test_admin_records_a_manual_payment_with_who_and_reference(staff_client, vitamins):
    order = make_order(distributor=make_distributor(), items={vitamins: 1})
    url = reverse("admin:orders_order_changelist")
    data = {"action": "record_payment", "_selected_action": [order.pk]}
    page = staff_client.post(url, data)
    assert b"reference" in page.content
    staff_client.post(url, {**data, "apply": "1", "method": "bank transfer", "reference": "BT-9"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert (order.payment_provider, order.payment_reference) == ("manual", "BT-9")
    assert order.paid_recorded_by == staff_client.staff

    staff_client.post(url, {"action": "mark_shipped", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.shipped_by == staff_client.staff


def test_admin_cancel_needs_a_reason(staff_client, vitamins):
    order = make_order(distributor=make_distributor(), items={vitamins: 1})
    url = reverse("admin:orders_order_changelist")
    data = {"action": "cancel_orders", "_selected_action": [order.pk], "apply": "1"}
    staff_client.post(url, {**data, "reason": "Customer called"})
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "Customer called")


def test_admin_partial_refund_goes_through_the_service(staff_client, vitamins):
    order = make_order(
        distributor=make_distributor(),
        items={vitamins: 3},
        paid_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
    )
    line = order.lines.get()
    url = reverse("admin:orders_order_refund", args=[order.pk])
    assert staff_client.get(url).status_code == 200
    too_many = staff_client.post(url, {"reason": "return", "note": "x", f"line_{line.pk}": 4})
    assert too_many.status_code == 200 and not Refund.objects.exists()

    staff_client.post(url, {"reason": "damaged", "note": "Broken seal", f"line_{line.pk}": 1})

    refund = Refund.objects.get()
    assert (refund.amount, refund.reason, refund.note, refund.created_by) == (
        Decimal("24.00"),
        RefundReason.DAMAGED,
        "Broken seal",
        staff_client.staff,
    )
    assert (
        staff_client.get(reverse("admin:orders_refund_change", args=[refund.pk])).status_code == 200
    )
    assert staff_client.get(reverse("admin:orders_refund_add")).status_code == 200


def test_admin_buy_back(staff_client, vitamins):
    person = make_distributor()
    order = make_order(distributor=person, items={vitamins: 2}, paid_at=dt.datetime.now(dt.UTC))
    type(person).objects.filter(pk=person.pk).update(status=DistributorStatus.TERMINATED)
    line = order.lines.get()
    url = reverse("admin:orders_refund_buy_back")
    page = staff_client.post(url, {"distributor_number": person.number})
    assert b"Unopened" in page.content
    staff_client.post(
        url, {"distributor_number": person.number, "confirm": "1", f"line_{line.pk}": 1}
    )
    refund = Refund.objects.get()
    assert (refund.reason, refund.amount) == (RefundReason.BUY_BACK, Decimal("21.60"))
