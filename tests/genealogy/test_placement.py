import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from django.db import connection, transaction
from django_celery_beat.models import PeriodicTask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.celery import app as celery_app
from genealogy.models import COMPANY_TREE_ID, Distributor, DistributorStatus
from genealogy.numbering import number_tree
from genealogy.services import (
    TreeMoveError,
    create_distributor,
    move_distributor,
    place_pending_distributors,
    renumber_tree,
    terminate_distributor,
)
from outbox.models import OutboxStatus, OutboxTask
from tests.factories import (
    UserFactory,
    assert_tree_matches_sponsor_links,
    house,
    make_distributor,
    stored_numbering,
)

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def fresh(distributor: Distributor) -> Distributor:
    return Distributor.objects.get(pk=distributor.pk)


# --- Batches ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_places_waiting_people_under_waiting_sponsors():
    sponsor = make_distributor(place=False)
    below = make_distributor(sponsor=sponsor, place=False)
    result = place_pending_distributors()
    assert (result.placed, result.method) == (2, "labels")
    assert fresh(below).parent_id == sponsor.pk and fresh(below).level == 2
    assert_tree_matches_sponsor_links()


@pytest.mark.django_db
def test_placement_with_nobody_waiting_does_nothing():
    make_distributor()
    assert place_pending_distributors().method == "none"


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.integers(0, 10_000)),
        st.tuples(st.just("place"), st.just(0)),
        st.tuples(st.just("move"), st.tuples(st.integers(0, 10_000), st.integers(0, 10_000))),
        st.tuples(st.just("terminate"), st.tuples(st.integers(0, 10_000), st.booleans())),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.django_db
@HYPOTHESIS
@given(OPERATIONS)
def test_any_sequence_of_sign_ups_placements_moves_and_terminations_keeps_the_numbering(ops):
    """Sponsors may themselves still be waiting; after the last placement everything matches."""
    with transaction.atomic():
        people = [house()]
        for op, arg in ops:
            if op == "join":
                sponsor = fresh(people[arg % len(people)])
                people.append(make_distributor(sponsor=sponsor, place=False))
            elif op == "place":
                place_pending_distributors()
            elif op == "move":
                node, target = (fresh(people[i % len(people)]) for i in arg)
                with contextlib.suppress(TreeMoveError):
                    move_distributor(distributor=node, new_sponsor=target, reason="r", by=None)
            else:
                person = fresh(people[arg[0] % len(people)])
                with contextlib.suppress(TreeMoveError):
                    terminate_distributor(
                        distributor=person, roll_up_recruits=arg[1], reason="r", by=None
                    )
            assert_tree_matches_sponsor_links()  # placed people, at every step
        place_pending_distributors()
        assert not Distributor.objects.filter(placed_at__isnull=True).exists()
        assert_tree_matches_sponsor_links()
        transaction.set_rollback(True)


@pytest.mark.django_db
@HYPOTHESIS
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=25), st.randoms())
def test_number_tree_equals_django_mptt_rebuild_on_random_trees(sponsor_draws, rnd):
    """mptt's rebuild() orders siblings by their current lft: give it id order, then compare."""
    with transaction.atomic():
        people = [house()]
        for draw in sponsor_draws:
            people.append(make_distributor(sponsor=people[draw % len(people)], place=False))
        # Scramble every tree field, keeping only the parent links and id order for siblings.
        rows = list(Distributor.objects.values_list("id", "sponsor_id"))
        for node_id, sponsor_id in rows:
            Distributor.objects.filter(pk=node_id).update(
                parent_id=sponsor_id,
                tree_id=COMPANY_TREE_ID,
                lft=node_id,
                rght=rnd.randint(1, 10**6),
                level=rnd.randint(0, 50),
            )
        Distributor.objects.rebuild()
        stored = {
            row[0]: row[1:] for row in Distributor.objects.values_list("id", "lft", "rght", "level")
        }
        ids = np.array([r[0] for r in rows])
        parents = np.array([-1 if r[1] is None else r[1] for r in rows])
        expected = number_tree(ids, parents)
        assert stored == {
            node: (lft, rght, level)
            for node, lft, rght, level in zip(
                expected.ids.tolist(),
                expected.lft.tolist(),
                expected.rght.tolist(),
                expected.level.tolist(),
                strict=True,
            )
        }
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_renumber_places_everyone_and_changes_nothing_when_run_twice():
    sponsor = make_distributor()
    make_distributor(sponsor=sponsor, place=False)
    first = renumber_tree()
    assert first.changed >= 1
    assert renumber_tree().changed == 0
    assert not Distributor.objects.filter(placed_at__isnull=True).exists()
    assert_tree_matches_sponsor_links()


