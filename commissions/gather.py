"""Gather: one period's inputs read from the database (set-based: binary COPY into numpy)
into the engine's ``EngineInputs``, plus the reads that map a run back to the database.

Reads only (the period row is created on first use); the services that run, close and claw
back call it, and so may selectors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from core.bulk import beside, read_columns
from core.money import to_cents
from core.periods import Period
from genealogy.history import positions_of, sponsors_at, tree_as_of
from genealogy.models import Distributor, DistributorStatus, Placement, TreeKind
from orders.volume import (
    LineSelection,
    clawback_refund_lines,
    period_line_arrays,
    same_period_refund_lines,
)
from orders.volume_summaries import summary_totals

from .binary_state import binary_component_inputs
from .engine import ENGINE_VERSION, EngineInputs
from .engine.plan import Plan
from .engine.schedules import MONTHLY, plan_for_schedule
from .errors import CommissionError
from .gather_extras import company_flags, order_line_extras
from .models import (
    Adjustment,
    AdjustmentStatus,
    Clawback,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    Hold,
    HoldStatus,
    PeriodStatus,
    PlanVersion,
)
from .rank_overrides import rank_override_array
from .services.periods import period_row
from .services.plans import plan_version_for

EPOCH = dt.date(1970, 1, 1)
STATUS_CODES = {
    DistributorStatus.ACTIVE: 0,
    DistributorStatus.INACTIVE: 1,
    DistributorStatus.TERMINATED: 2,
}

# Plan components that read the placement tree (engine/binary.py, matrix.py).
PLACEMENT_COMPONENTS = frozenset({"binary", "matrix"})
# Plan components whose rules read no order line (engine/binary.py, matrix.py, stair_step.py):
# any other component may, and then every line is read.
LINELESS_COMPONENTS = frozenset({"binary", "matrix", "stair_step"})


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
    # The tree as of this moment (the month's end, or now while it runs); the placement tree's
    # parent and position then (-1 none), for the binary and matrix components.
    tree_moment: dt.datetime | None = None
    placement_parent_ids: np.ndarray | None = None
    placement_position: np.ndarray | None = None
    input_hash: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # A week's run: the refund lines its volume is net of (``gather_week``).
    netted_refund_lines: list[int] = field(default_factory=list)


def _day(value: dt.date) -> int:
    return (value - EPOCH).days


def _read_distributors(*, with_placement: bool) -> tuple[np.ndarray, ...]:
    """id, sponsor id, status code, join day, and with ``with_placement`` the placement
    parent id, position and whether placed; sorted by id (-1 for none)."""
    if connection.vendor == "postgresql":
        placement_columns = (
            """, CAST(COALESCE(p.parent_id, -1) AS bigint),
                CAST(COALESCE(p.position, -1) AS bigint),
                CAST(CASE WHEN p.placed_at IS NULL THEN 0 ELSE 1 END AS bigint)"""
            if with_placement
            else ""
        )
        # With the placement tree, a merge join of the two id indexes (in id order anyway);
        # the tree alone, a sequential scan sorted in numpy (twice as fast as an index scan).
        join = (
            " LEFT JOIN genealogy_placement p ON p.distributor_id = d.id ORDER BY d.id"
            if with_placement
            else ""
        )
        columns = read_columns(
            f"""
            SELECT CAST(d.id AS bigint), CAST(COALESCE(d.sponsor_id, -1) AS bigint),
                CAST(CASE d.status WHEN 'active' THEN 0 WHEN 'inactive' THEN 1 ELSE 2 END
                    AS bigint),
                CAST(d.joined_on - DATE '1970-01-01' AS bigint){placement_columns}
            FROM genealogy_distributor d{join}
            """,  # noqa: S608 - fixed text
            {},
            ["int8"] * (7 if with_placement else 4),
        )
        if not with_placement:
            order = np.argsort(columns[0], kind="stable")
            columns = [column[order] for column in columns]
        return tuple(columns)
    fields = ["id", "sponsor_id", "status", "joined_on"]
    if with_placement:
        fields += ["placement__parent", "placement__position", "placement__placed_at"]
    rows = list(Distributor.objects.order_by("id").values_list(*fields))
    columns = [
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64),
        np.array([STATUS_CODES[r[2]] for r in rows], dtype=np.int64),
        np.array([_day(r[3]) for r in rows], dtype=np.int64),
    ]
    if with_placement:
        columns += [
            np.array([-1 if r[4] is None else r[4] for r in rows], dtype=np.int64),
            np.array([-1 if r[5] is None else r[5] for r in rows], dtype=np.int64),
            np.array([r[6] is not None for r in rows], dtype=np.int64),
        ]
    return tuple(columns)


def _index_of(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each id in the sorted ``ids`` (-1 stays -1); refuses unknown ids."""
    values = np.asarray(values, dtype=np.int64)
    index = positions_of(ids, values)
    unknown = (values >= 0) & (index < 0)
    if unknown.any():
        raise CommissionError(f"unknown distributor id {int(values[unknown][0])}")
    return index


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


