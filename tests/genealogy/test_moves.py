import contextlib

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy.models import Distributor, DistributorStatus, TreeChange, TreeChangeKind
from genealogy.services import (
    TreeMoveError,
    move_distributor,
    place_pending_distributors,
    terminate_distributor,
)
from tests.factories import (
    UserFactory,
    assert_tree_matches_sponsor_links,
    dense_numbering,
    house,
    make_chain,
    make_distributor,
    stored_numbering,
)

pytestmark = pytest.mark.django_db


def fresh(distributor: Distributor) -> Distributor:
    return Distributor.objects.get(pk=distributor.pk)


def mptt_rebuild_numbering() -> dict:
    """What django-mptt's own rebuild() computes from the parent links (rolled back): dense
    numbers, siblings in their current lft order, so it equals the ranked stored labels."""
    with transaction.atomic():
        Distributor.objects.rebuild()
        numbering = stored_numbering()
        transaction.set_rollback(True)
    return numbering


# --- Moves ------------------------------------------------------------------------------------


def test_moving_a_leg_renumbers_it_under_the_new_sponsor_and_records_who_and_why():
    # Given two legs under the house
    staff = UserFactory(is_staff=True)
    left_leg = make_chain(3)
    right = make_distributor()
    # When the middle of the left leg moves under the right leg
    moved = move_distributor(
        distributor=left_leg[1], new_sponsor=right, reason="Wrong sponsor at sign-up", by=staff
    )
    # Then the person and their downline sit under the new sponsor, with levels adjusted
    assert moved.sponsor_id == right.pk and moved.parent_id == right.pk
    assert moved.level == 2 and fresh(left_leg[2]).level == 3
    assert fresh(right).downline_size == 2 and fresh(left_leg[0]).downline_size == 0
    assert_tree_matches_sponsor_links()
    change = TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).get()
    assert (change.kind, change.by, change.reason) == (
        TreeChangeKind.MOVE,
        staff,
        "Wrong sponsor at sign-up",
    )
    assert (change.old_parent_id, change.new_parent_id) == (left_leg[0].pk, right.pk)


def test_a_moved_leg_goes_last_among_the_new_sponsors_children():
    sponsor = make_distributor()
    first, second = make_distributor(sponsor=sponsor), make_distributor()
    third = make_distributor(sponsor=sponsor)
    make_distributor(sponsor=second)
    # `second` has an id between the new sponsor's two children: it still goes after them
    move_distributor(distributor=second, new_sponsor=sponsor, reason="merge", by=None)
    assert fresh(first).rght < fresh(third).lft < fresh(third).rght < fresh(second).lft
    assert [c.pk for c in fresh(sponsor).get_children()] == [first.pk, third.pk, second.pk]
    assert fresh(sponsor).downline_size == 4
    assert_tree_matches_sponsor_links()


@pytest.mark.parametrize("direction", ["left", "right"])
def test_moves_in_both_directions_keep_the_numbering(direction):
    a, b = make_chain(3), make_chain(3)
    node, target = (b[1], a[2]) if direction == "left" else (a[1], b[2])
    move_distributor(distributor=node, new_sponsor=target, reason="test", by=None)
    assert_tree_matches_sponsor_links()
    assert mptt_rebuild_numbering() == dense_numbering()


def test_moving_up_to_an_ancestor_is_allowed():
    chain = make_chain(4)
    move_distributor(distributor=chain[3], new_sponsor=chain[0], reason="up", by=None)
    assert fresh(chain[3]).level == 2
    assert_tree_matches_sponsor_links()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("into_own_downline", "in the downline"),
        ("self", "own sponsor"),
        ("terminated_sponsor", "terminated"),
        ("blank_reason", "reason"),
        ("house", "house"),
        ("waiting_person", "waiting for placement"),
        ("waiting_sponsor", "waiting for placement"),
        ("same_sponsor", "already sponsored"),
    ],
)
def test_moves_that_make_no_sense_are_refused_with_a_reason(case, message):
    chain = make_chain(3)
    other = make_distributor()
    node, target, reason = chain[0], other, "because"
    if case == "into_own_downline":
        target = chain[2]
    elif case == "self":
        target = node
    elif case == "terminated_sponsor":
        Distributor.objects.filter(pk=other.pk).update(status=DistributorStatus.TERMINATED)
    elif case == "blank_reason":
        reason = "   "
    elif case == "house":
        node = house()
    elif case == "waiting_person":
        node = make_distributor(place=False)
    elif case == "waiting_sponsor":
        target = make_distributor(place=False)
    elif case == "same_sponsor":
        target = house()
    before = stored_numbering()
    with pytest.raises(TreeMoveError, match=message):
        move_distributor(distributor=node, new_sponsor=target, reason=reason, by=None)
    assert stored_numbering() == before
    assert not TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).exists()


