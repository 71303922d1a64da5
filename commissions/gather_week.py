"""Gather a pay week's inputs for the weekly kinds of the plan in force (``engine/schedules.py``).

What a week counts
------------------
* **Order lines counted in the week** (their ``commission_week``: the week they were paid in,
  company clock, or the first open week after it when that one had closed,
  ``services/pay_weeks.py``), net of every refund of them recorded before the week closes: the
  close re-gathers and compares the input hash, so a refund recorded in between makes the close
  refuse until the week is calculated again. The refund lines a run netted are kept in its
  summary (``netted_refund_lines``); a refund recorded after the close is clawed back in the
  open week it counts in (``services/weeks.py``).
* **Activity**: personal PV of the ``activity_weeks`` weeks ending with this one, each line
  net of its refunds so far.
* **Ranks**: the paid-as ranks of the latest closed month's final run, taken as they are.
* **Balances**: carried from the previous week's current run, plus the week's clawbacks; holds
  as for a month. The tree is the sponsor tree at the week's end (or now while it runs).
* **Binary** (when the plan pays it weekly): the placement tree at the same moment, the
  previous week's carry queue and pairing history (``binary_state``, in weeks), and the
  week's refunds of closed weeks' volume (``week_clawback_candidates``), which take their
  volume out of the queue or claw back its pairing (``binary_clawbacks``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import numpy as np
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from core.bulk import read_columns
from core.periods import Week
from genealogy.history import tree_as_of
from genealogy.models import Placement, TreeKind
from orders.models import OrderLine, RefundLine

from .binary_state import binary_component_inputs
from .engine import EngineInputs
from .engine.schedules import WEEKLY, plan_for_schedule
from .errors import CommissionError
from .gather import (
    Gathered,
    _day,
    _index_of,
    _members_at,
    _period_extras,
    _read_distributors,
    _read_results,
    input_hash,
    placement_arrays,
)
from .gather_extras import company_flags
from .models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    Hold,
    HoldStatus,
    PlanVersion,
    Schedule,
)

_WEEK_LINES_SQL = """
SELECT l.id, l.distributor_id, CAST(l.pv * 100 AS bigint), CAST(l.cv * 100 AS bigint),
    CAST(l.retail_profit * 100 AS bigint),
    CAST((l.paid_at AT TIME ZONE %(zone)s)::date - DATE '1970-01-01' AS bigint)
FROM orders_orderline l
WHERE (l.commission_week >= %(first)s AND l.commission_week <= %(last)s)
   OR (l.commission_week IS NULL AND l.paid_at >= %(start)s AND l.paid_at < %(end)s)
"""
_WEEK_REFUNDS_SQL = """
SELECT r.id, r.order_line_id, CAST(r.pv * 100 AS bigint), CAST(r.cv * 100 AS bigint),
    CAST(r.retail_profit * 100 AS bigint)
FROM orders_refundline r JOIN orders_orderline l ON l.id = r.order_line_id
WHERE (l.commission_week >= %(first)s AND l.commission_week <= %(last)s)
   OR (l.commission_week IS NULL AND l.paid_at >= %(start)s AND l.paid_at < %(end)s)
"""


def week_row(week: Week) -> CommissionPeriod:
    row, _ = CommissionPeriod.every_schedule.get_or_create(
        schedule=Schedule.WEEKLY, month=week.first_day
    )
    return row


def weekly_version(week: Week) -> PlanVersion:
    """The plan version in force in the week's first day, which must pay something weekly."""
    version = PlanVersion.in_force(week.first_day)
    if version is None:
        raise CommissionError(f"No plan version is in force for the {week}.")
    if version.plan.weekly is None:
        raise CommissionError(
            f"The plan in force for the {week} ({version}) pays nothing weekly: there is "
            "nothing to calculate."
        )
    return version


def previous_week_run(week: Week):
    row = (
        CommissionPeriod.every_schedule.filter(
            schedule=Schedule.WEEKLY, month__lt=week.first_day, current_run__isnull=False
        )
        .select_related("current_run")
        .order_by("-month")
        .first()
    )
    return row.current_run if row else None