def tree_moment(period: Period, now: dt.datetime | None = None) -> dt.datetime:
    """The moment a period's tree is read at: the month's end in the company time zone, or now
    while the month is still running."""
    return min(period.end, now or timezone.now())


def gather(
    period: Period, *, plan_version: PlanVersion | None = None, now: dt.datetime | None = None
) -> Gathered:
    """The period's inputs, with the tree as it stood when the month ended (``tree_moment``),
    however much later the month is calculated.

    People who joined after that moment are left out, unless the period's inputs name them (an
    order line, volume, an adjustment, a clawback, a prior result; only inconsistent or
    migrated data does): they are then leaves under the sponsor they joined under, and that
    sponsor is kept too. With ``options.upline: order_time`` each line's first step up is the
    buyer's sponsor when the line was paid (``genealogy.history.sponsors_at``).

    Only what the plan's rules read is read: the placement tree for a binary or matrix
    component, and of the month's order lines those ``lines_read_by`` selects.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    version = plan_version or plan_version_for(period)
    plan = plan_for_schedule(version.plan, MONTHLY)  # a month pays no weekly kind
    row = period_row(period)
    moment = tree_moment(period, now)
    # The placement tree only for the rules that read it (a binary or matrix component).
    placement_rules = bool(PLACEMENT_COMPONENTS & set(plan.components))
    with_placement = placement_rules and Placement.objects.exists()
    # The per-person totals and the order lines the plan reads, each on a connection of its
    # own, while this one reads the tree, the clawbacks and the prior run's results.
    order_time = plan.options.upline == "order_time"
    selection = lines_read_by(plan, period)
    lines_read = beside(lambda: period_line_arrays(period, only=selection, paid_moment=order_time))
    totals_read = beside(lambda: summary_totals(period))
    columns = _read_distributors(with_placement=with_placement)
    all_ids, present_sponsors, all_status, all_joined = columns[:4]
    sponsor_tree = tree_as_of(TreeKind.SPONSOR, moment, present=(all_ids, present_sponsors))
    placement_tree = (
        tree_as_of(TreeKind.PLACEMENT, moment, present=(all_ids, *columns[4:]))
        if with_placement
        else None
    )
    timings["read_distributors"] = time.perf_counter() - started

    mark = time.perf_counter()
    # Per-person totals from the volume summaries kept as orders are paid and refunded (the
    # same figures as orders.volume.period_totals, one row per person instead of every line).
    totals = totals_read()
    # Refunds of orders counted in closed periods are settled by clawback lines: they do not also
    # reduce this period's CV (PV, activity and ranks follow the volume rule as it is).
    closed = closed_months()
    clawed = clawback_candidates(period, closed)

    prior_mark = time.perf_counter()
    prior = previous_run(period)
    prior_columns = (
        _read_results(
            prior.pk,
            [
                "highest_rank",
                "advancement_paid_rank",
                "carried_out",
                "paid_as_rank",
                "grace_months_used",
            ],
        )
        if prior is not None
        else None
    )
    extras_rows = _period_extras(row)
    prior_seconds = time.perf_counter() - prior_mark

    lines = lines_read()
    line_cv, line_profit = _net_of_same_period_refunds(period, lines)
    line_sponsor_ids = (
        sponsors_at(lines.buyer_id, lines.paid_us, present=(all_ids, present_sponsors))
        if order_time
        else None
    )
    timings["read_volume"] = time.perf_counter() - mark - prior_seconds

    mark = time.perf_counter() - prior_seconds
    named = [
        totals.distributor_ids,
        lines.buyer_id,
        np.array([r["distributor_id"] for r in clawed], dtype=np.int64),
        np.array([d for d, _ in extras_rows], dtype=np.int64),
    ]
    if prior_columns is not None:
        named.append(prior_columns[0])
    if line_sponsor_ids is not None:
        named.append(line_sponsor_ids)
    keep, sponsors, sponsor_index = _members_at(sponsor_tree, np.concatenate(named))
    ids = all_ids[keep]
    sponsors = sponsors[keep]
    status = all_status[keep]
    joined = all_joined[keep]
    n = len(ids)
    placement, placement_inputs = placement_arrays(
        placement_tree, keep, ids, for_rules=placement_rules
    )

    pv = np.zeros(n, dtype=np.int64)
    cv = np.zeros(n, dtype=np.int64)
    where = _index_of(ids, totals.distributor_ids)
    pv[where] = totals.pv
    cv[where] = totals.cv
    for refund in clawed:
        cv[_index_of(ids, np.array([refund["distributor_id"]]))[0]] += to_cents(refund["cv"])
    prior_highest = np.zeros(n, dtype=np.int16)
    prior_paid = np.zeros(n, dtype=np.int16)
    carried_in = np.zeros(n, dtype=np.int64)
    prior_paid_as = np.zeros(n, dtype=np.int16)  # rank grace (engine/rank_grace.py)
    grace_used = np.zeros(n, dtype=np.int16)
    if prior_columns is not None:
        prior_ids, highest, paid_rank, carried, paid_as_before, grace_before = prior_columns
        where = _index_of(ids, prior_ids)
        prior_highest[where] = highest
        prior_paid[where] = paid_rank
        carried_in[where] = carried
        prior_paid_as[where] = paid_as_before
        grace_used[where] = grace_before
    on_hold = np.zeros(n, dtype=bool)
    held = np.array(
        Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("distributor_id", flat=True),
        dtype=np.int64,
    )
    held = held[np.isin(held, ids)]  # a hold on someone who had not joined yet holds nothing
    if len(held):
        on_hold[_index_of(ids, held)] = True
    extras = np.zeros(n, dtype=np.int64)
    for distributor_id, amount in extras_rows:
        extras[_index_of(ids, np.array([distributor_id]))[0]] += amount
    timings["read_prior"] = time.perf_counter() - mark

    mark = time.perf_counter()
    binary_state = binary_component_inputs(
        plan=plan, period=period, prior_run_id=prior.pk if prior else None, ids=ids, refunds=clawed
    )
    inputs = EngineInputs(
        parent=sponsor_index,
        enroller=sponsor_index,
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
        prior_paid_as_rank=np.minimum(prior_paid_as, len(plan.ranks)),
        grace_months_used=grace_used,
        rank_override=rank_override_array(period, plan, ids),
        # Adjustments and clawbacks enter the balance like carried money (never capped).
        carried_in=carried_in + extras,
        on_hold=on_hold,
        is_company=company_flags(ids),  # the house account never earns
        **order_line_extras(plan, period, lines.line_id),
        line_parent_at_order=(
            None if line_sponsor_ids is None else _index_of(ids, line_sponsor_ids)
        ),
        component_inputs={} if binary_state is None else {"binary": binary_state},
        **placement_inputs,
    )
    gathered = Gathered(
        period=period,
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
        placement_parent_ids=placement[0],
        placement_position=placement[1],
        timings=timings,
    )
    timings["build_inputs"] = time.perf_counter() - mark
    mark = time.perf_counter()
    gathered.input_hash = input_hash(gathered)
    timings["hash"] = time.perf_counter() - mark
    return gathered


def placement_arrays(
    placement_tree, keep: np.ndarray, ids: np.ndarray, *, for_rules: bool
) -> tuple[tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]:
    """The placement parent ids and positions of the people kept (-1: none), and, when a rule
    reads the placement tree, the engine's ``placement_parent`` (indices; a parent outside the
    arrays is a root) and ``placement_position``; a month's and a pay week's gather alike."""
    n = len(ids)
    if placement_tree is None:
        placement = (np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))
    else:
        there = placement_tree.present[keep]
        placement = (
            np.where(there, placement_tree.parent_ids[keep], -1),
            np.where(there, placement_tree.position[keep], -1),
        )
    if not for_rules:
        return placement, {}
    parent = positions_of(ids, placement[0])
    return placement, {
        "placement_parent": parent,
        "placement_position": np.where(parent >= 0, placement[1], -1).astype(np.int16),
    }


def lines_read_by(plan: Plan, period: Period) -> LineSelection | None:
    """The period's order lines the plan's rules read, or None for every line.

    With the unilevel paid per source distributor (``upline: period_close``), the engine reads
    order lines only for retail profit (lines with profit) and the fast start (lines paid in
    the buyer's first ``fast_start.days`` days: buyers who joined late enough for a line of the
    period to fall in their window, and any line paid before the period began, as a late
    payment counts in a later month with its own day). The engine applies the exact rules to
    what is read (refunds netted, the window per line), so a rule sees the same lines as if
    every line had been read; the input hash covers what is read, which the plan (hashed)
    decides. An order-time upline or a component that may read lines reads every line.
    """
    if plan.options.upline == "order_time" or set(plan.components) - LINELESS_COMPONENTS:
        return None
    if plan.fast_start_rate == 0 and not any(plan.fast_start_generation_rates):
        return LineSelection(retail_profit=plan.retail_profit_enabled)
    # A line paid in the month is in the window when its buyer joined at most ``days - 1``
    # days before the line's day, and not after it.
    after = period.first_day - dt.timedelta(days=plan.fast_start_days)
    return LineSelection(
        retail_profit=plan.retail_profit_enabled,
        buyers_joined=(after, period.last_day),
        paid_before=period.start,
    )


def _net_of_same_period_refunds(period: Period, lines) -> tuple[np.ndarray, np.ndarray]:
    """Each line's CV and retail profit less what same-period refunds took back (never below
    0), before fast start and retail profit."""
    line_cv = lines.cv.copy()
    line_profit = lines.retail_profit.copy()
    refunds = list(
        same_period_refund_lines(period).values_list("order_line_id", "cv", "retail_profit")
    )
    if refunds and len(lines.line_id):
        refunded = np.array([r[0] for r in refunds], dtype=np.int64)
        position = np.minimum(np.searchsorted(lines.line_id, refunded), len(lines.line_id) - 1)
        read = lines.line_id[position] == refunded  # a refund of a line not read changes nothing
        cv = np.array([to_cents(r[1]) for r in refunds], dtype=np.int64)
        profit = np.array([to_cents(r[2]) for r in refunds], dtype=np.int64)
        np.subtract.at(line_cv, position[read], cv[read])
        np.subtract.at(line_profit, position[read], profit[read])
    return np.maximum(line_cv, 0), np.maximum(line_profit, 0)


def _members_at(tree, named: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who is in the period's arrays (a mask over ``tree.ids``), each one's sponsor id then and
    the sponsor's index among the kept people (-1 none).

    Everyone in the sponsor tree at the moment, plus the people the inputs name who were not
    yet: each such person is a leaf under the sponsor they joined under. A kept person's
    sponsor is always kept (a few steps up at most, and only for data that names people
    before they joined, or an import whose people joined before their sponsor's row did).
    """
    keep = tree.present.copy()
    sponsors = tree.parent_ids.copy()
    absent = ~tree.present
    up = _index_of(tree.ids, sponsors)  # index in tree.ids, -1 none
    if not absent.any():  # the usual case: a month calculated while it runs or just after
        return keep, sponsors, up
    sponsors[absent] = tree.arrival_parent_ids[absent]
    up[absent] = _index_of(tree.ids, sponsors[absent])
    named = _index_of(tree.ids, named)
    keep[named[named >= 0]] = True
    has_sponsor = up >= 0
    while True:
        missing = keep & has_sponsor
        missing[missing] = ~keep[up[missing]]
        if not missing.any():
            break
        keep[up[missing]] = True
    new_index = np.cumsum(keep) - 1
    kept_up = up[keep]
    return keep, sponsors, np.where(kept_up >= 0, new_index[np.maximum(kept_up, 0)], -1)


