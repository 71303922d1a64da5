"""Runs: calculate a period (or its projection) and make the results current.

A run gathers one period's inputs (``commissions.gather``), calls the pure engine, writes the
results with binary COPY under the new run's id, and only then makes that run current in one
short transaction: a run killed at any point leaves the previous results current and
untouched, and its retry starts by deleting its own partial rows. One calculation of a period
at a time: a PostgreSQL session advisory lock, tried and refused with a message, never waited
for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.bulk import beside, copy_columns
from core.periods import Period, Week

from ..binary_state import delete_binary_rows, write_binary_state
from ..calendar import calendar_changed
from ..engine import run_engine
from ..engine.explain import aggregate_unilevel
from ..errors import CommissionError, RunInProgress
from ..gather import Gathered, gather
from ..models import (
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    PeriodStatus,
    PlanVersion,
    RunPurpose,
    RunStatus,
)
from .clawbacks import sync_clawbacks
from .periods import PROJECTION_LOCK_CLASS, RUN_LOCK_CLASS, period_lock, period_row

Progress = Callable[[int, str], None]


def run_request(
    *,
    period: Period,
    by=None,
    purpose: str = RunPurpose.CALCULATION,
    row: CommissionPeriod | None = None,
) -> CommissionRun:
    """Record a queued run and its task, in one transaction (the outbox publishes the task
    after commit; what the admin and beat call). A week passes its ``row``."""
    from outbox.services import enqueue

    from ..tasks import calculate_run_task

    row = row or period_row(period)
    if row.is_locked:
        raise CommissionError(f"{period} is {row.get_status_display().lower()}: nothing to do.")
    active = CommissionRun.objects.filter(
        period=row, purpose=purpose, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).first()
    if active is not None:
        raise RunInProgress(
            f"A {active.get_purpose_display().lower()} of {period} is already "
            f"{active.get_status_display().lower()} (run #{active.pk})."
        )
    run = CommissionRun.objects.create(period=row, purpose=purpose, requested_by=by)
    enqueue(calculate_run_task, args=[run.pk], idempotency_key=f"commissions.run:{run.pk}")
    return run


def calculate_period(
    *,
    period: Period,
    by=None,
    purpose: str = RunPurpose.CALCULATION,
    run: CommissionRun | None = None,
    progress: Progress | None = None,
) -> CommissionRun:
    """Calculate ``period`` (a preview until it is closed); returns the run that is current.

    Safe to call again: a run that already succeeded is returned as it is, a run interrupted
    half way (a killed worker) deletes its own partial rows and starts over.
    """
    if connection.in_atomic_block:
        raise CommissionError("calculate_period commits as it goes: call it outside a transaction")
    lock_class = RUN_LOCK_CLASS if purpose == RunPurpose.CALCULATION else PROJECTION_LOCK_CLASS
    with period_lock(period, lock_class=lock_class):
        return _calculate_locked(period=period, by=by, purpose=purpose, run=run, progress=progress)


def _set_progress(run: CommissionRun, percent: int, phase: str, progress: Progress | None) -> None:
    CommissionRun.objects.filter(pk=run.pk).update(progress=percent, phase=phase)
    run.progress, run.phase = percent, phase
    if progress is not None:
        progress(percent, phase)


def refresh_projection(*, now: dt.datetime | None = None) -> CommissionRun | None:
    """Projected figures of the open month; unchanged inputs only move the "as of" time."""
    period = Period.current(now)
    row = period_row(period)
    if (
        row.is_locked
        or not PlanVersion.objects.filter(effective_from__lte=period.first_day).exists()
    ):
        return None
    with period_lock(period, lock_class=PROJECTION_LOCK_CLASS):
        as_of = timezone.now()
        gathered = gather(period)
        current = row.projection_run
        if current is not None and current.input_hash == gathered.input_hash:
            CommissionRun.objects.filter(pk=current.pk).update(as_of=as_of)
            calendar_changed()
            return current
        return _calculate_locked(
            period=period,
            by=None,
            purpose=RunPurpose.PROJECTION,
            run=None,
            progress=None,
            gathered=gathered,
            as_of=as_of,
        )


def _calculate_locked(
    *,
    period: Period,
    by,
    purpose: str,
    run: CommissionRun | None,
    progress: Progress | None,
    gathered: Gathered | None = None,
    as_of: dt.datetime | None = None,
    row: CommissionPeriod | None = None,
    read_inputs: Callable[[], Gathered] | None = None,
    sync: Callable[[], int] | None = None,
) -> CommissionRun:
    """Calculate under the period's lock. A month by default; a week passes its ``row``, how
    its inputs are read (``read_inputs``) and its clawbacks synced (``sync``)."""
    row = row or period_row(period)
    if row.is_locked:
        raise CommissionError(f"{period} is closed: its results are final.")
    if run is not None:
        run.refresh_from_db()
        if run.status in (RunStatus.SUCCEEDED, RunStatus.SUPERSEDED):
            return run  # a redelivered task: the work is done
    else:
        run = CommissionRun.objects.create(period=row, purpose=purpose, requested_by=by)
    # A retry after a crash: drop whatever the interrupted attempt wrote (never current rows).
    DistributorResult.objects.filter(run=run).delete()
    CommissionLine.objects.filter(run=run).delete()
    delete_binary_rows([run.pk])
    timings: dict[str, float] = {}
    # A projection hands in inputs it already read: count that time too.
    started = time.perf_counter() - (sum(gathered.timings.values()) if gathered else 0.0)
    run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        _set_progress(run, 5, "Reading inputs", progress)
        if purpose == RunPurpose.CALCULATION:
            (sync or (lambda: sync_clawbacks(period=period)))()
        as_of = as_of or timezone.now()
        gathered = gathered or (read_inputs or (lambda: gather(period)))()
        timings.update(gathered.timings)
        timings["gather"] = time.perf_counter() - started
        _set_progress(run, 35, "Computing", progress)
        mark = time.perf_counter()
        result = run_engine(gathered.plan, gathered.inputs)
        timings["engine"] = time.perf_counter() - mark

        _set_progress(run, 55, "Writing results", progress)
        mark = time.perf_counter()
        counts = _write_results(run, gathered, result, with_lines=purpose == RunPurpose.CALCULATION)
        timings["write"] = time.perf_counter() - mark
        pause = settings.LADDER_COMMISSIONS_PAUSE_BEFORE_SWAP
        _set_progress(run, 90, "Making the results current", progress)
        if pause:
            time.sleep(pause)  # testing hook: a worker killed here must change nothing

        mark = time.perf_counter()
        summary = _run_summary(gathered, result)
        with transaction.atomic(durable=True):
            locked = CommissionPeriod.every_schedule.select_for_update().get(pk=row.pk)
            if locked.is_locked:
                raise CommissionError(f"{period} was closed while this run was computing.")
            pointer = "current_run" if purpose == RunPurpose.CALCULATION else "projection_run"
            previous_id = getattr(locked, f"{pointer}_id")
            if previous_id:
                CommissionRun.objects.filter(pk=previous_id).update(status=RunStatus.SUPERSEDED)
            setattr(locked, pointer, run)
            if purpose == RunPurpose.CALCULATION:
                locked.status = PeriodStatus.CALCULATED
            locked.save()
            timings["swap"] = time.perf_counter() - mark
            timings["total"] = time.perf_counter() - started
            run.status = RunStatus.SUCCEEDED
            run.plan_version = gathered.plan_version
            run.engine_version = result.engine_version
            run.input_hash = gathered.input_hash
            run.progress, run.phase = 100, "Done"
            run.timings = {k: round(v, 3) for k, v in timings.items()}
            run.counts = counts
            run.summary = summary
            run.finished_at = timezone.now()
            run.as_of = as_of
            run.save()
        if progress is not None:
            progress(100, "Done")
    except BaseException as error:
        # Failed (not killed): record it; the previous results stay current.
        with contextlib.suppress(Exception):
            CommissionRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED, error=f"{type(error).__name__}: {error}"[:2000]
            )
        raise
    delete_stale_runs(period=period, row=row)
    return run


def delete_stale_runs(*, period: Period, row: CommissionPeriod | None = None) -> int:
    """Delete the rows of this period's superseded and failed runs (never current or final)."""
    # Read afresh: the caller's row may predate the run that just became current.
    row = CommissionPeriod.every_schedule.get(pk=row.pk) if row else period_row(period)
    keep = {row.current_run_id, row.projection_run_id} - {None}
    stale = list(
        CommissionRun.objects.filter(
            period=row, is_final=False, status__in=[RunStatus.SUPERSEDED, RunStatus.FAILED]
        )
        .exclude(pk__in=keep)
        .values_list("pk", flat=True)
    )
    if stale:
        DistributorResult.objects.filter(run_id__in=stale).delete()
        CommissionLine.objects.filter(run_id__in=stale).delete()
        delete_binary_rows(stale)
        # Projection run records are only pointers: drop them; calculation runs stay as history.
        CommissionRun.objects.filter(pk__in=stale, purpose=RunPurpose.PROJECTION).delete()
    return len(stale)