def latest_closed_month_run_id(week: Week) -> int | None:
    row = (
        CommissionPeriod.objects.filter(month__lt=week.first_day, status__in=LOCKED_STATUSES)
        .order_by("-month")
        .values_list("current_run_id", flat=True)
        .first()
    )
    return row


CLAWBACK_REFUND_FIELDS = (
    "id",
    "order_line_id",
    "order_line__order_id",
    "distributor_id",
    "quantity",
    "cv",
    "pv",
    "retail_profit",
    "order_paid_at",
    "order_line__commission_week",
)


def week_clawback_candidates(week: Week) -> list[tuple[CommissionPeriod, list[dict]]]:
    """The refund lines counted in ``week`` (their ``commission_week``) of lines an earlier,
    closed week counted and did not net (its run's ``netted_refund_lines``), by that week's
    row, oldest week first; each refund names its line's week (``source_day``, for the binary's
    queue)."""
    refunds = list(
        RefundLine.objects.filter(
            Q(commission_week=week.first_day)
            | Q(commission_week__isnull=True, refunded_at__gte=week.start, refunded_at__lt=week.end)
        )
        .filter(order_paid_at__lt=week.end)
        .order_by("id")
        .values(*CLAWBACK_REFUND_FIELDS)
    )
    by_week: dict[dt.date, list[dict]] = {}
    for refund in refunds:
        first_day = refund["order_line__commission_week"] or (
            Week.containing(refund["order_paid_at"], week.week_starts).first_day
        )
        if first_day < week.first_day:  # a line an earlier week counted
            by_week.setdefault(first_day, []).append({**refund, "source_day": first_day})
    if not by_week:
        return []
    originals = (
        CommissionPeriod.every_schedule.filter(
            schedule=Schedule.WEEKLY, month__in=list(by_week), status__in=LOCKED_STATUSES
        )
        .select_related("current_run")
        .order_by("month")
    )
    found = []
    for original in originals:
        netted = set(original.current_run.summary.get("netted_refund_lines", []))
        todo = [r for r in by_week[original.month] if r["id"] not in netted]
        if todo:
            found.append((original, todo))
    return found


def _week_lines(first: Week, last: Week) -> list[np.ndarray]:
    """id, buyer, pv, cv, profit, paid day of the lines counted in the weeks ``first`` to
    ``last`` (their ``commission_week``), net of their refunds so far; sorted by id. Plus the
    netted refund line ids."""
    zone = str(first.start.tzinfo)
    params = {
        "first": first.first_day,
        "last": last.first_day,
        "start": first.start,
        "end": last.end,
        "zone": zone,
    }
    in_weeks = Q(commission_week__gte=first.first_day, commission_week__lte=last.first_day) | Q(
        commission_week__isnull=True, paid_at__gte=first.start, paid_at__lt=last.end
    )
    if connection.vendor == "postgresql":
        lines = read_columns(_WEEK_LINES_SQL, params, ["int8"] * 6)
        refunds = read_columns(_WEEK_REFUNDS_SQL, params, ["int8"] * 5)
    else:
        rows = list(
            OrderLine.objects.filter(in_weeks).values_list(
                "id", "distributor_id", "pv", "cv", "retail_profit", "paid_at"
            )
        )
        lines = [
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            *(np.array([int(r[i] * 100) for r in rows], dtype=np.int64) for i in (2, 3, 4)),
            np.array(
                [_day(r[5].astimezone(first.start.tzinfo).date()) for r in rows], dtype=np.int64
            ),
        ]
        refund_rows = list(
            RefundLine.objects.filter(
                order_line__in=OrderLine.objects.filter(in_weeks).values("id")
            ).values_list("id", "order_line_id", "pv", "cv", "retail_profit")
        )
        refunds = [
            np.array([r[0] for r in refund_rows], dtype=np.int64),
            np.array([r[1] for r in refund_rows], dtype=np.int64),
            *(np.array([int(r[i] * 100) for r in refund_rows], dtype=np.int64) for i in (2, 3, 4)),
        ]
    order = np.argsort(lines[0], kind="stable")
    lines = [column[order] for column in lines]
    where = np.searchsorted(lines[0], refunds[1])
    if len(refunds[1]) and (
        np.any(where >= len(lines[0]))
        or np.any(lines[0][np.minimum(where, len(lines[0]) - 1)] != refunds[1])
    ):
        raise CommissionError("a refund line's order line is not among the week's lines")
    for column, refunded in zip(lines[2:5], refunds[2:5], strict=True):
        np.subtract.at(column, where, refunded)
    return [*lines, np.sort(refunds[0])]


