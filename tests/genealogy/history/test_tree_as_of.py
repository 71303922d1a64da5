"""The tree as of a moment: the present tree with later changes undone (tests/clock.Clock)."""

import datetime as dt
import random

import numpy as np
import pytest

from core.periods import Period
from genealogy.history import (
    HistoryError,
    record_change,
    sponsors_at,
    to_epoch_us,
    tree_as_of,
    validate_effective_moment,
)
from genealogy.models import Distributor, Placement, TreeChangeKind, TreeKind
from genealogy.services import TreeMoveError, move_distributor
from tests.factories import closed_period_with_results, house, make_distributor

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def parent_of(as_of, person) -> int | None:
    index = int(np.searchsorted(as_of.ids, person.pk))
    assert as_of.ids[index] == person.pk
    if not as_of.present[index]:
        return None
    return int(as_of.parent_ids[index])


def test_a_later_move_is_undone_and_a_later_recruit_is_not_there_yet(clock):
    # Given a and b under the house, c under a (February 1)
    a, b = make_distributor(), make_distributor()
    c = make_distributor(sponsor=a)
    # When c moves to b on February 10 and d joins on February 20
    clock.set(dt.datetime(2026, 2, 10, tzinfo=UTC))
    move_distributor(distributor=c, new_sponsor=b, reason="asked", by=None)
    clock.set(dt.datetime(2026, 2, 20, tzinfo=UTC))
    d = make_distributor(sponsor=c)
    # Then the tree of February 5 has c under a and no d; of February 15, c under b
    before = tree_as_of(TreeKind.SPONSOR, dt.datetime(2026, 2, 5, tzinfo=UTC))
    assert parent_of(before, c) == a.pk
    assert parent_of(before, a) == house().pk
    assert parent_of(before, d) is None
    d_index = int(np.searchsorted(before.ids, d.pk))
    assert before.arrival_parent_ids[d_index] == c.pk
    after = tree_as_of(TreeKind.SPONSOR, dt.datetime(2026, 2, 15, tzinfo=UTC))
    assert parent_of(after, c) == b.pk
    assert parent_of(after, d) is None
    now = tree_as_of(TreeKind.SPONSOR, dt.datetime(2026, 2, 21, tzinfo=UTC))
    assert parent_of(now, d) == c.pk
    # And before anyone joined, nobody but the house was there
    empty = tree_as_of(TreeKind.SPONSOR, dt.datetime(2026, 1, 1, tzinfo=UTC))
    assert parent_of(empty, a) is None and parent_of(empty, c) is None


def test_a_backdated_move_counts_from_its_effective_moment(clock):
    a, b = make_distributor(), make_distributor()
    c = make_distributor(sponsor=a)
    clock.set(dt.datetime(2026, 3, 10, tzinfo=UTC))
    move_distributor(
        distributor=c,
        new_sponsor=b,
        reason="agreed in March",
        by=None,
        effective_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
    )
    assert parent_of(tree_as_of("sponsor", dt.datetime(2026, 2, 28, tzinfo=UTC)), c) == a.pk
    assert parent_of(tree_as_of("sponsor", dt.datetime(2026, 3, 2, tzinfo=UTC)), c) == b.pk


def test_the_tree_as_of_each_moment_replays_the_history(clock):
    # Given a random company changed by random moves over two months
    rng = random.Random(7)
    people = [make_distributor()]
    snapshots = []
    for step in range(24):
        clock.advance(hours=rng.randint(1, 60))
        if len(people) < 4 or rng.random() < 0.5:
            people.append(make_distributor(sponsor=rng.choice(people)))
        else:
            mover = rng.choice(people)
            fresh = {d.pk: d for d in Distributor.objects.all()}
            targets = [
                p
                for p in people
                if p.pk != mover.pk
                and fresh[p.pk].pk != fresh[mover.pk].sponsor_id
                and not (fresh[mover.pk].lft <= fresh[p.pk].lft <= fresh[mover.pk].rght)
            ]
            if targets:
                move_distributor(
                    distributor=mover, new_sponsor=rng.choice(targets), reason="r", by=None
                )
        snapshots.append((clock.moment, dict(Distributor.objects.values_list("id", "sponsor_id"))))
        del step
    # Then the tree as of each moment is the tree as it was then
    for moment, links in snapshots:
        as_of = tree_as_of(TreeKind.SPONSOR, moment + dt.timedelta(seconds=1))
        seen = {
            int(i): (int(p) if p >= 0 else None)
            for i, p, there in zip(as_of.ids, as_of.parent_ids, as_of.present, strict=True)
            if there
        }
        assert seen == links


