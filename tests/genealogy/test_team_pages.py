import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from genealogy.models import Distributor
from genealogy.selectors import TeamFilters, downline, team_stats
from tests.factories import make_chain, make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """leader → (ann → (bob → cid), dan); ann has 2 more direct recruits."""
    leader = make_distributor(name="Lea Leader")
    ann = make_distributor(sponsor=leader, name="Ann Adams", email="ann@example.com")
    bob, cid = make_chain(2, sponsor=ann)
    dan = make_distributor(sponsor=leader, name="Dan Diaz")
    extra = [make_distributor(sponsor=ann) for _ in range(2)]
    people = {"leader": leader, "ann": ann, "bob": bob, "cid": cid, "dan": dan}
    fresh = {name: Distributor.objects.get(pk=person.pk) for name, person in people.items()}
    return {**fresh, "extra": extra}


def test_tree_shows_direct_recruits_with_counts(client, team):
    client.force_login(team["leader"].user)
    response = client.get(reverse("team_home"))
    html = response.content.decode()
    assert "Ann Adams" in html and "Dan Diaz" in html
    assert "3 recruits · team 4" in html  # Ann: bob + 2 extra direct; bob's cid below


def test_expanding_a_node_loads_its_children(client, team):
    client.force_login(team["leader"].user)
    response = client.get(reverse("team_tree_children", args=[team["ann"].number]))
    html = response.content.decode()
    assert team["bob"].display_name in html
    assert "Dan Diaz" not in html


def test_large_child_lists_paginate(client):
    leader = make_distributor()
    for _ in range(30):
        make_distributor(sponsor=leader, place=False)
    client.force_login(leader.user)
    first = client.get(reverse("team_tree_children", args=[leader.number]))
    assert first.content.decode().count('class="list-group-item px-2"') == 25
    assert "page=2" in first.content.decode()
    second = client.get(reverse("team_tree_children", args=[leader.number]) + "?page=2")
    assert second.content.decode().count('class="list-group-item px-2"') == 5


def test_new_recruit_shows_for_the_sponsor_before_placement(client, team):
    newcomer = make_distributor(sponsor=team["leader"], place=False, name="Nia New")
    assert not newcomer.is_placed
    client.force_login(team["leader"].user)
    assert "Nia New" in client.get(reverse("team_home")).content.decode()
    assert "Nia New" in client.get(reverse("team_list")).content.decode()


def test_list_filters_by_level_search_and_status(team):
    leader = team["leader"]
    level_two = downline(leader, TeamFilters(level=2))
    assert set(level_two.values_list("pk", flat=True)) == {
        team["bob"].pk,
        *[p.pk for p in team["extra"]],
    }
    assert list(downline(leader, TeamFilters(query="ann@"))) == [team["ann"]]
    assert list(downline(leader, TeamFilters(query=str(team["cid"].number)))) == [team["cid"]]
    Distributor.objects.filter(pk=team["dan"].pk).update(status="inactive")
    assert list(downline(leader, TeamFilters(status="inactive"))) == [team["dan"]]


def test_list_joined_between_dates(team):
    Distributor.objects.filter(pk=team["cid"].pk).update(joined_on=dt.date(2024, 3, 5))
    found = downline(
        team["leader"], TeamFilters(joined_from=dt.date(2024, 3, 1), joined_to=dt.date(2024, 3, 31))
    )
    assert list(found) == [team["cid"]]


def test_list_page_rejects_reversed_dates_with_a_message(client, team):
    client.force_login(team["leader"].user)
    response = client.get(
        reverse("team_list"), {"joined_from": "2025-05-01", "joined_to": "2025-04-01"}
    )
    assert "The end date is before the start date." in response.content.decode()


def test_list_has_an_empty_state_with_the_share_card(client):
    loner = make_distributor()
    client.force_login(loner.user)
    html = client.get(reverse("team_list")).content.decode()
    assert "No one in your team yet: share your link." in html
    assert f"/join/{loner.referral_code}/" in html


def test_list_query_count_does_not_grow_with_team_size(client, django_assert_max_num_queries):
    leader = make_distributor()
    for _ in range(5):
        make_distributor(sponsor=leader, place=False)
    from genealogy.services import place_pending_distributors

    place_pending_distributors()
    client.force_login(leader.user)
    with django_assert_max_num_queries(13) as small:
        client.get(reverse("team_list"))
        client.get(reverse("team_home"))
    for _ in range(40):
        make_distributor(sponsor=leader, place=False)
    place_pending_distributors()
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("team_list"))
        client.get(reverse("team_home"))


def test_stats_count_levels_and_months(team):
    today = timezone.localdate()
    stats = team_stats(team["leader"], today=today)
    assert stats.downline_size == 6
    assert dict(stats.per_level)["1"] == 2
    assert dict(stats.per_level)["2"] == 3
    assert dict(stats.per_level)["3"] == 1
    assert stats.new_this_month == 6
    assert stats.joins_per_month[-1] == (today.replace(day=1), 6)
    assert len(stats.joins_per_month) == 12


def test_stats_page_has_a_chart_and_its_table(client, team):
    client.force_login(team["leader"].user)
    html = client.get(reverse("team_stats")).content.decode()
    assert 'id="joins-chart"' in html
    assert "Joins per month" in html


def test_member_page_shows_relative_level_and_recruits(client, team):
    client.force_login(team["leader"].user)
    html = client.get(reverse("team_member", args=[team["bob"].number])).content.decode()
    assert "2 below you" in html
    assert team["cid"].display_name in html


def test_upline_shows_only_the_sponsor_and_what_they_share(client, team):
    client.force_login(team["bob"].user)
    html = client.get(reverse("team_upline")).content.decode()
    assert "Ann Adams" in html
    assert "ann@example.com" not in html
    Distributor.objects.filter(pk=team["ann"].pk).update(share_phone_with_team=True)
    html = client.get(reverse("team_upline")).content.decode()
    assert "ann@example.com" in html
    assert "Lea Leader" not in html


def test_staff_see_the_full_path_to_the_house(client, team):
    from tests.factories import UserFactory, log_in_with_mfa

    log_in_with_mfa(client, UserFactory(is_staff=True))
    html = client.get(reverse("team_member_upline", args=[team["cid"].number])).content.decode()
    for name in ("Ann Adams", "Lea Leader"):
        assert name in html


def test_csv_export_streams_exactly_the_filtered_downline(client, team):
    import csv
    import io

    from genealogy.imports import EXPORT_COLUMNS

    outsider = make_distributor(name="Out Sider")
    client.force_login(team["leader"].user)

    response = client.get(reverse("team_list_csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"] == "text/csv"
    assert rows[0] == list(EXPORT_COLUMNS)
    numbers = {int(row[0]) for row in rows[1:]}
    expected = {team[name].number for name in ("ann", "bob", "cid", "dan")}
    expected |= {person.number for person in team["extra"]}
    assert numbers == expected
    assert outsider.number not in numbers

    level_one = client.get(reverse("team_list_csv"), {"level": 1})
    level_rows = list(csv.reader(io.StringIO(b"".join(level_one.streaming_content).decode())))
    assert {int(row[0]) for row in level_rows[1:]} == {team["ann"].number, team["dan"].number}
