"""Staff moves of placement legs, and the integrity check catching corruptions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from genealogy.models import Placement, TreeChange, TreeChangeKind, TreeKind
from genealogy.placement.integrity import check_placement_tree
from genealogy.placement.services import PlacementError, move_placement
from tests.factories import UserFactory, house

from .helpers import assert_consistent, join, node, spot

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def outer_left_line(placement_plan, length):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    return top, [join(top) for _ in range(length)]


def test_a_move_takes_the_whole_leg_and_is_audited(placement_plan, staff):
    top, line = outer_left_line(placement_plan, 4)  # top > l0 > l1 > l2 > l3, all on the left
    placement_plan(kind="binary", rule="outermost_right")
    right = join(top)
    moved = move_placement(
        distributor=line[1], new_parent=right, position=0, reason="Wrong leg", by=staff
    )
    assert (moved.parent_id, moved.position, moved.level) == (right.pk, 0, 2)
    assert spot(line[2]) == (line[1].pk, 0) and node(line[3]).level == 4
    # The leg's outer-left run now starts at `right` (its new position-0 chain), not the house.
    assert {node(p).outer_left_top for p in line[1:]} == {right.pk}
    assert node(line[0]).downline_size == 0 and node(right).downline_size == 3
    assert node(top).downline_size == 5
    change = TreeChange.objects.get(tree=TreeKind.PLACEMENT, kind=TreeChangeKind.MOVE)
    assert (change.old_parent_id, change.old_position) == (line[0].pk, 0)
    assert (change.new_parent_id, change.new_position) == (right.pk, 0)
    assert (change.by_id, change.reason) == (staff.pk, "Wrong leg")
    assert_consistent()


def test_a_move_refuses_loops_taken_positions_the_root_and_no_reason(placement_plan, staff):
    top, line = outer_left_line(placement_plan, 3)
    with pytest.raises(PlacementError, match="loop"):
        move_placement(distributor=line[0], new_parent=line[2], position=1, reason="x", by=staff)
    with pytest.raises(PlacementError, match="taken"):
        move_placement(distributor=line[2], new_parent=top, position=0, reason="x", by=staff)
    with pytest.raises(PlacementError, match="house"):
        move_placement(distributor=top, new_parent=line[2], position=1, reason="x", by=staff)
    with pytest.raises(PlacementError, match="reason"):
        move_placement(distributor=line[2], new_parent=top, position=1, reason=" ", by=staff)
    with pytest.raises(PlacementError, match="Only staff"):
        move_placement(
            distributor=line[2], new_parent=top, position=1, reason="x", by=UserFactory()
        )
    with pytest.raises(PlacementError, match="future"):
        move_placement(
            distributor=line[2],
            new_parent=top,
            position=1,
            reason="x",
            by=staff,
            effective_at=timezone.now() + dt.timedelta(days=1),
        )
    assert not TreeChange.objects.filter(kind=TreeChangeKind.MOVE).exists()
    assert_consistent()


def test_a_backdated_move_records_its_effective_moment(placement_plan, staff):
    top, line = outer_left_line(placement_plan, 2)
    moment = timezone.now()  # after the placement, before the move is made
    move_placement(
        distributor=line[1],
        new_parent=top,
        position=1,
        reason="Placed on the wrong side",
        by=staff,
        effective_at=moment,
    )
    change = TreeChange.objects.get(tree=TreeKind.PLACEMENT, kind=TreeChangeKind.MOVE)
    assert change.effective_at == moment
    assert_consistent()


@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        ({"child_count": 2}, "child_count"),
        ({"descendants": 9}, "descendants"),
        ({"outer_left_top": 1}, "outer_left_top"),
        ({"position": 1}, "label order by position"),
        ({"level": 7}, "level"),
    ],
)
def test_the_integrity_check_catches_corruptions(placement_plan, corrupt, problem):
    top, line = outer_left_line(placement_plan, 3)
    placement_plan(kind="binary", rule="outermost_right")
    join(top)
    assert check_placement_tree().is_valid
    target = line[1]
    if "outer_left_top" in corrupt:
        corrupt = {"outer_left_top": target.pk + 10_000}
    if "position" in corrupt:
        # Swap the house's two legs' positions: labels no longer follow positions.
        right = Placement.objects.get(parent_id=top.pk, position=1)
        Placement.objects.filter(pk=right.pk).update(position=None)
        Placement.objects.filter(pk=line[0].pk).update(position=1)
        Placement.objects.filter(pk=right.pk).update(position=0)
        corrupt = {}
    Placement.objects.filter(pk=target.pk).update(**corrupt)
    report = check_placement_tree()
    assert not report.is_valid
    assert any(problem in p.description for p in report.problems), report.problems


def test_someone_neither_placed_nor_waiting_is_reported(placement_plan):
    outer_left_line(placement_plan, 2)
    loose = join(house(), place=False)
    Placement.objects.filter(pk=loose.pk).delete()
    report = check_placement_tree()
    assert [p.description for p in report.problems] == ["neither placed nor waiting in the tank"]
    assert report.problems[0].examples == [loose.number]