# --- Concurrency (real PostgreSQL, real threads) ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_who_commits_after_a_younger_sibling_was_placed_goes_last():
    """Children are in placement order: a sign-up that commits late (with a smaller id) goes
    after the sibling placed before it, and the tree still nests as the sponsor links say."""
    sponsor = make_distributor()
    created, release = threading.Event(), threading.Event()
    older: list[int] = []

    def slow_sign_up() -> None:
        try:
            with transaction.atomic():
                user = UserFactory()
                older.append(create_distributor(user=user, sponsor=sponsor).pk)
                created.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_sign_up)
    thread.start()
    assert created.wait(timeout=30)
    younger = make_distributor(sponsor=sponsor)  # committed and placed first
    release.set()
    thread.join()
    place_pending_distributors()
    assert older[0] < younger.pk
    # Children are in placement order (by batch, then id within a batch).
    placed = Distributor.objects.filter(pk__in=[older[0], younger.pk])
    in_order = [d.pk for d in sorted(placed, key=lambda d: (d.placed_at, d.pk))]
    assert [c.pk for c in fresh(sponsor).get_children()] == in_order
    assert_tree_matches_sponsor_links()


@pytest.mark.django_db(transaction=True)
def test_sign_ups_during_placements_are_all_placed():
    # Given a small company
    sponsors = [make_distributor() for _ in range(3)]
    stop = threading.Event()

    def sign_up(index: int) -> int:
        try:
            sponsor = sponsors[index % len(sponsors)]
            user = UserFactory(email=f"during{index}@example.com")
            return create_distributor(user=user, sponsor=sponsor).pk
        finally:
            connection.close()

    def keep_placing() -> int:
        batches = 0
        try:
            while not stop.is_set():
                batches += place_pending_distributors().method == "labels"
        finally:
            connection.close()
        return batches

    # When 60 people sign up in threads while placements run in a loop
    with ThreadPoolExecutor(max_workers=6) as pool:
        placer = pool.submit(keep_placing)
        created = list(pool.map(sign_up, range(60)))
        stop.set()
        placer.result()
    place_pending_distributors()
    # Then nobody is lost and the tree matches the sponsor links
    assert Distributor.objects.filter(pk__in=created, placed_at__isnull=False).count() == 60
    assert_tree_matches_sponsor_links()
    assert fresh(house()).downline_size == 63


# --- Triggering -------------------------------------------------------------------------------


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.django_db
def test_sign_up_schedules_one_placement_after_commit(
    eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    from genealogy import services

    # A long window for the test, so that both sign-ups below surely fall in one.
    monkeypatch.setattr(services, "PLACEMENT_WINDOW_SECONDS", 60)
    placements = OutboxTask.objects.filter(task_name="genealogy.place_pending_distributors")
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.1)
    # Given a sign-up in a transaction: its placement task is written with it, not yet sent
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = make_distributor(place=False)
    assert placements.get().status == OutboxStatus.PENDING
    # When the transaction commits, the placement task runs (eagerly here) and places them
    for callback in callbacks:
        callback()
    assert fresh(first).is_placed
    assert placements.get().status == OutboxStatus.SENT
    # And a second sign-up within the same window does not queue another task
    with django_capture_on_commit_callbacks(execute=True):
        second = make_distributor(place=False)
    assert not fresh(second).is_placed
    assert placements.count() == 1


@pytest.mark.django_db
def test_beat_places_waiting_people_every_minute():
    task = PeriodicTask.objects.get(task="genealogy.place_pending_distributors")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "minutes")


@pytest.mark.django_db
def test_a_terminated_sponsors_waiting_recruit_is_still_placed():
    sponsor = make_distributor()
    recruit = make_distributor(sponsor=sponsor, place=False)
    Distributor.objects.filter(pk=sponsor.pk).update(status=DistributorStatus.TERMINATED)
    place_pending_distributors()
    assert fresh(recruit).parent_id == sponsor.pk
    assert stored_numbering()[recruit.pk][0] == sponsor.pk
