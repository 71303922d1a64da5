"""Everything that writes commissions: plan versions, runs, close, export, clawbacks,
adjustments and holds.

A run gathers one period's inputs from the database with set-based reads (binary COPY into
numpy), calls the pure engine, writes the results with binary COPY under the new run's id, and
only then makes that run current in one short transaction: a run killed at any point leaves
the previous results current and untouched, and its retry starts by deleting its own partial
rows. One calculation of a period at a time: a PostgreSQL session advisory lock, tried and
refused with a message, never waited for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from core.bulk import copy_columns, read_columns
from core.csv import safe_csv_writer
from core.periods import Period
from genealogy.models import Distributor, DistributorStatus
from orders.volume import period_line_arrays, period_totals, same_period_refund_lines

from .calendar import calendar_changed
from .engine import ENGINE_VERSION, EngineInputs, PlanValidationError, run_engine
from .engine.explain import Upline, aggregate_unilevel, unilevel_payers
from .engine.plan import Plan, parse_plan
from .models import (
    LOCKED_STATUSES,
    Adjustment,
    AdjustmentStatus,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    Hold,
    HoldStatus,
    LineKind,
    PeriodStatus,
    PlanVersion,
    RunPurpose,
    RunStatus,
)

logger = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)
RUN_LOCK_CLASS = 0x1ADC  # advisory lock namespace: (class, yyyymm) for runs and close
PROJECTION_LOCK_CLASS = 0x1ADD
STATUS_CODES = {
    DistributorStatus.ACTIVE: 0,
    DistributorStatus.INACTIVE: 1,
    DistributorStatus.TERMINATED: 2,
}
CENT = Decimal("0.01")

Progress = Callable[[int, str], None]


class CommissionError(Exception):
    """A refused commission action, with the message a staff member should read."""


class RunInProgress(CommissionError):
    pass


# --- Money helpers ----------------------------------------------------------------------------


def to_cents(amount: Decimal | int | str) -> int:
    """An amount in currency units → integer cents (refuses more than 2 decimals)."""
    value = Decimal(str(amount))
    cents = value * 100
    if cents != cents.to_integral_value():
        raise CommissionError(f"{amount} has more than 2 decimals")
    return int(cents)


def round_half_up_div(numerator: int, denominator: int) -> int:
    """round(numerator / denominator) half away from zero, exact integers."""
    if denominator == 0:
        return 0
    quotient = (Decimal(numerator) / Decimal(denominator)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(quotient)


# --- Plan versions ----------------------------------------------------------------------------


def parse_plan_source(source: str) -> tuple[dict, Plan]:
    """YAML or JSON text → (document, Plan); ``PlanValidationError`` names every problem."""
    import yaml

    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise PlanValidationError([("", f"not valid YAML or JSON: {error}")]) from error
    if not isinstance(document, dict):
        raise PlanValidationError([("", "the plan document must be a mapping")])
    plan = parse_plan(document)
    # Keep the document JSON-clean (YAML may hold dates or other types).
    return json.loads(json.dumps(document, default=str)), plan


def plan_version_create(
    *, source: str, effective_from: dt.date, by=None, note: str = ""
) -> PlanVersion:
    """Validate ``source`` and store it as a new plan version from ``effective_from``'s month."""
    document, plan = parse_plan_source(source)
    effective = effective_from.replace(day=1)
    if CommissionPeriod.objects.filter(
        month__gte=effective, status__in=[PeriodStatus.CLOSED, PeriodStatus.PAID]
    ).exists():
        raise CommissionError(
            f"Periods from {effective:%Y-%m} on are already closed: a new plan version can only "
            "take effect in an open period."
        )
    return PlanVersion.objects.create(
        name=plan.name,
        effective_from=effective,
        source=source,
        document=document,
        max_payout_percent=plan.max_payout_percent(),
        created_by=by,
        note=note,
    )


def plan_version_update(
    *, version: PlanVersion, source: str, by=None, note: str = ""
) -> PlanVersion:
    """Edit a version nobody has calculated with yet; otherwise create a new version."""
    document, plan = parse_plan_source(source)
    with transaction.atomic():
        locked = PlanVersion.objects.select_for_update().get(pk=version.pk)
        if CommissionRun.objects.filter(plan_version=locked).exists():
            return plan_version_create(
                source=source, effective_from=locked.effective_from, by=by, note=note
            )
        locked.source, locked.document, locked.name = source, document, plan.name
        locked.max_payout_percent = plan.max_payout_percent()
        locked.note = note or locked.note
        locked.save()
        return locked


def plan_version_for(period: Period) -> PlanVersion:
    version = PlanVersion.in_force(period.first_day)
    if version is None:
        raise CommissionError(
            f"No plan version is in force for {period}: load one with `manage.py load_plan`."
        )
    return version


