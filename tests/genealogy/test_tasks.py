import threading

import pytest
from celery.exceptions import Retry
from django.db import connection, connections, transaction

from genealogy.services import TREE_LOCK_KEY
from genealogy.tasks import place_pending_distributors_task
from tests.factories import make_distributor

pytestmark = pytest.mark.django_db(transaction=True)


def test_placement_task_retries_soon_when_another_batch_holds_the_tree():
    newcomer = make_distributor(place=False)
    holding, release = threading.Event(), threading.Event()

    def hold_the_tree_lock():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TREE_LOCK_KEY])
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_tree_lock)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        with pytest.raises(Retry):
            place_pending_distributors_task.apply(throw=True)
    finally:
        release.set()
        holder.join()

    outcome = place_pending_distributors_task.apply(throw=True).get()
    assert outcome["placed"] == 1
    newcomer.refresh_from_db()
    assert newcomer.is_placed
