"""The graphical genealogy viewer and the placement tree page: what the JSON says, how much it
reads, and that it shows only what the one access rule allows."""

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from genealogy.models import Distributor
from genealogy.services import place_pending_distributors
from portal.viewer import CHILDREN_PAGE
from tests.factories import (
    COMMISSION_TEST_PLAN,
    UserFactory,
    buy,
    house,
    log_in_with_mfa,
    make_distributor,
    make_plan_version,
)
from tests.placement_trees import build_placement_tree, wait_in_tank

pytestmark = pytest.mark.django_db


def binary_plan():
    make_plan_version({**COMMISSION_TEST_PLAN, "placement": {"kind": "binary"}})


def fresh(*people):
    found = Distributor.objects.select_related("user").in_bulk([p.pk for p in people])
    return [found[p.pk] for p in people]


@pytest.fixture
def company():
    """Sponsor tree: house → Ann, Bob, Xena; Ann → Cal. Placement (binary): house → Ann (left)
    → Xena (left) → Cal (right); house → Bob (right). Tim (Ann's) waits in the tank."""
    root = house()
    ann = make_distributor(name="Ann Able")
    bob = make_distributor(name="Bob Other")
    xena = make_distributor(name="Xena Spill")
    cal = make_distributor(sponsor=ann, name="Cal Deep")
    tim = make_distributor(sponsor=ann, name="Tim Waiting")
    # The plan comes after the sign-ups: these rows are built by hand, not by the placement
    # services.
    binary_plan()
    build_placement_tree(
        [(root, None, None), (ann, root, 0), (bob, root, 1), (xena, ann, 0), (cal, xena, 1)]
    )
    wait_in_tank(tim)
    now = timezone.now()
    buy(xena, "40", paid_at=now)
    buy(cal, "25", paid_at=now)
    buy(bob, "70", paid_at=now)
    root, ann, bob, xena, cal, tim = fresh(root, ann, bob, xena, cal, tim)
    return {"house": root, "ann": ann, "bob": bob, "xena": xena, "cal": cal, "tim": tim}


def get_json(client, name, number=None, **params):
    args = [number] if number is not None else []
    response = client.get(reverse(name, args=args), params)
    return response.status_code, (response.json() if response.status_code in (200, 400) else None)


# --- The page ---------------------------------------------------------------------------------


def test_the_viewer_page_loads_the_vendored_d3_and_no_outside_script(client, company):
    client.force_login(company["ann"].user)
    response = client.get(reverse("genealogy_viewer"), {"tree": "placement"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/vendor/d3/d3.min.js" in html and "/static/js/genealogy-viewer.js" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    root = json.loads(re.search(r'id="viewer-root-data"[^>]*>(.*?)</script>', html, re.S)[1])
    assert root["number"] == company["ann"].number and root["children"] == 1
    assert 'id="genealogy-viewer"' in html and 'data-tree="placement"' in html
    # The keyboard and screen-reader ways through the same team are linked.
    assert reverse("team_list") in html and reverse("placement_tree") in html


def test_the_viewer_refuses_an_unknown_tree_with_a_message(client, company):
    client.force_login(company["ann"].user)
    response = client.get(reverse("genealogy_viewer"), {"tree": "family"})
    assert response.status_code == 400 and "tree: one of sponsor, placement" in response.text


# --- Children ---------------------------------------------------------------------------------


def test_placement_children_show_people_count_leg_and_volume(client, company):
    client.force_login(company["ann"].user)
    status, data = get_json(client, "viewer_children", company["ann"].number, tree="placement")
    assert status == 200 and data["next"] is None
    (xena,) = data["children"]
    assert xena["number"] == company["xena"].number
    assert xena["leg"] == "Left" and xena["people_below"] == 1 and xena["children"] == 1
    assert xena["pv"] == 4000 and xena["gv"] == 4000  # her own 40 (Cal is not her enrollee)


def test_sponsor_children_include_a_recruit_waiting_in_the_tank(client, company):
    client.force_login(company["ann"].user)
    status, data = get_json(client, "viewer_children", company["ann"].number, tree="sponsor")
    names = {child["name"] for child in data["children"]}
    assert status == 200 and names == {"Cal Deep", "Tim Waiting"}


def test_a_wide_node_comes_a_page_at_a_time_with_a_cursor(client, company):
    ann = company["ann"]
    for _ in range(CHILDREN_PAGE + 3):
        make_distributor(sponsor=ann, place=False)
    place_pending_distributors()
    client.force_login(ann.user)
    _, first = get_json(client, "viewer_children", ann.number)
    assert len(first["children"]) == CHILDREN_PAGE and first["next"] is not None
    _, second = get_json(client, "viewer_children", ann.number, after=first["next"])
    assert len(second["children"]) == 5 and second["next"] is None  # 3 new + Cal + Tim
    numbers = [c["number"] for c in first["children"] + second["children"]]
    assert len(set(numbers)) == CHILDREN_PAGE + 5


def test_children_cost_the_same_queries_for_a_page_of_two_and_a_page_of_fifty(
    client, company, django_assert_max_num_queries
):
    ann = company["ann"]
    client.force_login(ann.user)
    client.get(reverse("viewer_children", args=[ann.number]))  # session, calendar warm
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # the live figures are read, not cached, both times
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("viewer_children", args=[ann.number]))
    for _ in range(CHILDREN_PAGE):
        make_distributor(sponsor=ann, place=False)
    place_pending_distributors()
    cache.clear()
    client.force_login(ann.user)
    with django_assert_max_num_queries(len(small)):
        _, data = get_json(client, "viewer_children", ann.number)
    assert len(data["children"]) == CHILDREN_PAGE


def test_bad_parameters_answer_400_with_a_message(client, company):
    client.force_login(company["ann"].user)
    status, data = get_json(client, "viewer_children", company["ann"].number, after="abc")
    assert status == 400 and "after" in data["error"]
    status, data = get_json(client, "viewer_card", company["ann"].number, tree="x")
    assert status == 400 and "tree" in data["error"]


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["viewer_children", "viewer_card", "viewer_path"])
def test_json_endpoints_answer_404_for_the_upline_and_its_other_leg(client, company, name):
    client.force_login(company["xena"].user)
    for other in ("ann", "bob", "house"):
        for tree in ("sponsor", "placement"):
            status, _ = get_json(client, name, company[other].number, tree=tree)
            assert status == 404, (other, tree)
    status, _ = get_json(client, name, company["cal"].number, tree="placement")
    assert status == 200  # placed below her, though Ann enrolled him