def plan_verdict(plan: Plan) -> dict[str, Any]:
    """What the plan page shows: lawfulness, the payout bound and the rank ladder."""
    from .engine.money import ppm_to_percent

    return {
        "pays_on_enrollment": False,  # parse_plan refuses any plan that does
        "max_payout_percent": plan.max_payout_percent(),
        "payout_cap_percent": (
            None if plan.payout_cap_ppm is None else ppm_to_percent(plan.payout_cap_ppm)
        ),
        "unilevel_percents": [ppm_to_percent(p) for p in plan.unilevel_ppm],
        "matching_percents": [ppm_to_percent(p) for p in plan.matching_ppm],
        "ranks": [rank.name for rank in plan.ranks],
        "compression": plan.options.compression,
        "minimum_payout": Decimal(plan.minimum_payout) / 100,
    }


# --- Periods ----------------------------------------------------------------------------------


def closable_from(period: Period) -> dt.datetime:
    """The first moment ``period`` may be closed: its end plus ``LADDER_CLOSE_GRACE_HOURS``,
    counted on the company's wall clock (a 72-hour grace ends at midnight on the 4th whatever
    daylight-saving change falls in between), so payments recorded late for it still count."""
    hours = int(getattr(settings, "LADDER_CLOSE_GRACE_HOURS", 72))
    return period.end + dt.timedelta(hours=hours)


def locked_months_from(first_day: dt.date) -> list[dt.date]:
    """First days of the closed (or paid) months from ``first_day`` on.

    The orders app asks this (through ``orders.commission_period``) when it pays an order or
    gives a refund, to find the period the volume counts in. On PostgreSQL the period rows read
    are locked FOR SHARE until the payment commits: ``close_period`` takes the row FOR UPDATE
    before it verifies the inputs, so a payment either lands before the close (and the close
    sees it and refuses) or waits and then sees the month closed. Payments never block each
    other (shared locks)."""
    if connection.vendor != "postgresql":
        return list(
            CommissionPeriod.objects.filter(
                month__gte=first_day, status__in=LOCKED_STATUSES
            ).values_list("month", flat=True)
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT month, status FROM commissions_commissionperiod WHERE month >= %s "
            "ORDER BY month FOR SHARE",
            [first_day],
        )
        return [month for month, status in cursor.fetchall() if status in LOCKED_STATUSES]


def period_row(period: Period) -> CommissionPeriod:
    row, _ = CommissionPeriod.objects.get_or_create(month=period.first_day)
    return row


def open_period(now: dt.datetime | None = None) -> CommissionPeriod:
    """The period new adjustments and clawbacks go to: the current month (never a closed one)."""
    period = Period.current(now)
    row = period_row(period)
    while row.is_locked:  # only if a month was closed early; move on to the next
        period = period.next()
        row = period_row(period)
    return row


@contextlib.contextmanager
def period_lock(period: Period, *, lock_class: int = RUN_LOCK_CLASS) -> Iterator[None]:
    """Hold the period's session advisory lock, or refuse at once (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        yield
        return
    key = period.year * 100 + period.month
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [lock_class, key])
        granted = cursor.fetchone()[0]
    if not granted:
        running = (
            CommissionRun.objects.filter(
                period__month=period.first_day, status__in=[RunStatus.RUNNING]
            )
            .order_by("-id")
            .first()
        )
        detail = f" (run #{running.pk}, {running.progress} %)" if running else ""
        raise RunInProgress(
            f"Commissions for {period} are being calculated or closed right now{detail}: "
            "wait for that to finish, then try again."
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [lock_class, key])


# --- Gather -----------------------------------------------------------------------------------


@dataclass
class Gathered:
    """One period's inputs: the engine inputs plus what maps them back to the database."""

    period: Period
    plan_version: PlanVersion
    plan: Plan
    ids: np.ndarray  # distributor id per index, sorted
    sponsor_ids: np.ndarray  # -1 none
    parent_ids: np.ndarray  # -1 none
    inputs: EngineInputs
    extras: np.ndarray  # approved adjustments + clawbacks of the period, cents per index
    carried_in: np.ndarray
    prior_run_id: int | None
    input_hash: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _day(value: dt.date) -> int:
    return (value - EPOCH).days


