"""Adjustments and holds in the admin: people are picked by number or name, the confirmation
names them by number, and an amount of 0 is refused without a success message."""

from __future__ import annotations

import pytest
from django.urls import reverse

from commissions.models import Adjustment, Hold
from tests.factories import UserFactory, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, user)
    return user


@pytest.mark.parametrize("model", ["adjustment", "hold"])
def test_the_distributor_is_picked_with_the_autocomplete(client, staff, model):
    html = client.get(reverse(f"admin:commissions_{model}_add")).content.decode()
    assert "vForeignKeyRawIdAdminField" not in html
    assert "admin-autocomplete" in html


def test_the_autocomplete_finds_the_distributor_by_number(client, staff):
    person = make_distributor(name="Nora Number")
    make_distributor(name="Someone Else")
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "commissions",
            "model_name": "adjustment",
            "field_name": "distributor",
            "term": str(person.number),
        },
    )
    assert [r["id"] for r in response.json()["results"]] == [str(person.pk)]


@pytest.mark.parametrize("amount", ["0", "0.00", "-0"])
def test_an_adjustment_of_zero_is_refused_without_a_success_message(client, staff, amount):
    person = make_distributor()
    response = client.post(
        reverse("admin:commissions_adjustment_add"),
        {"distributor": person.pk, "amount_decimal": amount, "reason": "goodwill"},
        follow=True,
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "changes nothing" in text
    assert "success" not in [m.level_tag for m in response.context["messages"]]
    assert "was added successfully" not in text
    assert not Adjustment.objects.exists()


def test_a_saved_adjustment_is_confirmed_with_the_number_and_name(client, staff):
    person = make_distributor(name="Ada Adjusted")
    response = client.post(
        reverse("admin:commissions_adjustment_add"),
        {"distributor": person.pk, "amount_decimal": "12.50", "reason": "goodwill"},
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{person.number} Ada Adjusted" in t and "12.50" in t for t in texts), texts
    assert Adjustment.objects.get().distributor_id == person.pk


def test_a_refused_hold_shows_no_success_message(client, staff):
    person = make_distributor(name="Hal Held")
    url = reverse("admin:commissions_hold_add")
    first = client.post(url, {"distributor": person.pk, "reason": "check"}, follow=True)
    assert any(f"#{person.number} Hal Held" in str(m) for m in first.context["messages"])
    second = client.post(url, {"distributor": person.pk, "reason": "again"}, follow=True)
    levels = [m.level_tag for m in second.context["messages"]]
    assert "error" in levels and "success" not in levels
    assert Hold.objects.count() == 1
