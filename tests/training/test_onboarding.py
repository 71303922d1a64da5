"""First steps, the retail-order hook, the sponsor's view of new recruits and the career path."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from genealogy.models import Distributor
from orders.models import OrderPurpose
from orders.services import order_place
from tests.factories import (
    CustomerFactory,
    ProductFactory,
    TrainingItemFactory,
    make_distributor,
    make_order,
    make_plan_version,
)
from tests.training.test_library import RANKED_PLAN
from training.selectors import dashboard_checklist, onboarding_checklists
from training.services import training_item_complete

pytestmark = pytest.mark.django_db


def steps(person: Distributor) -> dict[str, bool]:
    checklist = onboarding_checklists([person.pk])[person.pk]
    return {step.key: step.is_done for step in checklist.steps}


# --- The retail-order hook --------------------------------------------------------------------


def _retail(person: Distributor, customer):
    return order_place(
        distributor=person,
        items={ProductFactory().pk: 1},
        purpose=OrderPurpose.RETAIL,
        customer=customer,
    )


def test_a_first_retail_sale_waits_for_the_required_compliance_training():
    person = make_distributor()
    customer = CustomerFactory(distributor=person)
    rules = TrainingItemFactory(
        title="Income claims rules", category="compliance", is_required=True
    )

    with pytest.raises(ValidationError) as refused:
        _retail(person, customer)
    assert "Finish the required compliance training" in refused.value.messages[0]
    assert "Income claims rules" in refused.value.messages[0]
    # Personal orders are not concerned.
    make_order(distributor=person, items={ProductFactory(): 1})

    training_item_complete(distributor=person, item=rules)

    assert _retail(person, customer).purpose == OrderPurpose.RETAIL


def test_the_order_page_shows_the_refusal(client):
    person = make_distributor()
    customer = CustomerFactory(distributor=person)
    product = ProductFactory()
    TrainingItemFactory(title="Income claims rules", category="compliance", is_required=True)
    client.force_login(person.user)

    form = {"buyer": "customer", "customer": customer.pk, f"qty_{product.pk}": "1"}

    response = client.post(reverse("order_new"), {**form, "step": "place"})

    assert response.status_code == 422
    assert "Finish the required compliance training" in response.content.decode()
    assert not person.orders.exists()


def test_the_hook_is_off_by_setting_and_ignores_optional_or_hidden_items(settings):
    make_plan_version(RANKED_PLAN)
    person = make_distributor()
    customer = CustomerFactory(distributor=person)
    TrainingItemFactory(category="compliance", is_required=False)
    TrainingItemFactory(category="compliance", is_required=True, min_rank_code="gold")
    TrainingItemFactory(category="selling", is_required=True)
    _retail(person, customer)  # nothing required *and visible* in compliance

    TrainingItemFactory(category="compliance", is_required=True)
    other = make_distributor()
    other_customer = CustomerFactory(distributor=other)
    with pytest.raises(ValidationError):
        _retail(other, other_customer)
    settings.LADDER_REQUIRE_COMPLIANCE_TRAINING_FOR_RETAIL = False
    _retail(other, other_customer)


# --- Checklist steps tick from real events ----------------------------------------------------


def test_each_step_ticks_itself_from_what_happened(client):
    person = make_distributor(verified=False)
    rules = TrainingItemFactory(category="compliance", is_required=True)
    assert steps(person) == {
        "verify_email": False,
        "profile": False,
        "mfa": False,
        "training": False,
        "customer": False,
        "order": False,
        "share": False,
    }

    EmailAddress.objects.create(user=person.user, email=person.user.email, verified=True)
    Distributor.objects.filter(pk=person.pk).update(phone="+1 555 0100", country="US")
    TOTP.activate(person.user, generate_totp_secret())
    training_item_complete(distributor=person, item=rules)
    customer = CustomerFactory(distributor=person)
    make_order(distributor=person, items={ProductFactory(): 1}, customer=customer)
    client.force_login(person.user)
    assert client.post(reverse("training_shared")).status_code == 204

    assert all(steps(person).values())


def test_the_share_step_ticks_when_someone_joined_through_the_link():
    person = make_distributor()
    assert steps(person)["share"] is False

    make_distributor(sponsor=person)

    assert steps(person)["share"] is True


def test_a_cancelled_order_is_not_a_first_order():
    from orders.services import order_cancel

    person = make_distributor()
    order = make_order(distributor=person, items={ProductFactory(): 1})
    assert steps(person)["order"] is True

    order_cancel(order=order, reason="changed my mind")

    assert steps(person)["order"] is False


def test_without_required_items_the_training_step_is_done():
    person = make_distributor()
    TrainingItemFactory(is_required=False)

    assert steps(person)["training"] is True


# --- The dashboard card -----------------------------------------------------------------------


def test_the_card_shows_for_a_new_distributor_and_records_sharing(client):
    person = make_distributor()
    client.force_login(person.user)

    page = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="onboarding-card"' in page
    assert "Verify your email address" in page
    assert reverse("training_shared") in page
    assert "training/share.js" in page


def test_the_card_disappears_when_every_step_is_done(client):
    person = make_distributor()
    Distributor.objects.filter(pk=person.pk).update(phone="+1 555 0100", country="US")
    TOTP.activate(person.user, generate_totp_secret())
    make_order(
        distributor=person,
        items={ProductFactory(): 1},
        customer=CustomerFactory(distributor=person),
    )
    make_distributor(sponsor=person)
    client.force_login(person.user)

    page = client.get(reverse("dashboard")).content.decode()

    assert 'data-testid="onboarding-card"' not in page


def test_the_card_disappears_after_the_first_days():
    person = make_distributor()
    joined = timezone.now()
    assert dashboard_checklist(person, now=joined + dt.timedelta(days=20)) is not None

    assert dashboard_checklist(person, now=joined + dt.timedelta(days=31)) is None


# --- The sponsor's new recruits ---------------------------------------------------------------


def test_a_sponsor_sees_only_their_own_new_recruits(client):
    sponsor = make_distributor(name="Sue Sponsor")
    mine = make_distributor(sponsor=sponsor, name="Mia Mine")
    grand = make_distributor(sponsor=mine, name="Gus Grand")
    stranger = make_distributor(name="Sam Stranger")
    theirs = make_distributor(sponsor=stranger, name="Tom Theirs")
    old = make_distributor(sponsor=sponsor, name="Olga Old")
    Distributor.objects.filter(pk=old.pk).update(
        joined_on=timezone.localdate() - dt.timedelta(days=45)
    )
    client.force_login(sponsor.user)

    page = client.get(reverse("training_team")).content.decode()

    assert "Mia Mine" in page
    for absent in ("Gus Grand", "Tom Theirs", "Olga Old"):
        assert absent not in page
    # A person's own first-steps page follows the one access rule: anyone in my team.
    for member in (mine, grand, old):
        url = reverse("training_team_member", args=[member.number])
        assert client.get(url).status_code == 200
    for other in (theirs, stranger):
        url = reverse("training_team_member", args=[other.number])
        assert client.get(url).status_code == 404


def test_the_team_page_shows_progress_and_searches(client, django_assert_max_num_queries):
    sponsor = make_distributor()
    for n in range(6):
        make_distributor(sponsor=sponsor, name=f"Recruit {n}")
    client.force_login(sponsor.user)

    with django_assert_max_num_queries(14):
        page = client.get(reverse("training_team")).content.decode()
    found = client.get(reverse("training_team"), {"q": "recruit 3"}).content.decode()
    nobody = client.get(reverse("training_team"), {"q": "nobody"}).content.decode()

    assert page.count("of 7") == 6
    assert "Recruit 3" in found and "Recruit 4" not in found
    assert 'data-testid="empty-state"' in nobody


# --- Career path ------------------------------------------------------------------------------


def test_the_career_page_lists_every_rank_with_its_requirements_in_plain_words(client):
    make_plan_version(RANKED_PLAN)
    person = make_distributor()
    client.force_login(person.user)

    page = client.get(reverse("training_career")).content.decode()

    assert "Ranks are not a promise of income" in page
    assert "1. Member" in page and "2. Gold" in page
    assert "at least 1,000 GV" in page
    assert "at most 40% of the required GV (400 GV) counts from any one leg" in page
    assert "2 people you personally enrolled are active" in page
    assert "Unilevel commissions on 2 levels" in page
    assert "advancement bonus of 250.00" in page
    assert "needs 100 more PV" in page  # where they stand this month
    assert 'data-testid="no-disclosure"' in page


def test_the_career_page_shows_published_disclosure_figures_per_rank(client):
    from compliance.models import DisclosureStatement

    make_plan_version(RANKED_PLAN)
    DisclosureStatement.objects.create(
        year=2025,
        source={},
        figures={
            "currency": "USD",
            "ranks": [
                {
                    "rank": 2,
                    "name": "Gold",
                    "participants": 3,
                    "share_percent": "1.50",
                    "median": "1234.00",
                    "mean": "1500.00",
                    "zero_percent": "0.00",
                }
            ],
        },
    )
    person = make_distributor()
    client.force_login(person.user)

    page = client.get(reverse("training_career")).content.decode()

    assert "1234.00" in page
    assert "Nobody reached this rank in 2025" in page
