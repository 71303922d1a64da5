"""A real task through real Redis, executed by a real worker process started here."""

import uuid

import pytest
from django.conf import settings

from genealogy.models import Distributor
from genealogy.tasks import place_pending_distributors_task
from tests.celery_worker import start_worker, stop_worker
from tests.factories import make_distributor

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_queue():
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the Celery round-trip test needs CELERY_BROKER_URL or REDIS_URL on Redis")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue)
    yield queue
    stop_worker(worker)


def test_task_sent_through_redis_is_executed_by_a_real_worker(worker_queue):
    newcomer = make_distributor(place=False)
    assert not Distributor.objects.get(pk=newcomer.pk).is_placed

    result = place_pending_distributors_task.apply_async(queue=worker_queue)
    outcome = result.get(timeout=60)

    assert outcome["placed"] >= 1
    assert Distributor.objects.get(pk=newcomer.pk).is_placed
