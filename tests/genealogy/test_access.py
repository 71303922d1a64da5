"""The one access rule, swept across every URL that takes a distributor number."""

import random

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from genealogy.models import Distributor
from tests.factories import house, make_distributor

pytestmark = pytest.mark.django_db

# URLs that only staff may open at all: a distributor gets 404 even for their own team.
STAFF_ONLY = {"team_member_upline"}


def urls_taking_a_distributor_number(resolver: URLResolver | None = None, prefix: str = ""):
    resolver = resolver or get_resolver()
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            names.extend(urls_taking_a_distributor_number(entry))
        elif isinstance(entry, URLPattern) and entry.name and "number" in entry.pattern.converters:
            names.append(entry.name)
    return sorted(set(names))


NUMBER_URLS = urls_taking_a_distributor_number()


def test_the_sweep_finds_the_team_urls():
    assert {"team_member", "team_tree_children", "team_member_upline"} <= set(NUMBER_URLS)


def random_company(seed: int) -> list[Distributor]:
    rng = random.Random(seed)
    people = [make_distributor(sponsor=house(), place=False)]
    for _ in range(9):
        people.append(make_distributor(sponsor=rng.choice(people), place=False))
    from genealogy.services import place_pending_distributors

    place_pending_distributors()
    # One newcomer still waiting for placement: visible to their sponsor at once.
    people.append(make_distributor(sponsor=rng.choice(people), place=False))
    return [Distributor.objects.get(pk=p.pk) for p in people]


def in_subtree(viewer: Distributor, target: Distributor, by_id: dict[int, Distributor]) -> bool:
    current = target
    while current is not None:
        if current.pk == viewer.pk:
            return True
        current = by_id.get(current.sponsor_id)
    return False


@pytest.mark.parametrize("seed", [1, 2])
def test_every_pair_answers_200_exactly_inside_the_viewers_team(client, seed):
    people = random_company(seed)
    by_id = {p.pk: p for p in people}
    for viewer in people:
        client.force_login(viewer.user)
        for target in people:
            allowed = in_subtree(viewer, target, by_id)
            for name in NUMBER_URLS:
                status = client.get(reverse(name, kwargs={"number": target.number})).status_code
                expected = 200 if allowed and name not in STAFF_ONLY else 404
                assert status == expected, (name, viewer.number, target.number)


def test_staff_see_everyone(client):
    from tests.factories import UserFactory

    people = random_company(3)
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    for target in people:
        for name in NUMBER_URLS:
            assert client.get(reverse(name, kwargs={"number": target.number})).status_code == 200


def test_unknown_number_is_404_not_403(client):
    person = make_distributor()
    client.force_login(person.user)
    for name in NUMBER_URLS:
        assert client.get(reverse(name, kwargs={"number": 99_999_999})).status_code == 404
