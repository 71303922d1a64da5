"""Plan simulations in the background: the admin's request, the Celery task's run, the result
kept as JSON for the page and the CSV.

``simulation_request`` records a queued ``PlanSimulation`` and its task in one transaction (the
outbox publishes the task after commit); asking again while the same version and month is
queued or running returns that one (a partial unique constraint holds the line).
``simulation_run`` is what the task calls, and is safe to call twice: a done or failed
simulation is returned as it is; a running one whose worker is alive (it holds the
simulation's advisory lock) is left alone; a running one whose worker died (the lock went with
its connection: a redelivered task) starts over. A refused simulation (``CommissionError``:
the month is not closed, the run's people do not match; or a plan that does not validate)
stores the message to show; any other error stores its type and message and is raised again,
for the worker's log.
"""

from __future__ import annotations

import hashlib

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.locks import try_advisory_lock
from core.periods import Period

from ..engine import PlanValidationError
from ..errors import CommissionError
from ..models import (
    ACTIVE_SIMULATION_STATUSES,
    PlanSimulation,
    PlanVersion,
    SimulationStatus,
)
from .simulate import closed_period_row, simulate, simulation_as_json

# Advisory lock key: this namespace in the high bits, the simulation id below (the one-bigint
# form, whose keys never meet the (class, yyyymm) pairs of runs and closes).
SIMULATION_LOCK_CLASS = 0x1ADE
ERROR_LENGTH = 2000


def plan_document_hash(version: PlanVersion) -> str:
    """sha256 of the version's plan document (a draft edited since a simulation differs)."""
    return hashlib.sha256(version.document_json.encode()).hexdigest()


def simulation_request(
    *, plan_version: PlanVersion, period: Period, by=None
) -> tuple[PlanSimulation, bool]:
    """Queue a simulation of ``plan_version`` on closed ``period`` (``CommissionError`` when
    it is not closed), or return the identical one already queued or running. Returns the
    simulation and whether it is new."""
    from outbox.services import enqueue

    from ..tasks import simulate_plan_task

    row = closed_period_row(period)
    with transaction.atomic():
        active = _active(plan_version, row.pk)
        if active is not None:
            return active, False
        try:
            with transaction.atomic():
                simulation = PlanSimulation.objects.create(
                    plan_version=plan_version, period=row, requested_by=by
                )
        except IntegrityError:  # a concurrent request created it first
            active = _active(plan_version, row.pk)
            if active is None:
                raise
            return active, False
        enqueue(
            simulate_plan_task,
            args=[simulation.pk],
            idempotency_key=f"commissions.simulation:{simulation.pk}",
        )
    return simulation, True


def _active(plan_version: PlanVersion, period_id: int) -> PlanSimulation | None:
    return PlanSimulation.objects.filter(
        plan_version=plan_version, period_id=period_id, status__in=ACTIVE_SIMULATION_STATUSES
    ).first()


def simulation_run(*, simulation_id: int) -> PlanSimulation | None:
    """Run a queued simulation and store its result (the task's work); see the module. None
    when there is no such simulation (its plan version was deleted since)."""
    if connection.in_atomic_block:
        raise CommissionError(
            "simulation_run reports progress as it goes: call it outside a transaction"
        )
    with try_advisory_lock(SIMULATION_LOCK_CLASS, simulation_id) as granted:
        simulation = (
            PlanSimulation.objects.select_related("plan_version", "period")
            .filter(pk=simulation_id)
            .first()
        )
        if simulation is None or not granted or not simulation.is_active:
            return simulation  # another worker has it, or the work is done
        version = simulation.plan_version
        simulation.status = SimulationStatus.RUNNING
        simulation.started_at, simulation.finished_at = timezone.now(), None
        simulation.progress, simulation.phase, simulation.error = 0, "Starting", ""
        simulation.plan_hash = plan_document_hash(version)
        simulation.result = {}
        simulation.save()

        def progress(percent: int, phase: str) -> None:
            PlanSimulation.objects.filter(pk=simulation_id).update(progress=percent, phase=phase)

        try:
            result = simulate(version, simulation.period.period, progress=progress)
        except CommissionError as error:
            return simulation_fail(simulation_id=simulation_id, error=str(error))
        except PlanValidationError as error:  # a draft stored before today's rules
            return simulation_fail(
                simulation_id=simulation_id, error=f"The plan does not validate: {error}"
            )
        except SoftTimeLimitExceeded:
            minutes = settings.CELERY_TASK_SOFT_TIME_LIMIT // 60
            simulation_fail(
                simulation_id=simulation_id,
                error=f"The simulation took longer than the time limit ({minutes} min) and "
                "was stopped.",
            )
            raise
        except Exception as error:
            # Not BaseException: a worker shut down mid-way leaves it running, and the
            # redelivered task starts it over.
            simulation_fail(
                simulation_id=simulation_id,
                error=f"The simulation stopped on an unexpected error: "
                f"{type(error).__name__}: {error}",
            )
            raise
        PlanSimulation.objects.filter(pk=simulation_id).update(
            status=SimulationStatus.DONE,
            progress=100,
            phase="Done",
            result=simulation_as_json(result),
            finished_at=timezone.now(),
        )
    simulation.refresh_from_db()
    return simulation


def simulation_fail(*, simulation_id: int, error: str) -> PlanSimulation:
    """Mark a queued or running simulation failed with ``error`` (the message to show)."""
    PlanSimulation.objects.filter(pk=simulation_id, status__in=ACTIVE_SIMULATION_STATUSES).update(
        status=SimulationStatus.FAILED,
        error=error[:ERROR_LENGTH] or "The simulation failed.",
        finished_at=timezone.now(),
    )
    return PlanSimulation.objects.get(pk=simulation_id)
