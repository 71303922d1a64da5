"""Orders asks its registered sale gates before a retail sale and never imports the apps that
register them: the training app's gate is there from ``TrainingConfig.ready``, and any other
gate registered the same way holds a sale back with its own reason."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from orders import hooks
from orders.models import OrderPurpose
from orders.services import order_place
from tests.factories import CustomerFactory, ProductFactory, make_distributor

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Step:
    id: int
    title: str


@pytest.fixture
def extra_gate():
    hooks.register_sale_gate(
        "tests.paperwork",
        pending=lambda distributor: [Step(id=1, title="Sign the seller's agreement")],
        refusal=lambda pending: f"Paperwork first: {pending[0].title}.",
    )
    yield
    hooks._sale_gates.pop("tests.paperwork")


def test_the_training_gate_is_registered_by_the_training_app():
    assert "training.compliance" in hooks._sale_gates


def test_a_registered_gate_holds_back_a_retail_sale_with_its_reason(extra_gate):
    seller = make_distributor()
    customer = CustomerFactory(distributor=seller)
    product = ProductFactory(retail_price=Decimal("30.00"))

    assert [s.title for s in hooks.pending_before_retail_sale(seller)] == [
        "Sign the seller's agreement"
    ]
    with pytest.raises(ValidationError, match="Paperwork first: Sign the seller's agreement."):
        order_place(
            distributor=seller,
            customer=customer,
            purpose=OrderPurpose.RETAIL,
            items={product.pk: 1},
        )


def test_without_gates_asking_anything_the_sale_goes_through():
    seller = make_distributor()
    customer = CustomerFactory(distributor=seller)
    product = ProductFactory()

    order = order_place(
        distributor=seller, customer=customer, purpose=OrderPurpose.RETAIL, items={product.pk: 1}
    )

    assert order.customer_id == customer.pk