def test_sponsors_at_gives_each_line_the_sponsor_when_it_was_paid(clock):
    a, b = make_distributor(), make_distributor()
    c = make_distributor(sponsor=a)
    clock.set(dt.datetime(2026, 2, 10, tzinfo=UTC))
    move_distributor(distributor=c, new_sponsor=b, reason="asked", by=None)
    clock.set(dt.datetime(2026, 2, 20, tzinfo=UTC))
    move_distributor(distributor=c, new_sponsor=a, reason="back", by=None)
    moments = [
        dt.datetime(2026, 2, 5, tzinfo=UTC),  # under a
        dt.datetime(2026, 2, 15, tzinfo=UTC),  # under b
        dt.datetime(2026, 2, 25, tzinfo=UTC),  # under a again
        dt.datetime(2026, 2, 5, tzinfo=UTC),  # b had no change since: the present sponsor
        dt.datetime(2026, 1, 5, tzinfo=UTC),  # c had not joined: the sponsor they joined under
    ]
    buyers = np.array([c.pk, c.pk, c.pk, b.pk, c.pk])
    result = sponsors_at(buyers, np.array([to_epoch_us(m) for m in moments]))
    assert result.tolist() == [a.pk, b.pk, a.pk, house().pk, a.pk]
    assert sponsors_at(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


def test_sponsors_at_refuses_a_buyer_who_is_not_a_distributor(clock):
    make_distributor()
    with pytest.raises(HistoryError):
        sponsors_at(np.array([10**12]), np.array([to_epoch_us(clock.moment)]))


def test_placement_tree_as_of_undoes_a_later_placement_move(clock):
    # Given a placement tree: a at the top, b left and c right of it (February 1)
    a, b, c = make_distributor(), make_distributor(), make_distributor()
    placed = clock.moment
    top = Placement.objects.create(distributor=a, lft=1, rght=6, level=0, placed_at=placed)
    Placement.objects.create(
        distributor=b, parent=top, position=0, lft=2, rght=3, level=1, placed_at=placed
    )
    right = Placement.objects.create(
        distributor=c, parent=top, position=1, lft=4, rght=5, level=1, placed_at=placed
    )
    for person, parent, position in ((a, None, None), (b, a.pk, 0), (c, a.pk, 1)):
        record_change(
            tree=TreeKind.PLACEMENT,
            kind=TreeChangeKind.PLACEMENT,
            distributor_id=person.pk,
            new_parent_id=parent,
            new_position=position,
            effective_at=placed,
            reason="placed",
        )
    # When c moves under b (left) on February 10
    clock.set(dt.datetime(2026, 2, 10, tzinfo=UTC))
    Placement.objects.filter(pk=right.pk).update(parent=b.pk, position=0)
    record_change(
        tree=TreeKind.PLACEMENT,
        kind=TreeChangeKind.MOVE,
        distributor_id=c.pk,
        old_parent_id=a.pk,
        new_parent_id=b.pk,
        old_position=1,
        new_position=0,
        reason="staff move",
    )
    # Then as of February 5 c is a's right leg, as of February 11 b's left leg
    before = tree_as_of(TreeKind.PLACEMENT, dt.datetime(2026, 2, 5, tzinfo=UTC))
    index = int(np.searchsorted(before.ids, c.pk))
    assert (before.parent_ids[index], before.position[index]) == (a.pk, 1)
    after = tree_as_of(TreeKind.PLACEMENT, dt.datetime(2026, 2, 11, tzinfo=UTC))
    assert (after.parent_ids[index], after.position[index]) == (b.pk, 0)
    # And the sponsor tree is a separate history: no one moved there
    assert parent_of(tree_as_of(TreeKind.SPONSOR, clock.moment), c) == house().pk
    # And before the placement, nobody was in the placement tree; the house never was
    early = tree_as_of(TreeKind.PLACEMENT, dt.datetime(2026, 1, 5, tzinfo=UTC))
    assert not early.present[index]
    assert parent_of(after, house()) is None


def test_a_backdated_moment_must_be_in_an_open_period_in_the_past_after_the_latest_change(
    clock,
):

    a, b = make_distributor(), make_distributor()
    clock.set(dt.datetime(2026, 4, 20, 12, tzinfo=UTC))
    late = make_distributor()
    closed_period_with_results(dt.date(2026, 2, 1), {})
    in_march = dt.datetime(2026, 3, 15, tzinfo=UTC)
    # An open month: the periods from it to now are the ones the change touches
    periods = validate_effective_moment([a.pk], in_march, parent_ids=[b.pk])
    assert periods == [Period(2026, 3), Period(2026, 4)]
    # Refused: the future, a closed month, before the latest change, under someone not there yet
    with pytest.raises(HistoryError, match="future"):
        validate_effective_moment([a.pk], clock.moment + dt.timedelta(minutes=1))
    with pytest.raises(HistoryError, match="February 2026 is closed"):
        validate_effective_moment([a.pk], dt.datetime(2026, 2, 10, tzinfo=UTC))
    with pytest.raises(HistoryError, match="before it"):
        validate_effective_moment([late.pk], in_march)
    with pytest.raises(HistoryError, match="joined the tree only"):
        validate_effective_moment([a.pk], in_march, parent_ids=[late.pk])
    with pytest.raises(HistoryError, match="time zone"):
        validate_effective_moment([a.pk], dt.datetime(2026, 3, 15))  # noqa: DTZ001


def test_move_distributor_refuses_a_backdated_moment_in_a_closed_month(clock):

    a, b = make_distributor(), make_distributor()
    clock.set(dt.datetime(2026, 3, 20, tzinfo=UTC))
    closed_period_with_results(dt.date(2026, 2, 1), {})
    with pytest.raises(TreeMoveError, match="closed"):
        move_distributor(
            distributor=a,
            new_sponsor=b,
            reason="late",
            by=None,
            effective_at=dt.datetime(2026, 2, 27, tzinfo=UTC),
        )
    assert Distributor.objects.get(pk=a.pk).sponsor_id == house().pk


def test_a_backdated_move_under_someone_whose_line_moved_since_is_refused(clock):
    # Given y under x until March 10, when y moved to the house's other leg z
    x, z = make_distributor(), make_distributor()
    y = make_distributor(sponsor=x)
    clock.set(dt.datetime(2026, 3, 10, tzinfo=UTC))
    move_distributor(distributor=y, new_sponsor=z, reason="r", by=None)
    clock.set(dt.datetime(2026, 3, 20, tzinfo=UTC))
    # When x is moved under y backdated to March 5 (x was y's sponsor then: a loop)
    with pytest.raises(TreeMoveError, match="in the new upline"):
        move_distributor(
            distributor=x,
            new_sponsor=y,
            reason="r",
            by=None,
            effective_at=dt.datetime(2026, 3, 5, tzinfo=UTC),
        )
    # But from March 10 on the move is fine
    move_distributor(
        distributor=x,
        new_sponsor=y,
        reason="r",
        by=None,
        effective_at=dt.datetime(2026, 3, 11, tzinfo=UTC),
    )
    assert parent_of(tree_as_of("sponsor", dt.datetime(2026, 3, 12, tzinfo=UTC)), x) == y.pk
