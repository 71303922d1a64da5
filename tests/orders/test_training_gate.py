"""The training a first retail sale needs is shown when the order starts, with a link, and a
retail order stops before the review step (not after it) until the training is done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, ProductFactory, TrainingItemFactory, make_distributor
from training.services import training_item_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(client):
    person = make_distributor()
    client.force_login(person.user)
    return person


@pytest.fixture
def rules():
    return TrainingItemFactory(title="Income claims rules", category="compliance", is_required=True)


def test_the_order_page_shows_the_training_with_a_link_at_the_start(client, seller, rules):
    html = client.get(reverse("order_new")).content.decode()
    assert "Before your first sale to a retail customer" in html
    assert f'href="{reverse("training_item", args=[rules.pk])}"' in html
    assert "Income claims rules" in html


def test_a_retail_order_stops_before_the_review_step(client, seller, rules):
    customer = CustomerFactory(distributor=seller)
    product = ProductFactory()
    response = client.post(
        reverse("order_new"),
        {"buyer": "customer", "customer": customer.pk, f"qty_{product.pk}": "1", "step": "review"},
    )
    assert response.status_code == 422
    assert "orders/order_review.html" not in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Finish the required compliance training" in html
    assert reverse("training_item", args=[rules.pk]) in html


def test_an_order_for_oneself_goes_to_the_review_step(client, seller, rules):
    product = ProductFactory()
    response = client.post(
        reverse("order_new"), {"buyer": "self", f"qty_{product.pk}": "1", "step": "review"}
    )
    assert response.status_code == 200
    assert "orders/order_review.html" in [t.name for t in response.templates]


def test_no_notice_once_the_training_is_done(client, seller, rules):
    training_item_complete(distributor=seller, item=rules)
    assert "Before your first sale" not in client.get(reverse("order_new")).content.decode()
    customer = CustomerFactory(distributor=seller)
    product = ProductFactory()
    response = client.post(
        reverse("order_new"),
        {"buyer": "customer", "customer": customer.pk, f"qty_{product.pk}": "1", "step": "review"},
    )
    assert "orders/order_review.html" in [t.name for t in response.templates]
