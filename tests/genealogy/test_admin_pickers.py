"""Staff pick people by number or name in the admin (never by internal id), and a move never
offers the person or their own downline as the new sponsor."""

import pytest
from django.urls import reverse

from genealogy.models import Distributor, TreeChange
from tests.factories import UserFactory, log_in_with_mfa, make_chain, make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, name="Sam Staff")
    log_in_with_mfa(client, user)
    return user


def move_url(person: Distributor) -> str:
    return reverse("admin:genealogy_distributor_move", args=[person.pk])


def sponsor_search(client, person: Distributor, term: str) -> list[str]:
    page = client.get(move_url(person))
    url = page.context["form"]["new_sponsor"].field.widget.get_url()
    response = client.get(
        url,
        {
            "app_label": "genealogy",
            "model_name": "distributor",
            "field_name": "sponsor",
            "term": term,
        },
    )
    assert response.status_code == 200
    return [r["id"] for r in response.json()["results"]]


def test_the_add_form_picks_the_user_with_the_autocomplete_not_a_raw_id(client, staff):
    response = client.get(reverse("admin:genealogy_distributor_add"))
    html = response.content.decode()
    assert 'class="vForeignKeyRawIdAdminField"' not in html
    assert html.count("admin-autocomplete") >= 2  # user and sponsor


def test_the_move_search_never_offers_the_person_or_their_downline(client, staff):
    # Given a leg of three whose names all start alike, and an outsider with the same prefix
    leg = [make_distributor(name="Quill Leg")]
    leg += [make_distributor(sponsor=leg[0], name="Quill Below")]
    leg += [make_distributor(sponsor=leg[1], name="Quill Deep")]
    outsider = make_distributor(name="Quill Outside")
    # When staff search the new sponsor for moving the top of the leg
    found = sponsor_search(client, leg[0], "quill")
    # Then only the outsider is offered
    assert found == [str(outsider.pk)]
    assert sponsor_search(client, leg[0], str(leg[2].number)) == []


def test_a_refused_move_keeps_the_typed_reason_and_asks_no_confirmation(client, staff):
    leg = make_chain(3)
    response = client.post(
        move_url(leg[0]), {"new_sponsor": leg[2].pk, "reason": "Asked by the sponsor"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not response.context["confirming"]
    assert "would make a loop" in html
    assert "Asked by the sponsor</textarea>" in html
    assert not TreeChange.objects.exclude(kind="enrollment").exists()


def test_a_move_is_confirmed_naming_the_numbers(client, staff):
    person, target = make_distributor(name="Pat Moved"), make_distributor(name="Tia Target")
    data = {"new_sponsor": target.pk, "reason": "Sponsor asked", "confirmed": "yes"}
    response = client.post(move_url(person), data, follow=True)
    text = response.content.decode()
    assert f"#{person.number} Pat Moved" in text and f"#{target.number} Tia Target" in text
