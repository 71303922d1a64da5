"""Each placement rule on small hand-built binary trees and matrices of width 3."""

from __future__ import annotations

import pytest

from genealogy.models import Placement
from genealogy.placement.services import place_pending_placements
from tests.factories import house

from .helpers import assert_consistent, inside, join, node, spot

pytestmark = pytest.mark.django_db


def test_outermost_left_goes_to_the_bottom_of_the_sponsors_left_leg(placement_plan):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    a = join(top)
    b = join(top)
    c = join(a)  # a's recruit: below a, at the bottom of a's left leg (b is there already)
    assert spot(a) == (top.pk, 0)
    assert spot(b) == (a.pk, 0)
    assert spot(c) == (b.pk, 0)
    assert node(c).level == 3
    assert node(c).outer_left_top == top.pk
    assert_consistent()


def test_outermost_right_in_a_matrix_uses_the_last_position(placement_plan):
    placement_plan(kind="matrix", width=3, rule="outermost_right")
    top = house()
    a = join(top)
    b = join(top)
    assert spot(a) == (top.pk, 2)
    assert spot(b) == (a.pk, 2)
    assert node(b).outer_right_top == top.pk and node(b).outer_left_top == b.pk
    assert_consistent()


def test_weaker_leg_by_people_fills_an_empty_leg_first_then_the_smaller_leg_outside(
    placement_plan,
):
    placement_plan(kind="binary", rule="weaker_leg_people")
    top = house()
    a = join(top)  # both legs empty: left first
    b = join(top)  # right leg empty: weakest
    assert (spot(a), spot(b)) == ((top.pk, 0), (top.pk, 1))
    c = join(top)  # 1 vs 1: a tie goes left, to the outside of the left leg
    assert spot(c) == (a.pk, 0)
    d = join(top)  # left 2, right 1: the right leg, at its outer-right bottom
    assert spot(d) == (b.pk, 1)
    e = join(top)  # 2 vs 2: left again, below c
    assert spot(e) == (c.pk, 0)
    assert_consistent()


def test_weaker_leg_by_volume_asks_the_volume_reader_and_falls_back_to_people(placement_plan):
    from genealogy import policy as genealogy_policy

    placement_plan(kind="binary", rule="weaker_leg_volume")
    top = house()
    a = join(top)
    b = join(top)
    heavy = {node(a).lft}  # the left leg has the volume
    previous = genealogy_policy._leg_volume_reader

    def reader(legs, at):
        return [100 if low in heavy else 5 for low, _ in legs]

    genealogy_policy.register_leg_volume_reader(reader)
    try:
        c = join(top)  # less volume on the right, though the legs hold as many people
        assert spot(c) == (b.pk, 1)
        heavy.clear()
        heavy.add(node(b).lft)
        d = join(top)
        assert spot(d) == (a.pk, 0)
        genealogy_policy.register_leg_volume_reader(lambda legs, at: [7 for _ in legs])
        e = join(top)  # equal volumes: fewer people (left 2, right 2: a tie goes left)
        assert spot(e) == (d.pk, 0)
    finally:
        genealogy_policy.register_leg_volume_reader(previous)
    genealogy_policy.register_leg_volume_reader(None)
    try:
        f = join(top)  # no reader: people (left 3, right 2)
        assert spot(f) == (c.pk, 1)
    finally:
        genealogy_policy.register_leg_volume_reader(previous)
    assert_consistent()


def test_alternate_goes_left_right_left_over_the_sponsors_own_recruits(placement_plan):
    placement_plan(kind="binary", rule="alternate")
    top = house()
    a, b, c, d = (join(top) for _ in range(4))
    assert [spot(p) for p in (a, b, c, d)] == [
        (top.pk, 0),
        (top.pk, 1),
        (a.pk, 0),
        (b.pk, 1),
    ]
    # a's own count starts at zero, whoever else is in a's leg.
    e = join(a)
    assert spot(e) == (c.pk, 0)
    assert_consistent()


def test_breadth_first_fills_a_matrix_level_by_level_left_to_right(placement_plan):
    placement_plan(kind="matrix", width=3, rule="breadth_first")
    top = house()
    first = [join(top) for _ in range(3)]
    assert [spot(p) for p in first] == [(top.pk, 0), (top.pk, 1), (top.pk, 2)]
    second = [join(top) for _ in range(4)]
    assert [spot(p) for p in second] == [
        (first[0].pk, 0),
        (first[0].pk, 1),
        (first[0].pk, 2),
        (first[1].pk, 0),
    ]
    assert_consistent()


def test_spillover_stays_in_the_sponsors_downline(placement_plan):
    placement_plan(kind="matrix", width=3, rule="breadth_first")
    top = house()
    first = [join(top) for _ in range(3)]
    sponsor = first[1]
    # The sponsor's own line fills first, then spills below their first recruit.
    recruits = [join(sponsor) for _ in range(5)]
    assert [spot(p)[0] for p in recruits] == [sponsor.pk] * 3 + [recruits[0].pk] * 2
    assert all(inside(p, sponsor) for p in recruits)
    assert_consistent()


def test_one_batch_places_like_one_person_at_a_time(placement_plan):
    placement_plan(kind="matrix", width=3, rule="breadth_first")
    top = house()
    people = [join(top, place=False) for _ in range(13)]
    result = place_pending_placements()
    assert result.placed == 13
    parents = [spot(p)[0] for p in people]
    assert parents[:3] == [top.pk] * 3
    assert parents[3:12] == [people[i].pk for i in range(3) for _ in range(3)]
    assert parents[12] == people[3].pk
    assert_consistent()


@pytest.mark.parametrize(
    "rule", ["outermost_left", "outermost_right", "weaker_leg_people", "alternate", "breadth_first"]
)
def test_a_batch_with_sponsors_and_their_recruits_keeps_everyone_in_their_sponsors_downline(
    placement_plan, no_leg_volume, rule
):
    placement_plan(kind="binary", rule=rule)
    top = house()
    base = [join(top) for _ in range(6)]
    # A batch of new people, some sponsored by others in the same batch.
    waiting = []
    for index in range(24):
        sponsor = (base + waiting)[(index * 7) % (len(base) + len(waiting))]
        waiting.append(join(sponsor, place=False))
    result = place_pending_placements()
    assert result.placed == 24
    for person in waiting:
        assert inside(person, person.sponsor)
    assert Placement.objects.filter(placed_at__isnull=True).count() == 0
    assert_consistent()
