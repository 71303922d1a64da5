"""Invariants under any sequence of sign-ups, batches, hand placements and staff moves."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy.models import Distributor, Placement, TreeChange, TreeChangeKind, TreeKind
from genealogy.placement.services import (
    PlacementError,
    move_placement,
    place_by_hand,
    place_pending_placements,
)
from tests.factories import UserFactory, house, make_distributor

from .helpers import assert_consistent

RULES = ["outermost_left", "outermost_right", "weaker_leg_people", "alternate", "breadth_first"]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.integers(0, 10_000), st.sampled_from(RULES)),
        st.tuples(st.just("tank"), st.integers(0, 10_000), st.just("")),
        st.tuples(st.just("batch"), st.just(0), st.just("")),
        st.tuples(st.just("hand"), st.integers(0, 10_000), st.integers(0, 10_000)),
        st.tuples(st.just("move"), st.integers(0, 10_000), st.integers(0, 10_000)),
    ),
    min_size=1,
    max_size=14,
)


@pytest.mark.django_db
@pytest.mark.parametrize("width", [2, 3])  # one tree kind per test: examples share the database
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPERATIONS)
def test_any_sequence_keeps_the_placement_tree_consistent(placement_plan, ops, width):
    kind = {"kind": "binary"} if width == 2 else {"kind": "matrix", "width": 3}
    staff = UserFactory(is_staff=True)
    for op, a, b in ops:
        people = list(Distributor.objects.order_by("id"))
        if op in ("join", "tank"):
            rule = b if op == "join" else "holding_tank"
            if width == 3 and rule in ("weaker_leg_people", "alternate"):
                rule = "breadth_first"
            placement_plan(**kind, rule=rule, auto_rule="breadth_first")
            make_distributor(sponsor=people[a % len(people)])
        elif op == "batch":
            place_pending_placements()
        elif op == "hand":
            waiting = list(
                Placement.objects.filter(placed_at__isnull=True).select_related("distributor")
            )
            if waiting:
                person = waiting[a % len(waiting)].distributor
                placed = list(Placement.objects.filter(placed_at__isnull=False))
                parent = placed[b % len(placed)].distributor if placed else house()
                with contextlib.suppress(PlacementError):  # a parent outside their downline
                    place_by_hand(
                        sponsor=person.sponsor, person=person, parent=parent, position=None, by=None
                    )
        elif op == "move":
            placed = list(Placement.objects.filter(placed_at__isnull=False).order_by("pk"))
            if len(placed) > 2:
                node = placed[a % len(placed)]
                target = placed[b % len(placed)]
                with contextlib.suppress(PlacementError):  # a loop, a taken position
                    move_placement(
                        distributor=node.distributor,
                        new_parent=target.distributor,
                        position=b % width,
                        reason="property test",
                        by=staff,
                    )
        assert_consistent()
    if not TreeChange.objects.filter(tree=TreeKind.PLACEMENT, kind=TreeChangeKind.MOVE).exists():
        # Without staff moves (in this or an earlier example: they share the database),
        # everyone placed is inside their sponsor's placement downline.
        for row in Placement.objects.filter(placed_at__isnull=False, parent__isnull=False):
            sponsor = Placement.objects.get(pk=row.distributor.sponsor_id)
            assert sponsor.lft < row.lft and row.rght < sponsor.rght