_WEEK_ORDERS_SQL = """
SELECT l.id, l.order_id, CAST(l.quantity AS bigint)
FROM orders_orderline l
WHERE l.commission_week = %(week)s
   OR (l.commission_week IS NULL AND l.paid_at >= %(start)s AND l.paid_at < %(end)s)
ORDER BY l.id
"""


def _week_order_line_extras(
    plan, week: Week, line_ids: np.ndarray, netted: np.ndarray
) -> dict[str, np.ndarray]:
    """``line_order_id`` and ``line_units`` of the week's lines (sorted ids) for an order award
    paid weekly: units net of the refunds the week netted, as the lines' CV is."""
    if "order_award" not in plan.components or len(line_ids) == 0:
        return {}
    if connection.vendor == "postgresql":
        known, order_of, units = read_columns(
            _WEEK_ORDERS_SQL,
            {"week": week.first_day, "start": week.start, "end": week.end},
            ["int8"] * 3,
        )
    else:
        rows = list(
            OrderLine.objects.filter(
                Q(commission_week=week.first_day)
                | Q(commission_week__isnull=True, paid_at__gte=week.start, paid_at__lt=week.end)
            )
            .order_by("id")
            .values_list("id", "order_id", "quantity")
        )
        known, order_of, units = np.array(rows, dtype=np.int64).reshape(-1, 3).T
    where = np.searchsorted(known, line_ids)
    units = units[where].copy()
    refunded = list(
        RefundLine.objects.filter(id__in=netted.tolist()).values_list("order_line_id", "quantity")
    )
    if refunded:
        refund_lines = np.array([r[0] for r in refunded], dtype=np.int64)
        np.subtract.at(
            units,
            np.searchsorted(line_ids, refund_lines),
            np.array([r[1] for r in refunded], dtype=np.int64),
        )
    return {"line_order_id": order_of[where], "line_units": np.maximum(units, 0)}