def _read_distributors() -> tuple[np.ndarray, ...]:
    """id, sponsor id, parent id (the tree; the sponsor while waiting for placement), status
    code, join day; sorted by id."""
    if connection.vendor == "postgresql":
        ids, sponsors, parents, status, joined = read_columns(
            """
            SELECT CAST(id AS bigint), CAST(COALESCE(sponsor_id, -1) AS bigint),
                CAST(COALESCE(parent_id, sponsor_id, -1) AS bigint),
                CAST(CASE status WHEN 'active' THEN 0 WHEN 'inactive' THEN 1 ELSE 2 END
                    AS bigint),
                CAST(joined_on - DATE '1970-01-01' AS bigint)
            FROM genealogy_distributor ORDER BY id
            """,
            {},
            ["int8"] * 5,
        )
    else:
        rows = list(
            Distributor.objects.order_by("id").values_list(
                "id", "sponsor_id", "parent_id", "status", "joined_on"
            )
        )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        sponsors = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
        parents = np.array(
            [r[2] if r[2] is not None else (-1 if r[1] is None else r[1]) for r in rows],
            dtype=np.int64,
        )
        status = np.array([STATUS_CODES[r[3]] for r in rows], dtype=np.int64)
        joined = np.array([_day(r[4]) for r in rows], dtype=np.int64)
    return ids, sponsors, parents, status, joined


