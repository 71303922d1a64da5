"""The one access rule covers placement downlines exactly as it covers sponsor downlines: a
person sees who is placed below them, even when someone else enrolled them, and never their
placement upline or its other legs."""

import pytest
from django.urls import reverse

from genealogy.models import Distributor
from genealogy.selectors import get_visible_distributor, visible_distributors
from tests.factories import house, make_distributor
from tests.placement_trees import build_placement_tree, wait_in_tank

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    """Sponsor tree: the house enrolled Ann, Bob and Xena; Ann enrolled Cal; Bob enrolled Tim.

    Placement tree (binary)::

        house
        ├── Ann (left)
        │   └── Xena (left)        enrolled by the house, spilled under Ann
        │       └── Cal (right)    enrolled by Ann
        └── Bob (right)
    Tim waits in the holding tank for Bob.
    """
    root = house()
    ann = make_distributor(name="Ann")
    bob = make_distributor(name="Bob")
    xena = make_distributor(name="Xena")
    cal = make_distributor(sponsor=ann, name="Cal")
    tim = make_distributor(sponsor=bob, name="Tim")
    build_placement_tree(
        [(root, None, None), (ann, root, 0), (bob, root, 1), (xena, ann, 0), (cal, xena, 1)]
    )
    wait_in_tank(tim)
    people = {"house": root, "ann": ann, "bob": bob, "xena": xena, "cal": cal, "tim": tim}
    fresh = Distributor.objects.select_related("user").in_bulk([p.pk for p in people.values()])
    return {name: fresh[person.pk] for name, person in people.items()}


def seen_by(person) -> set[str]:
    return {d.user.name for d in visible_distributors(person.user).select_related("user")}


def test_a_placement_downline_member_enrolled_by_someone_else_is_visible(company):
    assert company["xena"].sponsor_id == company["house"].pk
    assert seen_by(company["ann"]) == {"Ann", "Cal", "Xena"}


def test_the_placement_upline_and_its_other_leg_stay_hidden(company):
    # Xena sees Cal (placed below her, enrolled by her placement parent), never Ann nor Bob.
    assert seen_by(company["xena"]) == {"Xena", "Cal"}
    for name in ("ann", "bob", "house"):
        with pytest.raises(Exception, match="No such distributor"):
            get_visible_distributor(company["xena"].user, number=company[name].number)


def test_a_recruit_waiting_in_the_tank_stays_visible_to_their_sponsor(company):
    assert seen_by(company["bob"]) == {"Bob", "Tim"}
    assert "Tim" not in seen_by(company["ann"])


def test_nobody_sees_more_than_before_without_a_placement_tree(company):
    from genealogy.models import Placement

    Placement.objects.update(parent=None)
    Placement.objects.all().delete()
    assert seen_by(company["ann"]) == {"Ann", "Cal"}
    assert seen_by(company["xena"]) == {"Xena"}


def test_team_member_pages_follow_the_placement_downline(client, company):
    client.force_login(company["ann"].user)
    assert client.get(reverse("team_member", args=[company["xena"].number])).status_code == 200
    assert client.get(reverse("team_member", args=[company["bob"].number])).status_code == 404
    client.force_login(company["xena"].user)
    assert client.get(reverse("team_member", args=[company["cal"].number])).status_code == 200
    assert client.get(reverse("team_member", args=[company["ann"].number])).status_code == 404


def test_the_placement_downline_costs_no_extra_query(company, django_assert_num_queries):
    viewer = company["ann"]
    user = viewer.user
    user.distributor = viewer  # as the session's user arrives (accounts.backends)
    # One query for the people waiting for sponsor-tree placement, one for the lookup itself.
    with django_assert_num_queries(2):
        assert get_visible_distributor(user, number=company["cal"].number).pk == company["cal"].pk
