"""The holding-tank pages: the sponsor's tank, preview then confirm, the sponsor's rule, 404s."""

from __future__ import annotations

import pytest
from django.urls import reverse

from genealogy.models import Distributor
from tests.factories import house

from .helpers import join, spot

pytestmark = pytest.mark.django_db


@pytest.fixture
def tank(placement_plan):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    sponsor = join(top)
    below = join(sponsor)  # sponsor's left leg
    placement_plan(
        kind="binary",
        rule="holding_tank",
        auto_rule="outermost_left",
        tank_days=7,
        sponsor_may_choose=True,
    )
    recruit = join(sponsor)
    return sponsor, below, recruit


def test_the_sponsor_sees_their_waiting_recruit_with_the_deadline(client, tank):
    sponsor, _, recruit = tank
    client.force_login(sponsor.user)
    response = client.get(reverse("placement_tank"))
    assert response.status_code == 200
    assert str(recruit.number) in response.text
    assert reverse("placement_place", args=[recruit.number]) in response.text


def test_preview_then_confirm_places_the_recruit_where_the_preview_said(client, tank):
    sponsor, below, recruit = tank
    client.force_login(sponsor.user)
    url = reverse("placement_place", args=[recruit.number])
    data = {"how": "hand", "parent": below.number, "position": "1", "rule": "outermost_left"}
    preview = client.post(url, data)
    assert preview.status_code == 200
    assert "placement-preview" in preview.text and f"#{below.number}" in preview.text
    assert spot(recruit) == (None, None)  # a preview writes nothing
    done = client.post(url, {**data, "confirmed": "yes"})
    assert done.status_code == 302
    assert spot(recruit) == (below.pk, 1)


def test_a_taken_position_is_refused_with_the_reason(client, tank):
    sponsor, below, recruit = tank
    client.force_login(sponsor.user)
    url = reverse("placement_place", args=[recruit.number])
    response = client.post(url, {"how": "hand", "parent": sponsor.number, "position": "0"})
    assert response.status_code == 200
    assert "is taken" in response.text
    assert spot(recruit) == (None, None)


def test_someone_else_cannot_see_or_place_a_tank_entry(client, tank):
    sponsor, below, recruit = tank
    client.force_login(below.user)  # in the sponsor's team, but not the recruit's sponsor
    url = reverse("placement_place", args=[recruit.number])
    assert client.get(url).status_code == 404
    assert (
        client.post(url, {"how": "rule", "rule": "outermost_left", "confirmed": "yes"}).status_code
        == 404
    )
    assert spot(recruit) == (None, None)
    assert str(recruit.number) not in client.get(reverse("placement_tank")).text


def test_the_sponsor_chooses_their_own_rule_and_waiting_recruits_follow_it(client, tank):
    sponsor, _, recruit = tank
    client.force_login(sponsor.user)
    response = client.post(reverse("placement_sponsor_rule"), {"rule": "outermost_right"})
    assert response.status_code == 302
    assert Distributor.objects.get(pk=sponsor.pk).placement_rule == "outermost_right"
    from genealogy.placement.services import place_pending_placements

    place_pending_placements()
    assert spot(recruit) == (sponsor.pk, 1)
    refused = client.post(reverse("placement_sponsor_rule"), {"rule": "no_such_rule"})
    assert refused.status_code == 302
    assert Distributor.objects.get(pk=sponsor.pk).placement_rule == "outermost_right"