def _index_of(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each id in the sorted ``ids`` (-1 stays -1); refuses unknown ids."""
    values = np.asarray(values, dtype=np.int64)
    index = np.searchsorted(ids, values)
    index = np.minimum(index, max(len(ids) - 1, 0))
    known = (values < 0) | (ids[index] == values) if len(ids) else values < 0
    if not known.all():
        raise CommissionError(f"unknown distributor id {int(values[~known][0])}")
    return np.where(values < 0, -1, index).astype(np.int64)


def closed_months() -> set[dt.date]:
    return set(
        CommissionPeriod.objects.filter(
            status__in=[PeriodStatus.CLOSED, PeriodStatus.PAID]
        ).values_list("month", flat=True)
    )


def previous_run(period: Period) -> CommissionRun | None:
    """The run whose balances and ranks carry into ``period``: the latest earlier period's
    current run."""
    row = (
        CommissionPeriod.objects.filter(month__lt=period.first_day, current_run__isnull=False)
        .select_related("current_run")
        .order_by("-month")
        .first()
    )
    return row.current_run if row else None


def gather(period: Period, *, plan_version: PlanVersion | None = None) -> Gathered:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    version = plan_version or plan_version_for(period)
    plan = version.plan
    row = period_row(period)
    ids, sponsors, parents, status, joined = _read_distributors()
    n = len(ids)
    timings["read_distributors"] = time.perf_counter() - started

    mark = time.perf_counter()
    totals = period_totals(period)
    pv = np.zeros(n, dtype=np.int64)
    cv = np.zeros(n, dtype=np.int64)
    where = _index_of(ids, totals.distributor_ids)
    pv[where] = totals.pv
    cv[where] = totals.cv
    # Refunds of orders counted in closed periods are settled by clawback lines: they do not also
    # reduce this period's CV (PV, activity and ranks follow the volume rule as it is).
    closed = closed_months()
    for refund in _clawback_candidates(period, closed):
        cv[_index_of(ids, np.array([refund["distributor_id"]]))[0]] += to_cents(refund["cv"])

    lines = period_line_arrays(period)
    line_cv = lines.cv.copy()
    line_profit = lines.retail_profit.copy()
    # Same-period refunds take their line's CV and profit back before fast start and retail.
    same_period = same_period_refund_lines(period)
    for refund in same_period.values("order_line_id", "cv", "retail_profit"):
        position = np.searchsorted(lines.line_id, refund["order_line_id"])
        if position < len(lines.line_id) and lines.line_id[position] == refund["order_line_id"]:
            line_cv[position] -= to_cents(refund["cv"])
            line_profit[position] -= to_cents(refund["retail_profit"])
    line_cv = np.maximum(line_cv, 0)
    line_profit = np.maximum(line_profit, 0)
    timings["read_volume"] = time.perf_counter() - mark

    mark = time.perf_counter()
    prior = previous_run(period)
    prior_highest = np.zeros(n, dtype=np.int16)
    prior_paid = np.zeros(n, dtype=np.int16)
    carried_in = np.zeros(n, dtype=np.int64)
    if prior is not None:
        prior_ids, highest, paid_rank, carried = _read_results(
            prior.pk, ["highest_rank", "advancement_paid_rank", "carried_out"]
        )
        where = _index_of(ids, prior_ids)
        prior_highest[where] = highest
        prior_paid[where] = paid_rank
        carried_in[where] = carried
    on_hold = np.zeros(n, dtype=bool)
    held = list(
        Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("distributor_id", flat=True)
    )
    if held:
        on_hold[_index_of(ids, np.array(held, dtype=np.int64))] = True
    extras = np.zeros(n, dtype=np.int64)
    for distributor_id, amount in _period_extras(row):
        extras[_index_of(ids, np.array([distributor_id]))[0]] += amount
    timings["read_prior"] = time.perf_counter() - mark

    mark = time.perf_counter()
    parent_index = _index_of(ids, parents)
    inputs = EngineInputs(
        parent=parent_index,
        enroller=_index_of(ids, sponsors),
        status=status.astype(np.int8),
        pv=pv,
        cv=cv,
        join_day=joined.astype(np.int32),
        period_start_day=_day(period.first_day),
        period_end_day=_day(period.last_day),
        line_id=lines.line_id,
        line_buyer=_index_of(ids, lines.buyer_id),
        line_cv=line_cv,
        line_paid_day=lines.paid_day,
        line_retail_profit=line_profit,
        prior_highest_rank=np.minimum(prior_highest, len(plan.ranks)),
        prior_advancement_paid_rank=np.minimum(prior_paid, len(plan.ranks)),
        # Adjustments and clawbacks enter the balance like carried money (never capped).
        carried_in=carried_in + extras,
        on_hold=on_hold,
    )
    gathered = Gathered(
        period=period,
        plan_version=version,
        plan=plan,
        ids=ids,
        sponsor_ids=sponsors,
        parent_ids=parents,
        inputs=inputs,
        extras=extras,
        carried_in=carried_in,
        prior_run_id=prior.pk if prior else None,
        timings=timings,
    )
    timings["build_inputs"] = time.perf_counter() - mark
    mark = time.perf_counter()
    gathered.input_hash = input_hash(gathered)
    timings["hash"] = time.perf_counter() - mark
    return gathered


def input_hash(gathered: Gathered) -> str:
    """sha256 over the plan, engine version and every input array (bytes, fixed order)."""
    digest = hashlib.sha256()
    digest.update(ENGINE_VERSION.encode())
    digest.update(json.dumps(gathered.plan_version.document, sort_keys=True).encode())
    digest.update(str(gathered.period).encode())
    digest.update(str(gathered.prior_run_id).encode())
    inputs = gathered.inputs
    for array in (
        gathered.ids,
        gathered.sponsor_ids,
        gathered.parent_ids,
        inputs.status,
        inputs.pv,
        inputs.cv,
        inputs.join_day,
        inputs.line_id,
        inputs.line_buyer,
        inputs.line_cv,
        inputs.line_paid_day,
        inputs.line_retail_profit,
        inputs.prior_highest_rank,
        inputs.prior_advancement_paid_rank,
        gathered.carried_in,
        gathered.extras,
        inputs.on_hold,
    ):
        data = np.ascontiguousarray(array)
        digest.update(str(data.dtype).encode() + len(data).to_bytes(8, "little"))
        digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()


def _read_results(run_id: int, columns: list[str]) -> list[np.ndarray]:
    """distributor_id and ``columns`` of one run's results, sorted by distributor id."""
    if connection.vendor == "postgresql":
        select = ", ".join(f"CAST({name} AS bigint)" for name in ["distributor_id", *columns])
        return read_columns(
            f"SELECT {select} FROM commissions_distributorresult "  # noqa: S608 (fixed names)
            "WHERE run_id = %(run)s ORDER BY distributor_id",
            {"run": run_id},
            ["int8"] * (len(columns) + 1),
        )
    rows = list(
        DistributorResult.objects.filter(run_id=run_id)
        .order_by("distributor_id")
        .values_list("distributor_id", *columns)
    )
    return [
        np.array([int(r[i] if r[i] is not None else -1) for r in rows], dtype=np.int64)
        for i in range(len(columns) + 1)
    ]


def _period_extras(row: CommissionPeriod) -> list[tuple[int, int]]:
    """(distributor id, cents) of approved adjustments and clawbacks in the period."""
    adjustments = (
        Adjustment.objects.filter(period=row, status=AdjustmentStatus.APPROVED)
        .values("distributor_id")
        .annotate(total=Sum("amount"))
        .order_by("distributor_id")
    )
    clawbacks = (
        Clawback.objects.filter(period=row)
        .values("earner_id")
        .annotate(total=Sum("amount"))
        .order_by("earner_id")
    )
    return [(a["distributor_id"], int(a["total"])) for a in adjustments] + [
        (c["earner_id"], int(c["total"])) for c in clawbacks
    ]


# --- Runs -------------------------------------------------------------------------------------


def run_request(*, period: Period, by=None, purpose: str = RunPurpose.CALCULATION) -> CommissionRun:
    """Record a queued run and its task, in one transaction (the outbox publishes the task
    after commit; what the admin and beat call)."""
    from outbox.services import enqueue

    from .tasks import calculate_run_task

    row = period_row(period)
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
) -> CommissionRun:
    row = period_row(period)
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
    timings: dict[str, float] = {}
    # A projection hands in inputs it already read: count that time too.
    started = time.perf_counter() - (sum(gathered.timings.values()) if gathered else 0.0)
    run.status, run.started_at, run.error = RunStatus.RUNNING, timezone.now(), ""
    run.save(update_fields=["status", "started_at", "error"])
    try:
        _set_progress(run, 5, "Reading inputs", progress)
        if purpose == RunPurpose.CALCULATION:
            sync_clawbacks(period=period)
        as_of = as_of or timezone.now()
        gathered = gathered or gather(period)
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
        pause = float(getattr(settings, "LADDER_COMMISSIONS_PAUSE_BEFORE_SWAP", 0) or 0)
        _set_progress(run, 90, "Making the results current", progress)
        if pause:
            time.sleep(pause)  # testing hook: a worker killed here must change nothing

        mark = time.perf_counter()
        summary = _run_summary(gathered, result)
        with transaction.atomic(durable=True):
            locked = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
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
    delete_stale_runs(period=period)
    return run