def test_a_placement_downline_member_is_browsable_only_in_the_placement_tree(client, company):
    client.force_login(company["ann"].user)
    xena = company["xena"].number  # enrolled by the house, placed under Ann
    assert get_json(client, "viewer_children", xena, tree="placement")[0] == 200
    assert get_json(client, "viewer_children", xena, tree="sponsor")[0] == 404


def test_search_stays_inside_the_downline(client, company):
    client.force_login(company["ann"].user)
    _, data = get_json(client, "viewer_search", tree="placement", q="Xena")
    assert [r["number"] for r in data["results"]] == [company["xena"].number]
    _, data = get_json(client, "viewer_search", tree="placement", q="Bob")
    assert data["results"] == []
    _, data = get_json(client, "viewer_search", tree="sponsor", q=str(company["bob"].number))
    assert data["results"] == []
    status, _ = get_json(
        client, "viewer_search", tree="sponsor", q="Bob", root=company["bob"].number
    )
    assert status == 404


def test_the_path_opens_from_the_root_down_to_the_person_found(client, company):
    client.force_login(company["ann"].user)
    _, data = get_json(client, "viewer_path", company["cal"].number, tree="placement")
    assert data["reaches_root"] is True
    assert [step["number"] for step in data["path"]] == [
        company["ann"].number,
        company["xena"].number,
        company["cal"].number,
    ]


def test_staff_with_staff_powers_browse_the_whole_company(client, company):
    staff = UserFactory(is_staff=True)
    log_in_with_mfa(client, staff)
    status, data = get_json(client, "viewer_children", company["house"].number, tree="placement")
    assert status == 200 and [c["leg"] for c in data["children"]] == ["Left", "Right"]
    _, data = get_json(client, "viewer_search", tree="sponsor", q="Bob")
    assert [r["number"] for r in data["results"]] == [company["bob"].number]


# --- The card ---------------------------------------------------------------------------------


def test_the_placement_card_has_both_legs_with_people_volume_and_no_invented_carry(client, company):
    log_in_with_mfa(client, UserFactory(is_staff=True))
    status, data = get_json(client, "viewer_card", company["house"].number, tree="placement")
    assert status == 200
    left, right = data["legs"]
    assert (left["label"], left["people"], left["volume"]) == ("Left", 3, 6500)  # Ann, Xena, Cal
    assert (right["label"], right["people"], right["volume"]) == ("Right", 1, 7000)
    assert left["carried"] is None and right["carried"] is None