@st.composite
def trees_and_moves(draw):
    size = draw(st.integers(min_value=2, max_value=14))
    sponsors = [draw(st.integers(min_value=0, max_value=i)) for i in range(size)]
    moves = draw(
        st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, size)), min_size=1, max_size=8)
    )
    return sponsors, moves


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(trees_and_moves())
def test_random_moves_keep_the_numbering_equal_to_the_sponsor_links(case):
    sponsors, moves = case
    with transaction.atomic():
        # Given a random tree (index 0 in `sponsors` means the house)
        people = [house()]
        for sponsor_index in sponsors:
            people.append(make_distributor(sponsor=people[sponsor_index], place=False))
        place_pending_distributors()
        # When random moves run (the ones that make sense)
        for node_index, target_index in moves:
            node, target = people[node_index + 1], people[target_index]
            with contextlib.suppress(TreeMoveError):
                move_distributor(
                    distributor=fresh(node), new_sponsor=fresh(target), reason="x", by=None
                )
            # Then the numbering is the one the sponsor links give, and mptt's own rebuild agrees
            assert_tree_matches_sponsor_links()
        assert mptt_rebuild_numbering() == dense_numbering()
        transaction.set_rollback(True)


# --- The audit is append-only ----------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigger is PostgreSQL only")
@pytest.mark.parametrize("statement", ["update", "delete"])
def test_tree_changes_cannot_be_updated_or_deleted(statement):
    a, b = make_distributor(), make_distributor()
    move_distributor(distributor=a, new_sponsor=b, reason="audit", by=None)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        if statement == "update":
            TreeChange.objects.update(reason="rewritten")
        else:
            TreeChange.objects.all().delete()
    assert TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).get().reason == "audit"


# --- Terminations ----------------------------------------------------------------------------


def test_termination_without_roll_up_keeps_the_team_in_place():
    staff = UserFactory(is_staff=True)
    chain = make_chain(3)
    before = stored_numbering()
    person = terminate_distributor(
        distributor=chain[1], roll_up_recruits=False, reason="Policy breach", by=staff
    )
    assert person.status == DistributorStatus.TERMINATED
    assert stored_numbering() == before
    change = TreeChange.objects.exclude(kind=TreeChangeKind.ENROLLMENT).get()
    assert change.kind == TreeChangeKind.TERMINATION and change.by == staff


@pytest.mark.parametrize("recruits", [3, 22])
def test_roll_up_gives_the_recruits_and_their_legs_to_the_sponsor(recruits):
    # Given a person with recruits, some with their own team, and one still waiting
    upline = make_distributor()
    person = make_distributor(sponsor=upline)
    team = [make_distributor(sponsor=person, place=False) for _ in range(recruits)]
    grandchild = make_distributor(sponsor=team[0], place=False)
    place_pending_distributors()
    waiting = make_distributor(sponsor=person, place=False)
    # When the person is terminated with roll-up
    terminate_distributor(distributor=person, roll_up_recruits=True, reason="left", by=None)
    # Then every recruit now has the upline as sponsor, and the tree still matches the links
    assert set(Distributor.objects.filter(sponsor=upline).values_list("pk", flat=True)) == {
        person.pk,
        *(t.pk for t in team),
        waiting.pk,
    }
    assert fresh(grandchild).sponsor_id == team[0].pk
    assert fresh(person).status == DistributorStatus.TERMINATED
    assert_tree_matches_sponsor_links()
    assert mptt_rebuild_numbering() == dense_numbering()
    assert TreeChange.objects.filter(kind=TreeChangeKind.TERMINATE_ROLLUP).count() == recruits + 1
    assert TreeChange.objects.filter(kind=TreeChangeKind.TERMINATION).count() == 1
    place_pending_distributors()
    assert fresh(waiting).parent_id == upline.pk
    assert_tree_matches_sponsor_links()


def test_roll_up_skips_a_terminated_sponsor():
    chain = make_chain(3)
    terminate_distributor(distributor=chain[0], roll_up_recruits=False, reason="x", by=None)
    terminate_distributor(distributor=chain[1], roll_up_recruits=True, reason="x", by=None)
    assert fresh(chain[2]).sponsor_id == house().pk
    assert_tree_matches_sponsor_links()


@pytest.mark.parametrize("case", ["house", "already", "blank"])
def test_terminations_that_make_no_sense_are_refused(case):
    person = make_distributor()
    reason = "x"
    if case == "house":
        person = house()
    elif case == "already":
        terminate_distributor(distributor=person, roll_up_recruits=False, reason="x", by=None)
    else:
        reason = ""
    count = TreeChange.objects.count()
    with pytest.raises(TreeMoveError):
        terminate_distributor(distributor=person, roll_up_recruits=True, reason=reason, by=None)
    assert TreeChange.objects.count() == count


def test_saving_a_stale_copy_does_not_undo_a_move():
    """Bug: Distributor.save() wrote the sponsor from memory, so any later save of a copy
    loaded before a move put the old sponsor back (and left the tree out of step)."""
    person, target = make_distributor(), make_distributor()
    stale = fresh(person)
    move_distributor(distributor=person, new_sponsor=target, reason="move", by=None)
    stale.phone = "555"
    stale.save()
    assert fresh(person).sponsor_id == target.pk and fresh(person).phone == "555"
    assert_tree_matches_sponsor_links()