def delete_stale_runs(*, period: Period) -> int:
    """Delete the rows of this period's superseded and failed runs (never current or final)."""
    row = period_row(period)
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
    }
    copy_columns(
        DistributorResult,
        results,
        nulls={"sponsor_id": gathered.sponsor_ids < 0, "parent_id": gathered.parent_ids < 0},
    )
    counts = {"distributors": n, "engine_lines": len(result.lines), "ledger_lines": 0}
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
                "rate_ppm": lines.rate_ppm.astype(np.int32),
                "amount_before_cap": lines.amount_before_cap,
                "amount": lines.amount,
                "position": np.arange(count, dtype=np.int32),
            },
            nulls={"source_id": lines.source < 0, "source_line_id": lines.source_line < 0},
        )
        counts["ledger_lines"] = count
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


# --- Close and export -------------------------------------------------------------------------


def close_period(
    *, period: Period, by=None, verify_inputs: bool = True, now: dt.datetime | None = None
) -> CommissionPeriod:
    """Make the current run final: its results become the immutable ledger of the period.

    Refused before the month has ended plus the grace period (``closable_from``; ``now`` is the
    clock, default the real one), while a run is going, when earlier periods are still open,
    when adjustments wait for approval, and (``verify_inputs``) when the inputs changed since
    the run was calculated. Calculating stays allowed at any time.
    """
    now = now or timezone.now()
    opens = closable_from(period)
    if now < opens:
        local = opens.astimezone(period.start.tzinfo)
        raise CommissionError(
            f"{period} cannot be closed before {local:%Y-%m-%d %H:%M} ({local.tzname()}): the "
            f"month must have ended and the grace period for late payments "
            f"(LADDER_CLOSE_GRACE_HOURS = {settings.LADDER_CLOSE_GRACE_HOURS}) have passed. "
            "Calculating a preview is allowed meanwhile."
        )
    with period_lock(period):
        row = period_row(period)
        if row.is_locked:
            raise CommissionError(f"{period} is already {row.get_status_display().lower()}.")
        run = row.current_run
        if row.status != PeriodStatus.CALCULATED or run is None:
            raise CommissionError(f"{period} has not been calculated yet: calculate it first.")
        earlier_open = CommissionPeriod.objects.filter(
            month__lt=row.month, status__in=[PeriodStatus.OPEN, PeriodStatus.CALCULATED]
        ).exclude(current_run__isnull=True)
        if earlier_open.exists():
            months = ", ".join(f"{p.month:%Y-%m}" for p in earlier_open)
            raise CommissionError(f"Close the earlier periods first: {months}.")
        prior = previous_run(period)
        if (prior.pk if prior else None) != run.summary.get("prior_run_id"):
            raise CommissionError(
                "The balances carried in have changed since this run: calculate it again."
            )
        pending = Adjustment.objects.filter(period=row, status=AdjustmentStatus.PENDING).count()
        if pending:
            raise CommissionError(
                f"{pending} adjustment(s) of {period} wait for approval: approve or reject them "
                "before closing."
            )
        if verify_inputs:
            sync_clawbacks(period=period)
        with transaction.atomic(durable=True):
            # Locked before the inputs are verified: a payment counting in this month holds the
            # row FOR SHARE (``locked_months_from``), so it is either in the inputs compared
            # below or waits and then counts in the next open month.
            row = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
            if verify_inputs:
                fresh = gather(period, plan_version=run.plan_version)
                if fresh.input_hash != run.input_hash:
                    raise CommissionError(
                        f"The inputs of {period} changed since run #{run.pk} (orders, refunds, "
                        "the tree, holds or adjustments): calculate again and review before "
                        "closing."
                    )
            CommissionRun.objects.filter(pk=run.pk).update(is_final=True)
            row.status = PeriodStatus.CLOSED
            row.closed_at = now
            row.closed_by = by
            row.save()
        return row


