"""The holding tank: deadlines, the sponsor's own placement with a preview, and refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genealogy.models import Distributor, Placement, TreeChange, TreeChangeKind, TreeKind
from genealogy.placement.services import (
    PlacementError,
    choose_sponsor_rule,
    place_by_hand,
    place_by_rule_now,
    place_pending_placements,
    preview_placement,
)
from tests.factories import house

from .helpers import assert_consistent, join, node, spot

pytestmark = pytest.mark.django_db


def tank_plan(placement_plan, **options):
    return placement_plan(
        kind="binary",
        rule="holding_tank",
        auto_rule=options.pop("auto_rule", "outermost_left"),
        tank_days=options.pop("tank_days", 7),
        **options,
    )


def test_a_recruit_waits_in_the_tank_until_the_deadline_then_the_company_rule_places_them(
    placement_plan,
):
    tank_plan(placement_plan, tank_days=7)
    top = house()
    recruit = join(top)
    entry = node(recruit)
    assert entry.placed_at is None
    assert entry.tank_deadline == entry.entered_tank_at + dt.timedelta(days=7)

    before = entry.tank_deadline - dt.timedelta(minutes=1)
    assert place_pending_placements(now=before).placed == 0
    assert node(recruit).placed_at is None

    result = place_pending_placements(now=entry.tank_deadline + dt.timedelta(seconds=1))
    assert result.placed == 1
    assert spot(recruit) == (top.pk, 0)
    change = TreeChange.objects.get(distributor=recruit, tree=TreeKind.PLACEMENT)
    assert change.kind == TreeChangeKind.PLACEMENT
    assert (change.old_parent_id, change.new_parent_id, change.new_position) == (None, top.pk, 0)
    assert "deadline" in change.reason
    # Idempotent: a second run finds nobody.
    assert place_pending_placements(now=entry.tank_deadline + dt.timedelta(hours=1)).placed == 0
    assert_consistent()


def test_a_recruit_of_a_sponsor_still_in_the_tank_waits_for_the_sponsor(placement_plan):
    tank_plan(placement_plan, tank_days=1)
    sponsor = join(house())
    recruit = join(sponsor)
    late = timezone.now() + dt.timedelta(days=1, minutes=1)
    Placement.objects.filter(pk=sponsor.pk).update(tank_deadline=late + dt.timedelta(days=1))
    assert place_pending_placements(now=late).placed == 0
    assert node(recruit).placed_at is None
    result = place_pending_placements(now=late + dt.timedelta(days=2))
    assert result.placed == 2  # the sponsor first, then their recruit below them
    assert spot(recruit)[0] == sponsor.pk
    assert_consistent()


def test_the_preview_shows_where_the_person_lands_and_placing_puts_them_there(placement_plan):
    tank_plan(placement_plan, auto_rule="outermost_right")
    top = house()
    placement_plan(kind="binary", rule="outermost_right")
    a, b = join(top), join(top)
    tank_plan(placement_plan, auto_rule="outermost_right")
    recruit = join(top)

    by_rule = preview_placement(sponsor=top, person=recruit, rule="outermost_right")
    assert (by_rule.parent_id, by_rule.position, by_rule.level) == (b.pk, 1, 3)
    assert [step.distributor_id for step in by_rule.path] == [top.pk, a.pk, b.pk]
    place_by_rule_now(sponsor=top, person=recruit, rule="outermost_right", by=top.user)
    assert spot(recruit) == (by_rule.parent_id, by_rule.position)

    other = join(top)
    by_hand = preview_placement(sponsor=top, person=other, parent=a, position=0)
    assert (by_hand.parent_id, by_hand.position_label, by_hand.level) == (a.pk, "left", 2)
    placed = place_by_hand(sponsor=top, person=other, parent=a, position=0, by=top.user)
    assert (placed.parent_id, placed.position, placed.placed_by_id) == (a.pk, 0, top.user.pk)
    change = TreeChange.objects.get(distributor=other, tree=TreeKind.PLACEMENT)
    assert change.by_id == top.user.pk and change.new_parent_id == a.pk
    assert_consistent()


def test_the_default_preview_equals_what_the_deadline_batch_does(placement_plan):
    tank_plan(placement_plan, auto_rule="outermost_left")
    top = house()
    placement_plan(kind="binary", rule="outermost_left")
    join(top), join(top)
    tank_plan(placement_plan, auto_rule="outermost_left")
    recruit = join(top)
    preview = preview_placement(sponsor=top, person=recruit)
    place_pending_placements(now=node(recruit).tank_deadline + dt.timedelta(seconds=1))
    assert spot(recruit) == (preview.parent_id, preview.position)


def test_hand_placement_refuses_what_the_sponsor_may_not_do(placement_plan):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    left = join(top)
    below_left = join(top)
    placement_plan(kind="binary", rule="breadth_first")
    right = join(top)
    assert (spot(left), spot(below_left), spot(right)) == (
        (top.pk, 0),
        (left.pk, 0),
        (top.pk, 1),
    )
    tank_plan(placement_plan)
    mine = join(left)
    theirs = join(right)

    with pytest.raises(PlacementError, match="not your recruit"):
        place_by_hand(sponsor=left, person=theirs, parent=left, position=1, by=None)
    with pytest.raises(PlacementError, match="not in your placement downline"):
        place_by_hand(sponsor=left, person=mine, parent=right, position=0, by=None)
    with pytest.raises(PlacementError, match="not in your placement downline"):
        place_by_hand(sponsor=left, person=mine, parent=top, position=0, by=None)
    with pytest.raises(PlacementError, match="left position under .* is taken"):
        place_by_hand(sponsor=left, person=mine, parent=left, position=0, by=None)
    with pytest.raises(PlacementError, match="no position 2"):
        place_by_hand(sponsor=left, person=mine, parent=left, position=2, by=None)
    place_by_hand(sponsor=left, person=mine, parent=left, position=1, by=None)
    assert spot(mine) == (left.pk, 1)
    with pytest.raises(PlacementError, match="already placed"):
        place_by_hand(sponsor=left, person=mine, parent=below_left, position=0, by=None)
    assert_consistent()


def test_a_sponsors_own_rule_applies_to_their_waiting_recruits_where_allowed(placement_plan):
    tank_plan(placement_plan, sponsor_may_choose=True)
    top = house()
    recruit = join(top)
    assert node(recruit).placed_at is None
    choose_sponsor_rule(sponsor=top, rule="outermost_right")
    place_pending_placements()
    assert spot(recruit) == (top.pk, 1)
    placement_plan(kind="binary", rule="outermost_left")
    with pytest.raises(PlacementError, match="does not let sponsors choose"):
        choose_sponsor_rule(sponsor=top, rule="outermost_right")


def test_a_new_recruit_of_a_sponsor_with_their_own_rule_skips_the_tank(placement_plan):
    tank_plan(placement_plan, sponsor_may_choose=True)
    top = house()
    choose_sponsor_rule(sponsor=top, rule="outermost_right")
    sponsor = Distributor.objects.get(pk=top.pk)
    recruit = join(sponsor)  # entered with the sponsor's rule: placed by the next batch
    assert node(recruit).tank_deadline is None
    assert spot(recruit) == (top.pk, 1)
    tank_plan(placement_plan, sponsor_may_choose=False)  # the company withdraws the choice
    waits = join(sponsor)
    assert node(waits).placed_at is None and node(waits).tank_deadline is not None


def test_the_minute_beat_task_places_tank_entries_past_their_deadline(placement_plan):
    from django_celery_beat.models import PeriodicTask

    from genealogy.tasks import place_pending_distributors_task

    tank_plan(placement_plan, tank_days=0)  # due at once: the deadline is the moment of entry
    recruit = join(house(), place=False)
    outcome = place_pending_distributors_task.apply(throw=True).get()
    assert (outcome["placement_placed"], outcome["placement_method"]) == (1, "placed")
    assert node(recruit).placed_at is not None
    again = place_pending_distributors_task.apply(throw=True).get()
    assert (again["placement_placed"], again["placement_method"]) == (0, "none")
    # The task beat already runs every minute (genealogy migration 0003) carries the tank.
    assert PeriodicTask.objects.filter(task="genealogy.place_pending_distributors").exists()