def _write_results(run: CommissionRun, gathered: Gathered, result, *, with_lines: bool) -> dict:
    ids = gathered.ids
    n = len(ids)
    inputs = gathered.inputs
    run_ids = np.full(n, run.pk, dtype=np.int64)
    extras = gathered.extras
    results = {
        "run_id": run_ids,
        "distributor_id": ids,
        "sponsor_id": np.maximum(gathered.sponsor_ids, 0),
        "parent_id": np.maximum(gathered.parent_ids, 0),
        "status": inputs.status.astype(np.int16),
        "pv": inputs.pv,
        "cv": inputs.cv,
        "gv": result.gv,
        "counted_gv": result.counted_gv,
        "is_active": result.is_active,
        "paid_as_rank": result.paid_as_rank.astype(np.int16),
        "highest_rank": result.highest_rank.astype(np.int16),
        "advancement_paid_rank": result.advancement_paid_rank.astype(np.int16),
        "carried_in": gathered.carried_in,
        # The engine saw adjustments and clawbacks as carried money: they belong to the period.
        "period_total": result.period_total + extras,
        "balance": result.balance,
        "payable": result.payable,
        "carried_out": result.carried_out,
        "on_hold": inputs.on_hold,
        "grace_months_used": result.grace_months_used,
    }
    nulls = {"sponsor_id": gathered.sponsor_ids < 0, "parent_id": gathered.parent_ids < 0}
    if isinstance(gathered.period, Week):
        # A pay week keeps the rows of the people it touched (volume, money in or out, a
        # hold): every reader takes a missing row as zeros, and a year of weeks is not 52
        # copies of the whole tree. A month keeps everyone (ranks, the frozen tree).
        touched = inputs.on_hold.copy()
        for name in ("pv", "cv", "carried_in", "period_total", "balance", "payable", "carried_out"):
            touched |= results[name] != 0
        results = {name: column[touched] for name, column in results.items()}
        nulls = {name: mask[touched] for name, mask in nulls.items()}
    # The results on a connection of their own while this one writes the ledger lines: two
    # COPYs into different tables, each PostgreSQL's work on its own core.
    results_written = beside(lambda: copy_columns(DistributorResult, results, nulls=nulls))
    try:
        counts = _write_lines(run, gathered, result, with_lines=with_lines)
    finally:
        written = results_written()
    counts["result_rows"] = written
    return counts