def input_hash(gathered: Gathered) -> str:
    """sha256 over the plan, engine version and every input array (bytes, fixed order).

    The tree's moment itself is not hashed, its arrays are: a projection of the running month
    whose tree and volume have not changed keeps its hash as the clock moves."""
    digest = hashlib.sha256()
    digest.update(ENGINE_VERSION.encode())
    digest.update(json.dumps(gathered.plan_version.document, sort_keys=True).encode())
    digest.update(str(gathered.period).encode())
    digest.update(str(gathered.prior_run_id).encode())
    inputs = gathered.inputs
    arrays = [
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
        inputs.prior_paid_as_rank,
        inputs.grace_months_used,
        inputs.rank_override,
        gathered.carried_in,
        gathered.extras,
        inputs.on_hold,
        gathered.placement_parent_ids,
        gathered.placement_position,
    ]
    if inputs.line_parent_at_order is not None:
        arrays.append(inputs.line_parent_at_order)
    arrays += [inputs.is_company, inputs.line_units, inputs.line_order_id]  # (settle, awards)
    for weekly in (inputs.activity_pv, inputs.given_paid_as_rank):  # a week's (gather_week)
        if weekly is not None:
            arrays.append(weekly)
    for array in arrays:
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


def clawback_candidates(period: Period, closed: set[dt.date]) -> list[dict]:
    """Refund lines counting in ``period`` of order lines counted in a closed earlier period."""
    rows = list(
        clawback_refund_lines(period).values(
            "id",
            "order_line_id",
            "order_line__order_id",
            "distributor_id",
            "quantity",
            "cv",
            "pv",
            "retail_profit",
            "order_commission_month",
        )
    )
    return [r for r in rows if r["order_commission_month"] in closed]