def payout_rows(row: CommissionPeriod) -> list[tuple[int, str, Decimal, str, str]]:
    """(distributor number, name, amount, payout method, payout account) of every payable
    balance, by number; people who have not chosen a method get the company's default."""
    results = (
        DistributorResult.objects.filter(run_id=row.current_run_id, payable__gt=0)
        .values_list("distributor_id", "payable")
        .order_by("distributor_id")
    )
    payable = dict(results)
    people = (
        Distributor.objects.filter(pk__in=list(payable))
        .values_list("pk", "number", "user__name", "user__email", "payout_method", "payout_account")
        .order_by("number")
    )
    default = settings.LADDER_PAYOUT_METHOD
    return [
        (
            number,
            name or email,
            (Decimal(payable[pk]) * CENT).quantize(CENT),
            method or default,
            account,
        )
        for pk, number, name, email, method, account in people
    ]


def export_payouts(*, period: Period, by=None) -> bytes:
    """The payout CSV of a closed period (deterministic bytes); marks the period paid.

    Each person's payout method and account are read when the file is written, so a re-export
    after someone changed them differs from the first (and says so in the log)."""
    row = period_row(period)
    if row.status not in (PeriodStatus.CLOSED, PeriodStatus.PAID):
        raise CommissionError(f"{period} is not closed: close it before exporting payouts.")
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)  # finance opens it: no cell starts like a formula
    writer.writerow(
        ["distributor_number", "name", "amount", "currency", "payout_method", "payout_account"]
    )
    total = Decimal("0.00")
    for number, name, amount, method, account in payout_rows(row):
        writer.writerow([number, name, amount, settings.LADDER_CURRENCY, method, account])
        total += amount
    data = buffer.getvalue().encode()
    digest = hashlib.sha256(data).hexdigest()
    if row.status == PeriodStatus.CLOSED:
        with transaction.atomic():
            locked = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
            locked.status = PeriodStatus.PAID
            locked.paid_at = timezone.now()
            locked.paid_by = by
            locked.export_sha256 = digest
            locked.export_total = to_cents(total)
            locked.save()
    elif digest != row.export_sha256:
        logger.warning("payout export of %s differs from the first export", period)
    return data


# --- Clawbacks --------------------------------------------------------------------------------


def _clawback_candidates(period: Period, closed: set[dt.date]) -> list[dict]:
    """Refund lines counting in ``period`` of order lines counted in a closed earlier period."""
    from orders.volume import clawback_refund_lines

    rows = list(
        clawback_refund_lines(period).values(
            "id", "order_line_id", "distributor_id", "cv", "retail_profit", "order_commission_month"
        )
    )
    return [r for r in rows if r["order_commission_month"] in closed]


def sync_clawbacks(*, period: Period) -> int:
    """Create the clawback lines of every refund in ``period`` of a closed period's order.

    Idempotent: one row per (refund line, earner, kind, level), guarded by a unique constraint;
    run as part of every calculation of the period. Returns the rows created.
    """
    row = period_row(period)
    if row.is_locked:
        return 0
    closed = closed_months()
    candidates = _clawback_candidates(period, closed)
    if not candidates:
        return 0
    done = set(
        Clawback.objects.filter(refund_line_id__in=[c["id"] for c in candidates]).values_list(
            "refund_line_id", flat=True
        )
    )
    created: list[Clawback] = []
    for refund in candidates:
        if refund["id"] in done:
            continue
        original = CommissionPeriod.objects.get(month=refund["order_commission_month"])
        created.extend(_clawbacks_for_refund(row, original, refund))
    Clawback.objects.bulk_create(created, ignore_conflicts=True)
    return len(created)


