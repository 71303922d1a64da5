"""A real task through real Redis, executed by a real worker process started here."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from genealogy.models import Distributor
from genealogy.tasks import place_pending_distributors_task
from tests.factories import make_distributor

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_queue():
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the Celery round-trip test needs CELERY_BROKER_URL or REDIS_URL on Redis")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--queues",
            queue,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield queue
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def test_task_sent_through_redis_is_executed_by_a_real_worker(worker_queue):
    newcomer = make_distributor(place=False)
    assert not Distributor.objects.get(pk=newcomer.pk).is_placed

    result = place_pending_distributors_task.apply_async(queue=worker_queue)
    outcome = result.get(timeout=60)

    assert outcome["placed"] >= 1
    assert Distributor.objects.get(pk=newcomer.pk).is_placed
