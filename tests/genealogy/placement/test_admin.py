"""The placement admin: a read-only list, and the audited move view (confirm, then move)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from genealogy.models import Placement, TreeChange, TreeChangeKind, TreeKind
from tests.factories import UserFactory, house, log_in_with_mfa

from .helpers import assert_consistent, join, spot

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, name="Sam Staff")
    log_in_with_mfa(client, user)
    return user


@pytest.fixture
def line(placement_plan):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    return top, [join(top) for _ in range(3)]


def test_the_list_searches_by_number_and_filters_waiting_people(
    client, staff, line, placement_plan
):
    top, people = line
    placement_plan(kind="binary", rule="holding_tank", auto_rule="outermost_left")
    waiting = join(top)
    url = reverse("admin:genealogy_placement_changelist")
    found = client.get(url, {"q": str(people[1].number)})
    assert found.status_code == 200 and str(people[1].number) in found.text
    assert str(people[2].number) not in found.text
    tank = client.get(url, {"placed": "no"})
    assert str(waiting.number) in tank.text and str(people[0].number) not in tank.text
    assert client.get(reverse("admin:genealogy_placement_add")).status_code == 403


def test_the_move_view_confirms_then_moves_the_leg_with_the_reason(client, staff, line):
    top, people = line
    url = reverse("admin:genealogy_placement_move", args=[people[1].pk])
    data = {"new_parent": top.number, "position": "1", "reason": "Asked for the right leg"}
    confirm = client.post(url, data)
    assert confirm.status_code == 200
    assert "will move" in confirm.text and "2 people" in confirm.text
    assert spot(people[1]) == (people[0].pk, 0)  # nothing moved yet
    done = client.post(url, {**data, "confirmed": "yes"})
    assert done.status_code == 302
    assert spot(people[1]) == (top.pk, 1)
    change = TreeChange.objects.get(tree=TreeKind.PLACEMENT, kind=TreeChangeKind.MOVE)
    assert change.by_id == staff.pk and change.reason == "Asked for the right leg"
    assert_consistent()


def test_the_move_view_shows_a_refusal_and_moves_nothing(client, staff, line):
    top, people = line
    url = reverse("admin:genealogy_placement_move", args=[people[0].pk])
    response = client.post(
        url, {"new_parent": people[2].number, "position": "0", "reason": "x", "confirmed": "yes"}
    )
    assert response.status_code == 200 and "loop" in response.text
    assert spot(people[0]) == (top.pk, 0)


def test_staff_without_two_factor_cannot_move(client, line):
    top, people = line
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    url = reverse("admin:genealogy_placement_move", args=[people[1].pk])
    response = client.post(
        url, {"new_parent": top.number, "position": "1", "reason": "x", "confirmed": "yes"}
    )
    assert response.status_code in (302, 403)
    assert Placement.objects.get(pk=people[1].pk).parent_id == people[0].pk