def frozen_chain(run_id: int, distributor_id: int, plan: Plan) -> list[Upline]:
    """The uplines of ``distributor_id`` in a run's frozen tree, nearest first."""
    unlocked = plan.rank_table("unilevel_levels")
    sql = """
        WITH RECURSIVE up(distributor_id, parent_id, is_active, paid_as_rank, depth) AS (
            SELECT r.distributor_id, r.parent_id, r.is_active, r.paid_as_rank, 0
            FROM commissions_distributorresult r
            WHERE r.run_id = %s AND r.distributor_id = %s
            UNION ALL
            SELECT r.distributor_id, r.parent_id, r.is_active, r.paid_as_rank, up.depth + 1
            FROM commissions_distributorresult r JOIN up ON r.distributor_id = up.parent_id
            WHERE r.run_id = %s
        )
        SELECT distributor_id, is_active, paid_as_rank FROM up WHERE depth > 0 ORDER BY depth
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, distributor_id, run_id])
        rows = cursor.fetchall()
    return [
        Upline(int(person), bool(active), int(unlocked[int(rank)])) for person, active, rank in rows
    ]


def _clawbacks_for_refund(
    row: CommissionPeriod, original: CommissionPeriod, refund: dict
) -> list[Clawback]:
    run = original.current_run
    plan = run.plan_version.plan
    refunded_cv = to_cents(refund["cv"])
    refunded_profit = to_cents(refund["retail_profit"])
    buyer = refund["distributor_id"]
    rows: list[Clawback] = []

    def add(earner: int, kind: int, level: int, base: int, original_base: int, amount: int):
        claw = round_half_up_div(amount * base, original_base) if original_base else 0
        if claw > 0:
            rows.append(
                Clawback(
                    period=row,
                    refund_line_id=refund["id"],
                    original_period=original,
                    earner_id=earner,
                    kind=kind,
                    level=level,
                    source_id=buyer,
                    refunded_base=base,
                    original_base=original_base,
                    original_amount=amount,
                    amount=-claw,
                )
            )

    # Unilevel: the per-source lines are re-derived from the frozen run (the ledger keeps them
    # per earner and level), scaled like their (earner, level) line if the cap applied.
    refunded_earnings: dict[int, int] = {}  # payer → unilevel earnings (before the cap) undone
    source = DistributorResult.objects.filter(run=run, distributor_id=buyer).first()
    if source is not None and source.cv > 0 and refunded_cv > 0:
        refunded_base = min(refunded_cv, source.cv)
        chain = frozen_chain(run.pk, buyer, plan)
        payers = unilevel_payers(
            chain, levels=len(plan.unilevel_ppm), compression=plan.options.compression
        )
        for payer in payers:
            rate = plan.unilevel_ppm[payer.level - 1]
            if payer.distributor_id is None or rate == 0:
                continue
            earned = round_half_up_div(source.cv * rate, 1_000_000)
            refunded_earnings[payer.distributor_id] = round_half_up_div(
                earned * refunded_base, source.cv
            )
            line_amount = earned
            aggregate = CommissionLine.objects.filter(
                run=run, earner_id=payer.distributor_id, kind=LineKind.UNILEVEL, level=payer.level
            ).first()
            if aggregate is not None and aggregate.amount_before_cap:
                line_amount = round_half_up_div(
                    line_amount * aggregate.amount, aggregate.amount_before_cap
                )
            add(
                payer.distributor_id,
                LineKind.UNILEVEL,
                payer.level,
                refunded_base,
                source.cv,
                line_amount,
            )
    # Matching was paid on each payer's unilevel earnings: it comes back in the same proportion
    # as the part of those earnings the refund undid.
    if refunded_earnings:
        for line in CommissionLine.objects.filter(
            run=run, kind=LineKind.MATCHING, source_id__in=list(refunded_earnings)
        ):
            undone = min(refunded_earnings[line.source_id], line.base)
            add(line.earner_id, line.kind, line.level, undone, line.base, line.amount)
    # Fast start and retail profit were paid per order line.
    for line in CommissionLine.objects.filter(
        run=run,
        source_line_id=refund["order_line_id"],
        kind__in=[LineKind.FAST_START, LineKind.RETAIL_PROFIT],
    ):
        base = refunded_cv if line.kind == LineKind.FAST_START else refunded_profit
        add(line.earner_id, line.kind, line.level, min(base, line.base), line.base, line.amount)
    return rows


# --- Adjustments ------------------------------------------------------------------------------


def approval_threshold() -> int:
    return to_cents(settings.LADDER_ADJUSTMENT_APPROVAL_THRESHOLD)


def adjustments_on_own_authority(*, distributor_id: int, period: CommissionPeriod, by) -> int:
    """Cents (signs ignored) one staff member has put in ``period`` for one distributor with
    nobody else deciding: every adjustment they created there that is not rejected.

    The approval threshold applies to this total, not to each adjustment, so several
    adjustments just under it cannot pay any amount with one person."""
    rows = Adjustment.objects.filter(
        period=period, distributor_id=distributor_id, created_by=by, is_forfeiture=False
    ).exclude(status=AdjustmentStatus.REJECTED)
    return sum(abs(amount) for amount in rows.values_list("amount", flat=True))


def adjustment_create(
    *,
    distributor: Distributor,
    amount: Decimal,
    reason: str,
    by,
    period: Period | None = None,
    now: dt.datetime | None = None,
) -> Adjustment:
    """A manual line in an open period. It counts at once while the creator's total for this
    distributor in this period (``adjustments_on_own_authority``, this one included) stays
    within the threshold; beyond it, it waits for a second staff member's approval."""
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("An adjustment needs a reason.")
    cents = to_cents(amount)
    if cents == 0:
        raise CommissionError("An adjustment of 0.00 changes nothing.")
    row = period_row(period) if period else open_period(now)
    with transaction.atomic():
        # One creator's adjustments in a period are counted one at a time (two at once would
        # each see the other's total missing); closing the period takes the same lock.
        row = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
        if row.is_locked:
            raise CommissionError(f"{row.period} is closed: add the adjustment to an open period.")
        total = abs(cents)
        if by is not None:
            total += adjustments_on_own_authority(distributor_id=distributor.pk, period=row, by=by)
        needs_approval = total > approval_threshold()
        return Adjustment.objects.create(
            period=row,
            distributor=distributor,
            amount=cents,
            reason=reason,
            created_by=by,
            status=AdjustmentStatus.PENDING if needs_approval else AdjustmentStatus.APPROVED,
        )


