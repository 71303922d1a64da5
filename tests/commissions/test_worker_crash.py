"""A worker killed with SIGKILL in the middle of a run changes nothing; the retry completes."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
from django.conf import settings

from commissions.models import CommissionLine, CommissionRun, DistributorResult
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from commissions.tasks import calculate_run_task
from genealogy.models import Distributor
from tests.celery_worker import start_worker, stop_worker
from tests.commissions.conftest import PERIOD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def wait_for(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail("timed out waiting for the worker")


def snapshot(run_id: int) -> tuple[list, list]:
    lines = list(
        CommissionLine.objects.filter(run_id=run_id)
        .order_by("position")
        .values_list("earner_id", "kind", "level", "base", "amount", "position")
    )
    results = list(
        DistributorResult.objects.filter(run_id=run_id)
        .order_by("distributor_id")
        .values_list("distributor_id", "period_total", "payable")
    )
    return lines, results


def test_killed_worker_leaves_previous_results_and_the_retry_has_no_duplicates(chain, plan_version):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("this test needs CELERY_BROKER_URL or REDIS_URL on Redis")
    previous = calculate_period(period=PERIOD)
    before = snapshot(previous.pk)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    row = period_row(PERIOD)
    run = CommissionRun.objects.create(period=row)

    # Given a worker that pauses between writing the results and making them current
    worker = start_worker(queue, LADDER_COMMISSIONS_PAUSE_BEFORE_SWAP="60")
    try:
        calculate_run_task.apply_async(args=[run.pk], queue=queue)
        wait_for(lambda: CommissionRun.objects.get(pk=run.pk).progress >= 90)
        assert DistributorResult.objects.filter(run=run).exists()  # half-written
        # When it is killed there
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()

    # Then the previous run is still current and untouched
    assert period_row(PERIOD).current_run_id == previous.pk
    assert snapshot(previous.pk) == before

    # And a retry on a new worker completes, with no duplicates
    retry_worker = start_worker(queue)
    try:
        outcome = calculate_run_task.apply_async(args=[run.pk], queue=queue).get(timeout=120)
    finally:
        stop_worker(retry_worker)
    assert outcome["status"] == "succeeded"
    assert period_row(PERIOD).current_run_id == run.pk
    lines, results = snapshot(run.pk)
    assert [line[:-1] for line in lines] == [line[:-1] for line in before[0]]
    assert results == before[1]
    assert len(results) == Distributor.objects.count()
    assert not DistributorResult.objects.filter(run=previous).exists()  # cleaned up