def gather_week(
    week: Week, *, plan_version: PlanVersion | None = None, now: dt.datetime | None = None
) -> Gathered:
    """The week's inputs for the plan's weekly kinds (see the module docstring)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    version = plan_version or weekly_version(week)
    plan = plan_for_schedule(version.plan, WEEKLY)
    window_weeks = version.plan.weekly.activity_weeks
    row = week_row(week)
    moment = min(week.end, now or timezone.now())
    with_placement = "binary" in plan.components and Placement.objects.exists()
    columns = _read_distributors(with_placement=with_placement)
    all_ids, present_sponsors, all_status, all_joined = columns[:4]
    tree = tree_as_of(TreeKind.SPONSOR, moment, present=(all_ids, present_sponsors))
    placement_tree = (
        tree_as_of(TreeKind.PLACEMENT, moment, present=(all_ids, *columns[4:]))
        if with_placement
        else None
    )
    timings["read_distributors"] = time.perf_counter() - started

    mark = time.perf_counter()
    line_id, buyer, line_pv, line_cv, line_profit, paid_day, netted = _week_lines(week, week)
    window = week.last(window_weeks)
    window_lines = _week_lines(window[0], week)
    prior = previous_week_run(week)
    prior_columns = _read_results(prior.pk, ["carried_out"]) if prior is not None else None
    extras_rows = _period_extras(row)
    binary_refunds = (
        [refund for _, todo in week_clawback_candidates(week) for refund in todo]
        if "binary" in plan.components
        else []
    )
    month_run = latest_closed_month_run_id(week)
    ranks = _read_results(month_run, ["paid_as_rank"]) if month_run is not None else None
    timings["read_volume"] = time.perf_counter() - mark

    mark = time.perf_counter()
    named = [
        buyer,
        window_lines[1],
        np.array([d for d, _ in extras_rows], dtype=np.int64),
        np.array([r["distributor_id"] for r in binary_refunds], dtype=np.int64),
    ]
    if prior_columns is not None:
        named.append(prior_columns[0])
    keep, sponsors, sponsor_index = _members_at(tree, np.concatenate(named))
    ids = all_ids[keep]
    n = len(ids)
    line_buyer = _index_of(ids, buyer)
    pv = np.zeros(n, dtype=np.int64)
    cv = np.zeros(n, dtype=np.int64)
    np.add.at(pv, line_buyer, line_pv)
    np.add.at(cv, line_buyer, line_cv)
    activity_pv = np.zeros(n, dtype=np.int64)
    np.add.at(activity_pv, _index_of(ids, window_lines[1]), window_lines[2])
    carried_in = np.zeros(n, dtype=np.int64)
    if prior_columns is not None:
        carried_in[_index_of(ids, prior_columns[0])] = prior_columns[1]
    extras = np.zeros(n, dtype=np.int64)
    for distributor_id, amount in extras_rows:
        extras[_index_of(ids, np.array([distributor_id]))[0]] += amount
    paid_as = np.zeros(n, dtype=np.int16)
    if ranks is not None:
        known = np.isin(ranks[0], ids)
        paid_as[_index_of(ids, ranks[0][known])] = ranks[1][known]
    held = np.array(
        Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("distributor_id", flat=True),
        dtype=np.int64,
    )
    held = held[np.isin(held, ids)]
    on_hold = np.zeros(n, dtype=bool)
    on_hold[_index_of(ids, held)] = True
    placement, placement_inputs = placement_arrays(
        placement_tree, keep, ids, for_rules="binary" in plan.components
    )
    binary_state = binary_component_inputs(
        plan=plan,
        period=week,
        prior_run_id=prior.pk if prior else None,
        ids=ids,
        refunds=binary_refunds,
    )
    inputs = EngineInputs(
        parent=sponsor_index,
        enroller=sponsor_index,
        status=all_status[keep].astype(np.int8),
        pv=pv,
        cv=cv,
        join_day=all_joined[keep].astype(np.int32),
        period_start_day=_day(week.first_day),
        period_end_day=_day(week.last_day),
        line_id=line_id,
        line_buyer=line_buyer,
        line_cv=np.maximum(line_cv, 0),
        line_paid_day=paid_day.astype(np.int32),
        line_retail_profit=np.maximum(line_profit, 0),
        carried_in=carried_in + extras,
        on_hold=on_hold,
        is_company=company_flags(ids),
        activity_pv=activity_pv,
        given_paid_as_rank=np.minimum(paid_as, len(plan.ranks)),
        component_inputs={} if binary_state is None else {"binary": binary_state},
        **_week_order_line_extras(plan, week, line_id, netted),
        **placement_inputs,
    )
    sponsors = sponsors[keep]
    gathered = Gathered(
        period=week,
        plan_version=version,
        plan=plan,
        ids=ids,
        sponsor_ids=sponsors,
        parent_ids=sponsors,
        inputs=inputs,
        extras=extras,
        carried_in=carried_in,
        prior_run_id=prior.pk if prior else None,
        tree_moment=moment,
        timings=timings,
        netted_refund_lines=[int(r) for r in netted],
        placement_parent_ids=placement[0],
        placement_position=placement[1],
    )
    timings["build_inputs"] = time.perf_counter() - mark
    mark = time.perf_counter()
    gathered.input_hash = input_hash(gathered)
    if binary_refunds:  # they change the queue even where they claw nothing back
        refund_ids = ",".join(str(r["id"]) for r in binary_refunds)
        gathered.input_hash = hashlib.sha256(
            f"{gathered.input_hash}|{refund_ids}".encode()
        ).hexdigest()
    timings["hash"] = time.perf_counter() - mark
    return gathered