def _decide(adjustment: Adjustment, *, by, status: str, note: str) -> Adjustment:
    with transaction.atomic():
        locked = (
            Adjustment.objects.select_for_update().select_related("period").get(pk=adjustment.pk)
        )
        if locked.status != AdjustmentStatus.PENDING:
            raise CommissionError(
                f"This adjustment is already {locked.get_status_display().lower()}."
            )
        if by is None:
            raise CommissionError("A staff member must decide, by name.")
        if locked.created_by_id == by.pk:
            raise CommissionError("A second staff member must decide: you created this adjustment.")
        if locked.period.is_locked:
            raise CommissionError(f"{locked.period} is closed.")
        locked.status, locked.decided_by, locked.decided_at = status, by, timezone.now()
        locked.decision_note = note
        locked.save()
        return locked


def adjustment_approve(*, adjustment: Adjustment, by, note: str = "") -> Adjustment:
    return _decide(adjustment, by=by, status=AdjustmentStatus.APPROVED, note=note)


def adjustment_reject(*, adjustment: Adjustment, by, note: str = "") -> Adjustment:
    return _decide(adjustment, by=by, status=AdjustmentStatus.REJECTED, note=note)


# --- Holds ------------------------------------------------------------------------------------


def hold_place(*, distributor: Distributor, reason: str, by) -> Hold:
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("A hold needs a reason.")
    if Hold.objects.filter(distributor=distributor, status=HoldStatus.ACTIVE).exists():
        raise CommissionError(f"{distributor} is already on hold.")
    return Hold.objects.create(distributor=distributor, reason=reason, placed_by=by)


def _end_hold(hold: Hold, *, status: str, reason: str, by) -> Hold:
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("Say why the hold ends.")
    locked = Hold.objects.select_for_update().get(pk=hold.pk)
    if locked.status != HoldStatus.ACTIVE:
        raise CommissionError("This hold has already ended.")
    locked.status, locked.end_reason = status, reason
    locked.ended_by, locked.ended_at = by, timezone.now()
    return locked


def hold_release(*, hold: Hold, reason: str, by) -> Hold:
    """End the hold: the carried balance is paid with the next closed period."""
    with transaction.atomic():
        locked = _end_hold(hold, status=HoldStatus.RELEASED, reason=reason, by=by)
        locked.save()
        return locked


def held_balance(distributor_id: int) -> int:
    """Cents carried into the open period: the last closed period's carried_out."""
    row = (
        CommissionPeriod.objects.filter(status__in=[PeriodStatus.CLOSED, PeriodStatus.PAID])
        .order_by("-month")
        .first()
    )
    if row is None:
        return 0
    result = DistributorResult.objects.filter(
        run_id=row.current_run_id, distributor_id=distributor_id
    ).first()
    return result.carried_out if result else 0


def hold_forfeit(*, hold: Hold, reason: str, by, now: dt.datetime | None = None) -> Hold:
    """End the hold and forfeit the held balance: a negative adjustment in the open period."""
    with transaction.atomic():
        locked = _end_hold(hold, status=HoldStatus.FORFEITED, reason=reason, by=by)
        balance = held_balance(locked.distributor_id)
        if balance > 0:
            locked.forfeiture = Adjustment.objects.create(
                period=open_period(now),
                distributor_id=locked.distributor_id,
                amount=-balance,
                reason=f"Held balance forfeited: {locked.end_reason}",
                is_forfeiture=True,
                created_by=by,
                status=AdjustmentStatus.APPROVED,
            )
        locked.save()
        return locked