def _write_lines(run: CommissionRun, gathered: Gathered, result, *, with_lines: bool) -> dict:
    """The ledger lines and the binary state of a calculation (a projection writes none)."""
    ids = gathered.ids
    counts = {"distributors": len(ids), "engine_lines": len(result.lines), "ledger_lines": 0}
    if with_lines:
        lines = result.lines
        if gathered.plan.options.upline == "period_close":
            lines = aggregate_unilevel(lines)
        count = len(lines)
        copy_columns(
            CommissionLine,
            {
                "run_id": np.full(count, run.pk, dtype=np.int64),
                "earner_id": ids[lines.earner],
                "kind": lines.kind.astype(np.int16),
                "level": lines.level.astype(np.int16),
                "source_id": np.where(lines.source >= 0, ids[np.maximum(lines.source, 0)], 0),
                "source_line_id": np.maximum(lines.source_line, 0),
                "base": lines.base,
                "rate_units": lines.rate.astype(np.int32),  # rate_ppm stays NULL (engine 1.2)
                "amount_before_cap": lines.amount_before_cap,
                "amount": lines.amount,
                "position": np.arange(count, dtype=np.int32),
            },
            nulls={"source_id": lines.source < 0, "source_line_id": lines.source_line < 0},
        )
        counts["ledger_lines"] = count
        # The binary carry queue and figures the next period and the statements read.
        counts.update(write_binary_state(run, ids, result))
    return counts


def _run_summary(gathered: Gathered, result) -> dict[str, Any]:
    """JSON-ready totals for the run page (the engine's summary plus ledger extras)."""
    summary = dict(result.summary)
    summary["payout_percent_of_cv"] = (
        None if summary["payout_percent_of_cv"] is None else str(summary["payout_percent_of_cv"])
    )
    summary["plan_version_id"] = gathered.plan_version.pk
    summary["plan_name"] = gathered.plan.name
    summary["rank_names"] = ["(no rank)", *[rank.name for rank in gathered.plan.ranks]]
    summary["prior_run_id"] = gathered.prior_run_id
    if gathered.netted_refund_lines:
        summary["netted_refund_lines"] = gathered.netted_refund_lines
    summary["adjustments_and_clawbacks"] = int(gathered.extras.sum())
    summary["on_hold_count"] = int(gathered.inputs.on_hold.sum())
    summary["held_total"] = int(result.carried_out[gathered.inputs.on_hold].sum())
    summary["distributor_count"] = len(gathered.ids)
    top = np.argsort(-result.period_total, kind="stable")[:10]
    summary["top_earners"] = [
        {"distributor_id": int(gathered.ids[i]), "period_total": int(result.period_total[i])}
        for i in top
        if result.period_total[i] > 0
    ]
    return summary
