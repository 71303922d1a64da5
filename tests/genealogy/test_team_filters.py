"""The team list and its CSV: a bad filter shows the error and no list; the CSV's level is the
list's level (relative to the viewer)."""

import csv
import io

import pytest
from django.urls import reverse

from genealogy.models import Distributor
from tests.factories import make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """leader (below someone) → ann → bob; leader → dan."""
    above = make_distributor(name="Abe Above")
    leader = make_distributor(sponsor=above, name="Lea Leader")
    ann = make_distributor(sponsor=leader, name="Ann Adams")
    bob = make_distributor(sponsor=ann, name="Bob Brown")
    dan = make_distributor(sponsor=leader, name="Dan Diaz")
    people = {"leader": leader, "ann": ann, "bob": bob, "dan": dan}
    return {name: Distributor.objects.get(pk=person.pk) for name, person in people.items()}


@pytest.mark.parametrize(
    "query",
    [
        {"level": "abc"},
        {"level": "0"},
        {"joined_from": "2026-13-45"},
        {"joined_from": "2026-05-01", "joined_to": "2026-04-01"},
        {"status": "nonsense"},
    ],
)
def test_an_invalid_filter_shows_the_error_and_no_list(client, team, query):
    client.force_login(team["leader"].user)
    response = client.get(reverse("team_list"), query)
    html = response.content.decode()
    assert response.status_code == 400
    assert "These filters cannot be applied" in html
    assert "Ann Adams" not in html and "Dan Diaz" not in html


def test_an_invalid_filter_in_the_live_search_shows_the_error_in_the_fragment(client, team):
    client.force_login(team["leader"].user)
    response = client.get(reverse("team_list"), {"level": "x"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only successful answers
    assert "These filters cannot be applied" in html and "Ann Adams" not in html


def test_an_invalid_filter_exports_no_csv(client, team):
    client.force_login(team["leader"].user)
    response = client.get(reverse("team_list_csv"), {"level": "x"})
    assert response.status_code == 400
    assert "Level" in response.content.decode()


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_level_is_the_list_level(client, team):
    client.force_login(team["leader"].user)
    rows = {int(r["number"]): r["level"] for r in read_csv(client.get(reverse("team_list_csv")))}
    page = client.get(reverse("team_list"))
    listed = {m.number: str(m.relative_level) for m in page.context["page"].object_list}
    assert rows == listed
    assert rows == {team["ann"].number: "1", team["dan"].number: "1", team["bob"].number: "2"}
    # and the level filter picks the rows whose level column says so
    level_two = read_csv(client.get(reverse("team_list_csv"), {"level": 2}))
    assert [(int(r["number"]), r["level"]) for r in level_two] == [(team["bob"].number, "2")]


def test_a_recruit_waiting_for_placement_is_level_one_in_the_csv(client, team):
    newcomer = make_distributor(sponsor=team["leader"], place=False)
    client.force_login(team["leader"].user)
    rows = {int(r["number"]): r["level"] for r in read_csv(client.get(reverse("team_list_csv")))}
    assert rows[newcomer.number] == "1"
