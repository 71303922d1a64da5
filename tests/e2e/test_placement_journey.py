"""The placement tree in a real browser: the leader empties their holding tank and finds the
people they placed on the placement tree page and in the graphical viewer."""

import datetime as dt

import pytest
from django.core.management import call_command

from commissions.demo import DEMO_PLAN
from commissions.services.plans import plan_version_create
from genealogy.demo import DEMO_PASSWORD
from genealogy.models import Distributor, Placement
from genealogy.placement.integrity import check_placement_tree
from tests.factories import house

from .test_journey import LAPTOP, watch_console

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEADER = "leader@ladder.example"


@pytest.fixture
def demo_company():
    house()  # an earlier transactional test may have flushed the migration's copy
    call_command("seed_demo", distributors=150, order_months=1, commission_months=0)
    # The demo plan (binary placement tree, 7-day tank) in force, as seed_demo's commission
    # history would load it.
    plan_version_create(
        source=DEMO_PLAN.read_text(encoding="utf-8"), effective_from=dt.date(2020, 1, 1)
    )
    leader = Distributor.objects.select_related("user").get(user__email=LEADER)
    waiting = list(
        Placement.objects.filter(placed_at__isnull=True, distributor__sponsor=leader)
        .order_by("distributor_id")
        .select_related("distributor__user")
    )
    return {"leader": leader, "waiting": [row.distributor for row in waiting]}


def test_the_leader_places_tank_recruits_and_finds_them_in_the_tree_and_the_viewer(
    browser, live_server, demo_company
):
    base = live_server.url
    leader, waiting = demo_company["leader"], demo_company["waiting"]
    assert len(waiting) == 4
    errors: list[str] = []
    context = browser.new_context(viewport=LAPTOP, base_url=base)
    page = context.new_page()
    watch_console(page, errors)
    page.goto("/accounts/login/")
    page.fill("#id_login", LEADER)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")

    # The holding tank lists the four recruits, each with its deadline a week ahead.
    page.goto("/team/")
    page.click("#tab-placement-tank")
    page.wait_for_url("**/team/placement/tank/")
    rows = page.locator("#tank-table tbody tr")
    assert rows.count() == 4
    first, second = waiting[0], waiting[1]
    assert str(first.number) in page.inner_text("#tank-table")

    # The first by the company's rule: a preview says where they land, then they are placed.
    page.goto(f"/team/placement/tank/{first.number}/")
    page.check("input[name=how][value=rule]")
    page.click("#preview-placement")
    preview = page.locator("#placement-preview")
    preview.wait_for()
    preview_text = preview.inner_text()
    assert f"#{leader.number}" in page.inner_text("#placement-preview .breadcrumb")
    page.click("#confirm-placement")
    page.wait_for_url("**/team/placement/tank/")
    assert page.locator("#tank-table tbody tr").count() == 3
    landed = Placement.objects.get(pk=first.pk)
    assert landed.is_placed
    parent_number = Distributor.objects.get(pk=landed.parent_id).number
    assert f"#{parent_number}" in preview_text  # it landed where the preview said

    # The second by hand, under the first, on the right.
    page.goto(f"/team/placement/tank/{second.number}/")
    page.check("input[name=how][value=hand]")
    page.fill("#id_parent", str(first.number))
    page.select_option("#id_position", "1")
    page.click("#preview-placement")
    page.locator("#placement-preview").wait_for()
    assert f"#{first.number}" in page.inner_text("#placement-preview")
    page.click("#confirm-placement")
    page.wait_for_url("**/team/placement/tank/")
    placed = Placement.objects.get(pk=second.pk)
    assert (placed.parent_id, placed.position) == (first.pk, 1)

    # Both are on the placement tree page: in a leg of the leader, and found by a search.
    page.goto("/team/placement/")
    legs = page.inner_text("#placement-legs")
    assert "People" in legs
    page.fill("#placement-q", second.display_name)
    page.locator("#placement-search button[type=submit]").click()
    page.locator("#placement-results").wait_for()
    assert f"#{second.number}" in page.inner_text("#placement-results")

    # The viewer opens on the leader's placement tree; expanding the first shows the second.
    page.goto("/team/placement/")
    page.get_by_role("link", name="Open in the viewer").click()
    page.wait_for_url("**/team/viewer/?tree=placement*")
    page.locator('#genealogy-viewer[data-ready="true"]').wait_for()
    root = page.locator(f'g.viewer-node[data-number="{leader.number}"]')
    if root.get_attribute("data-expanded") != "true":
        root.click()
        page.locator('#genealogy-viewer[data-ready="true"]').wait_for()
    node = page.locator(f'g.viewer-node[data-number="{first.number}"]')
    if node.count() == 0:  # the first landed deeper than the root's own legs: find them
        page.fill("#viewer-search-input", str(first.number))
        page.locator("#viewer-search-form button[type=submit]").click()
        page.locator(f'#viewer-search-results button[data-number="{first.number}"]').click()
        page.locator('#genealogy-viewer[data-ready="true"]').wait_for()
    node.click()
    page.locator(f'#viewer-card[data-card-number="{first.number}"]').wait_for()
    page.locator(f'g.viewer-node[data-number="{second.number}"]').wait_for()
    assert "PV this month" in page.inner_text("#viewer-card")

    assert check_placement_tree().is_valid
    assert errors == []
    context.close()
