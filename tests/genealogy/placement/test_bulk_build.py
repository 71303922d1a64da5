"""The bulk builder of a whole binary placement tree (demo seed, benchmark) and the demo tank."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from genealogy.bulk_placement import (
    build_binary_placement,
    seed_holding_tank,
    seed_placement_tree,
)
from genealogy.demo import build_sponsor_links, seed_company
from genealogy.models import Distributor, Placement, TreeChange
from genealogy.numbering import depths
from genealogy.placement.integrity import check_placement_tree
from genealogy.placement.services import place_by_hand, preview_placement
from tests.factories import house

from .helpers import inside

pytestmark = pytest.mark.django_db

BINARY_TANK = {
    "kind": "binary",
    "rule": "holding_tank",
    "auto_rule": "weaker_leg_people",
    "tank_days": 7,
    "sponsor_may_choose": True,
}


def ancestors_reach(parent: np.ndarray, node: int, target: int) -> bool:
    current = parent[node]
    while current != -1 and current != target:
        current = parent[current]
    return current == target


def test_every_position_is_used_once_and_everyone_lands_under_their_sponsor():
    sponsor = np.r_[-1, build_sponsor_links(3_000, np.random.default_rng(5))]

    parent, position = build_binary_placement(sponsor)

    slots = parent[1:] * 2 + position[1:]
    assert len(np.unique(slots)) == len(slots)
    assert set(np.unique(position[1:]).tolist()) == {0, 1}
    assert parent[0] == -1 and position[0] == -1
    assert all(ancestors_reach(parent, i, int(sponsor[i])) for i in range(1, len(sponsor)))


def test_the_first_recruit_takes_the_sponsors_own_leg_and_later_ones_spill_over():
    # Given the root with three recruits, the first of whom has two recruits of their own
    placer = np.array([-1, 0, 0, 0, 1, 1])

    parent, position = build_binary_placement(placer)

    # The root's first two recruits take its legs; the third spills under the first, on the
    # side the first one's own recruits leave free
    assert (parent[1], position[1]) == (0, 0)
    assert (parent[2], position[2]) == (0, 1)
    assert (parent[3], position[3]) == (1, 1)
    # Node 1's first recruit takes its left leg; the second spills under the first
    assert (parent[4], position[4]) == (1, 0)
    assert (parent[5], position[5]) == (4, 0)


def test_a_big_recruiters_people_fill_a_few_levels_not_one_line():
    # Given one recruit of the root who enrolls 1,000 people who enroll nobody
    placer = np.r_[-1, 0, np.ones(1_000, dtype=np.int64)]

    parent, _ = build_binary_placement(placer)

    assert depths(parent).max() <= 12  # a line would be 1,001 deep


def test_an_order_key_decides_who_comes_first():
    placer = np.array([-1, 0, 1, 1])

    parent, position = build_binary_placement(placer, order_key=np.array([0, 0, 9, -1]))

    assert (parent[3], position[3]) == (1, 0)
    assert (parent[2], position[2]) == (3, 0)


def test_a_node_without_somewhere_to_go_is_refused():
    with pytest.raises(ValueError, match="placed under"):
        build_binary_placement(np.array([-1, 1]))


def test_the_demo_company_gets_a_valid_placement_tree_with_its_history(placement_plan):
    policy = placement_plan(**BINARY_TANK)
    house()
    seed_company(distributors=120, seed=3)

    built = seed_placement_tree()

    people = Distributor.objects.count()
    assert built.rows == people == Placement.objects.filter(placed_at__isnull=False).count()
    report = check_placement_tree(policy)
    assert report.is_valid, [(p.description, p.count) for p in report.problems]
    # Everyone is inside their sponsor's placement downline.
    labels = {row[0]: row[1:] for row in Placement.objects.values_list("pk", "lft", "rght")}
    for person, sponsor in Distributor.objects.filter(sponsor__isnull=False).values_list(
        "pk", "sponsor_id"
    ):
        assert labels[sponsor][0] < labels[person][0] < labels[person][1] < labels[sponsor][1]
    # One PLACEMENT row each, effective when the person joined.
    history = TreeChange.objects.filter(tree="placement", kind="placement")
    assert history.count() == people
    someone = Distributor.objects.filter(is_house=False).order_by("-pk").first()
    change = history.get(distributor=someone)
    assert change.effective_at == someone.created_at
    assert change.new_parent_id == Placement.objects.get(pk=someone.pk).parent_id
    # The house is in the tree from the first placement on, so every as-of tree has its root.
    first = Distributor.objects.filter(is_house=False).order_by("created_at").first()
    assert history.get(distributor__is_house=True).effective_at == first.created_at


def test_a_second_build_is_refused(placement_plan):
    placement_plan(**BINARY_TANK)
    house()
    seed_company(distributors=20, seed=1)
    seed_placement_tree()

    with pytest.raises(ValueError, match="already has a placement tree"):
        seed_placement_tree()


def test_tank_recruits_wait_for_their_sponsor_who_places_them_by_hand(placement_plan):
    policy = placement_plan(**BINARY_TANK)
    house()
    seed_company(distributors=40, seed=2)
    seed_placement_tree()
    leader = Distributor.objects.filter(level=1).order_by("pk").first()
    before = timezone.now()

    waiting = seed_holding_tank(
        recruits=[(leader, 3)], policy=policy, password_hash=make_password("x")
    )

    assert len(waiting) == 3
    rows = Placement.objects.filter(pk__in=[p.pk for p in waiting])
    assert all(not row.is_placed and row.rule == "holding_tank" for row in rows)
    assert all(row.tank_deadline >= before + dt.timedelta(days=7) for row in rows)
    assert all(
        p.sponsor_id == leader.pk and p.is_placed
        for p in Distributor.objects.filter(pk__in=[p.pk for p in waiting])
    )
    recruit = waiting[0]
    preview = preview_placement(sponsor=leader, person=recruit)
    place_by_hand(
        sponsor=leader,
        person=recruit,
        parent=Distributor.objects.get(pk=preview.parent_id),
        position=preview.position,
        by=leader.user,
    )
    assert inside(recruit, leader)
    assert check_placement_tree(policy).is_valid
