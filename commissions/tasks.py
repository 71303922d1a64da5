"""Thin Celery tasks over the commission services; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.periods import Period

from .errors import CommissionError, RunInProgress
from .gather_week import week_row
from .models import CommissionRun, RunPurpose, Schedule
from .services.periods import period_row
from .services.runs import calculate_period, refresh_projection
from .services.simulations import simulation_run
from .services.weeks import calculate_week, current_week


@shared_task(name="commissions.calculate_run")
def calculate_run_task(run_id: int) -> dict:
    """Compute a queued run. A redelivery after success returns at once; after a crash the run
    deletes its own partial rows and starts over; a concurrent run is refused, not waited for."""
    run = CommissionRun.objects.select_related("period").get(pk=run_id)
    try:
        if run.period.schedule == Schedule.WEEKLY:
            run = calculate_week(week=run.period.period, run=run, by=run.requested_by)
        else:
            run = calculate_period(
                period=run.period.period, purpose=run.purpose, run=run, by=run.requested_by
            )
    except RunInProgress as refused:
        CommissionRun.objects.filter(pk=run_id, status="queued").update(
            status="failed", error=str(refused)
        )
        return {"run": run_id, "refused": str(refused)}
    return {"run": run.pk, "status": run.status, "input_hash": run.input_hash}


@shared_task(name="commissions.calculate_previous_month")
def calculate_previous_month_task() -> dict:
    """Beat, on the 1st: calculate the month that just ended (staff review and close it)."""
    period = Period.current(timezone.now()).previous()
    row = period_row(period)
    if row.is_locked:
        return {"period": str(period), "skipped": "closed"}
    run = calculate_period(period=period, purpose=RunPurpose.CALCULATION)
    return {"period": str(period), "run": run.pk}


@shared_task(name="commissions.calculate_previous_week")
def calculate_previous_week_task() -> dict:
    """Beat, daily: calculate the pay week that just ended, once (staff review and close it).
    Nothing to do when the plan in force pays nothing weekly."""
    try:
        week = current_week(timezone.now()).previous()
    except CommissionError as nothing:
        return {"skipped": str(nothing)}
    row = week_row(week)
    if row.is_locked or row.current_run_id is not None:
        return {"week": str(week), "skipped": "already calculated"}
    try:
        run = calculate_week(week=week)
    except (RunInProgress, CommissionError) as refused:
        return {"week": str(week), "skipped": str(refused)}
    return {"week": str(week), "run": run.pk}


@shared_task(name="commissions.refresh_projection")
def refresh_projection_task() -> dict:
    """Beat, every minute: keep the open month's projected figures fresh."""
    try:
        run = refresh_projection(now=timezone.now())
    except RunInProgress as busy:
        return {"skipped": str(busy)}
    return {"run": run.pk if run else None}


@shared_task(name="commissions.simulate_plan")
def simulate_plan_task(simulation_id: int) -> dict:
    """Run a queued plan simulation and store its result. A redelivery after it finished (or
    while a live worker runs it) returns at once; after a killed worker it starts over."""
    simulation = simulation_run(simulation_id=simulation_id)
    if simulation is None:
        return {"simulation": simulation_id, "missing": True}
    return {"simulation": simulation.pk, "status": simulation.status}