def test_the_sponsor_card_has_the_month_figures_of_the_dashboard(client, company):
    client.force_login(company["ann"].user)
    _, data = get_json(client, "viewer_card", company["ann"].number, tree="sponsor")
    assert data["pv"] == 0 and data["gv"] == 2500  # Cal's 25 (Xena is not her enrollee)
    assert [leg["label"] for leg in data["legs"]][:1] == ["Cal Deep"]


# --- The placement tree page ------------------------------------------------------------------


def test_the_placement_tree_page_shows_each_leg_and_searches_the_downline(client, company):
    client.force_login(company["ann"].user)
    response = client.get(reverse("placement_tree"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-leg-top="{company["xena"].number}"' in html
    assert "Open position" in html  # Ann's right leg is empty
    assert re.search(r"data-leg-carried>—<", html)
    found = client.get(reverse("placement_tree"), {"q": "Cal"}).content.decode()
    assert "Cal Deep" in found and "Bob Other" not in found
    nothing = client.get(reverse("placement_tree"), {"q": "Bob"}).content.decode()
    assert 'id="placement-results-empty"' in nothing


def test_the_placement_tree_page_of_a_downline_member_shows_the_path_to_them(client, company):
    client.force_login(company["ann"].user)
    response = client.get(reverse("placement_tree_member", args=[company["cal"].number]))
    html = response.content.decode()
    assert response.status_code == 200 and 'id="placement-path"' in html
    assert "Xena Spill" in html
    assert (
        client.get(reverse("placement_tree_member", args=[company["bob"].number])).status_code
        == 404
    )


def test_without_a_placement_tree_the_page_says_so(client):
    make_plan_version()
    person = make_distributor(name="Solo")
    client.force_login(person.user)
    response = client.get(reverse("placement_tree"))
    assert response.status_code == 200 and "has no placement tree" in response.text


def test_a_path_deeper_than_the_limit_starts_from_the_ancestor_at_the_limit(company):
    from portal.viewer import path_ids

    ann, xena, cal = company["ann"], company["xena"], company["cal"]
    assert path_ids(ann, cal, "placement") == ([ann.pk, xena.pk, cal.pk], True)
    assert path_ids(ann, cal, "placement", limit=1) == ([xena.pk, cal.pk], False)


def test_a_matrix_shows_every_position_with_its_people(client):
    root = house()
    leader = make_distributor(name="Mia Matrix")
    first, third = make_distributor(sponsor=leader), make_distributor(sponsor=leader)
    make_plan_version({**COMMISSION_TEST_PLAN, "placement": {"kind": "matrix", "width": 3}})
    build_placement_tree(
        [(root, None, None), (leader, root, 0), (first, leader, 0), (third, leader, 2)], width=3
    )
    client.force_login(leader.user)
    html = client.get(reverse("placement_tree")).content.decode()
    assert [label for label in re.findall(r'<h3 class="h6 card-title">([^<]+)</h3>', html)] == [
        "Position 1",
        "Position 2",
        "Position 3",
    ]
    assert html.count("Open position") == 1
    _, data = get_json(client, "viewer_children", leader.number, tree="placement")
    assert [c["leg"] for c in data["children"]] == ["Position 1", "Position 3"]


def test_the_placement_tree_page_reads_a_fixed_number_of_queries(
    client, company, django_assert_max_num_queries
):
    client.force_login(company["ann"].user)
    client.get(reverse("placement_tree"))
    with django_assert_max_num_queries(15):  # 14 today (two read the waiting counts), any size
        response = client.get(reverse("placement_tree_member", args=[company["xena"].number]))
    assert response.status_code == 200


def test_with_a_projection_nodes_and_cards_show_its_paid_as_rank_and_volumes(client, company):
    from commissions.services.runs import refresh_projection

    buy(company["bob"], "50", paid_at=timezone.now())  # 120 PV: enough for "Member"
    assert refresh_projection(now=timezone.now()) is not None
    log_in_with_mfa(client, UserFactory(is_staff=True))
    _, data = get_json(client, "viewer_children", company["house"].number, tree="placement")
    by_leg = {child["leg"]: child for child in data["children"]}
    assert (by_leg["Right"]["rank"], by_leg["Right"]["pv"]) == ("Member", 12000)
    assert by_leg["Left"]["rank"] is None  # Ann bought nothing
    _, card = get_json(client, "viewer_card", company["bob"].number, tree="sponsor")
    assert (card["rank"], card["pv"], card["gv"]) == ("Member", 12000, 12000)
