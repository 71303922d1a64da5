"""Downline counts kept as waiting rows and folded later: exact at every moment, both trees."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from genealogy import downline_counts
from genealogy.labels import PLACEMENT_TREE, SPONSOR_TREE
from genealogy.models import Distributor, DownlineCountDelta, Placement, TreeKind
from genealogy.placement.services import move_placement
from genealogy.selectors import prime_downline_sizes
from genealogy.services import TREE_LOCK_KEY, fold_downline_counts, move_distributor
from genealogy.tasks import fold_downline_counts_task
from tests.factories import UserFactory, house, make_distributor

from .helpers import assert_consistent, join

pytestmark = pytest.mark.django_db


def true_counts(model) -> dict[int, int]:
    """People below each placed node, counted from the labels (not from any stored count)."""
    rows = list(model.objects.filter(lft__isnull=False).values_list("pk", "lft", "rght"))
    if model is Distributor:
        rows = list(
            Distributor.objects.filter(placed_at__isnull=False).values_list("pk", "lft", "rght")
        )
    return {pk: sum(lft < other < rght for _, other, _ in rows) for pk, lft, rght in rows}


def shown_counts(model) -> dict[int, int]:
    nodes = list(model.objects.filter(lft__isnull=False, placed_at__isnull=False))
    prime_downline_sizes(nodes)
    return {node.pk: node.downline_size for node in nodes}


def stored_counts(model) -> dict[int, int]:
    return dict(
        model.objects.filter(lft__isnull=False, placed_at__isnull=False).values_list(
            "pk", "descendants"
        )
    )


def chain(length: int) -> list[Distributor]:
    people = [house()]
    for _ in range(length):
        people.append(make_distributor(sponsor=people[-1]))
    return people


def test_a_placement_writes_one_row_for_its_sponsor_not_one_per_upline():
    line = chain(12)
    fold_downline_counts()
    before = stored_counts(Distributor)
    waiting_before = DownlineCountDelta.objects.count()

    recruit = make_distributor(sponsor=line[-1])

    # The uplines' stored counts are untouched; one waiting row says "12 and above: +1".
    assert stored_counts(Distributor) == {**before, recruit.pk: 0}
    rows = list(DownlineCountDelta.objects.values_list("tree", "node_id", "delta"))
    assert len(rows) == waiting_before + 1 and rows[-1] == (TreeKind.SPONSOR, line[-1].pk, 1)
    # Yet every count a page reads is exact.
    assert shown_counts(Distributor) == true_counts(Distributor)
    assert Distributor.objects.get(pk=line[0].pk).downline_size == 13
    assert Distributor.objects.get(pk=line[0].pk).get_descendant_count() == 13


def test_the_fold_stores_the_counts_deletes_the_rows_and_finds_nothing_the_second_time():
    line = chain(6)
    for person in line[1:4]:
        make_distributor(sponsor=person)
    assert DownlineCountDelta.objects.exists()

    first = fold_downline_counts()

    assert (
        first.sponsor.rows > 0 and first.sponsor.counts_written == len(line) - 1
    )  # all but the leaf
    assert not DownlineCountDelta.objects.exists()
    assert stored_counts(Distributor) == true_counts(Distributor)
    again = fold_downline_counts()
    assert (again.sponsor.rows, again.sponsor.counts_written) == (0, 0)
    assert stored_counts(Distributor) == true_counts(Distributor)


def test_a_moved_leg_takes_its_waiting_rows_along_and_counts_stay_exact():
    staff = UserFactory(is_staff=True)
    top = house()
    left, right = make_distributor(sponsor=top), make_distributor(sponsor=top)
    fold_downline_counts()
    leg = make_distributor(sponsor=left)
    below_leg = [make_distributor(sponsor=leg) for _ in range(3)]  # waiting rows inside the leg
    make_distributor(sponsor=below_leg[0])
    assert DownlineCountDelta.objects.filter(node_id__in=[leg.pk, below_leg[0].pk]).exists()

    move_distributor(distributor=leg, new_sponsor=right, reason="Enrolled in error", by=staff)

    assert shown_counts(Distributor) == true_counts(Distributor)
    assert Distributor.objects.get(pk=left.pk).downline_size == 0
    assert Distributor.objects.get(pk=right.pk).downline_size == 5
    fold_downline_counts()
    assert stored_counts(Distributor) == true_counts(Distributor)


def test_the_placement_tree_keeps_exact_counts_through_batches_moves_and_folds(placement_plan):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    line = [join(top) for _ in range(6)]  # a left leg six deep
    placement_plan(kind="binary", rule="outermost_right")
    right = join(top)
    assert shown_counts(Placement) == true_counts(Placement)
    assert Placement.objects.get(pk=top.pk).downline_size == 7
    assert DownlineCountDelta.objects.filter(tree=TreeKind.PLACEMENT).exists()

    move_placement(
        distributor=line[2],
        new_parent=right,
        position=0,
        reason="Wrong leg",
        by=UserFactory(is_staff=True),
    )

    assert shown_counts(Placement) == true_counts(Placement)
    assert Placement.objects.get(pk=right.pk).downline_size == 4
    assert_consistent()  # the integrity check reads the waiting rows too
    fold_downline_counts()
    assert not DownlineCountDelta.objects.filter(tree=TreeKind.PLACEMENT).exists()
    assert stored_counts(Placement) == true_counts(Placement)
    assert_consistent()


def test_waiting_below_answers_many_nodes_in_one_query(django_assert_num_queries):
    line = chain(5)
    nodes = list(Distributor.objects.filter(pk__in=[p.pk for p in line]).order_by("level"))
    with django_assert_num_queries(1):
        prime_downline_sizes(nodes)
        sizes = [node.downline_size for node in nodes]
    assert sizes == [5, 4, 3, 2, 1, 0]


def test_a_full_rebuild_of_the_placement_tree_discards_the_waiting_rows():
    downline_counts.record(PLACEMENT_TREE, {123: 4})
    downline_counts.record(SPONSOR_TREE, {456: 1})

    downline_counts.discard(PLACEMENT_TREE)

    assert list(DownlineCountDelta.objects.values_list("tree", "node_id")) == [
        (TreeKind.SPONSOR, 456)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_fold_task_waits_for_a_batch_holding_the_tree_and_retries(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the writers' lock is a PostgreSQL advisory lock")
    line = chain(3)
    assert DownlineCountDelta.objects.filter(tree=TreeKind.SPONSOR).exists()
    params = connection.get_connection_params()
    other = psycopg.connect(
        **{k: v for k, v in params.items() if k in ("host", "port", "user", "dbname")},
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [TREE_LOCK_KEY])
        held = fold_downline_counts()
        assert held.locked and held.sponsor is None
        assert DownlineCountDelta.objects.filter(tree=TreeKind.SPONSOR).exists()
        with pytest.raises(Exception, match="Retry"):
            fold_downline_counts_task.apply(throw=True).get()
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", [TREE_LOCK_KEY])
        other.close()
    result = fold_downline_counts_task.apply(throw=True).get()
    assert result["sponsor_rows"] > 0
    assert Distributor.objects.get(pk=line[0].pk).descendants == 3
