"""Binary clawbacks: a refund, in an open period, of volume from a closed period that already
paired takes back its share of that pairing (``commissions.engine.binary``, rule 7).

``sync_binary_clawbacks`` runs as part of ``services.clawbacks.sync_clawbacks`` (at the start of
a calculation and before a close is verified), so the clawbacks are ledger lines of the refund's
period that the run's gather reads like the others (``Clawback`` rows, kind binary, with a
``BinaryClawback`` detail). They are worked out by the engine's own ``refund_clawbacks`` over
the same inputs the period's run hands the binary component: the placement tree as of the
period's moment, the previous period's carry queue and pairing history, and the period's refund
lines by id; the run's ``compute`` then applies the same refunds to the queue and history (the
volume put back, what each pairing has had clawed back), so the two agree.

A pay week's binary (``schedules.weekly``) does the same in weeks (``write_binary_clawbacks``,
called by ``services.weeks.sync_week_clawbacks``).

One ``Clawback`` per (refund line, earner, kind binary, level): ``level`` is the number of
periods (months, or weeks) between the refunded volume's month and the pairing it is taken from
(``original_period``), so a refund whose volume paired in several months has one line per
pairing. They are worked out again at every calculation of the open period: the same inputs
give the same rows, left as they are (the engine serves refunds by id, so later refunds do not
change what earlier ones take back); when the previous period was recalculated in between (its
queue and pairings changed), the stale rows are replaced, so the clawbacks always agree with
the run's queue.
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from core.periods import Period, Week
from genealogy.history import positions_of, tree_as_of
from genealogy.models import Placement, TreeKind

from .binary_state import binary_component_inputs, refunds_in_order, scale_of, uses_binary
from .engine.binary import refund_clawbacks
from .engine.schedules import MONTHLY, schedule_of
from .gather import clawback_candidates, closed_months, previous_run, tree_moment
from .models import BinaryClawback, Clawback, CommissionPeriod, CommissionRun, LineKind
from .services.periods import period_row
from .services.plans import plan_version_for


def _buyers(candidates: list[dict]) -> np.ndarray:
    return np.array([c["distributor_id"] for c in candidates], dtype=np.int64)


def _ancestors(parent: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Every placement ancestor (index) of ``people``, once: only their queue and history
    rows are read."""
    reached = np.zeros(len(parent), dtype=bool)
    current = people[people >= 0]
    while len(current):
        current = parent[current]
        current = current[current >= 0]
        current = current[~reached[current]]  # a shared upline is climbed once
        current = np.unique(current)
        reached[current] = True
    return np.flatnonzero(reached)


def sync_binary_clawbacks(*, period: Period) -> int:
    """Create the binary clawback lines of the period's refunds of closed periods' volume
    that already paired; returns the rows created. Idempotent."""
    row = period_row(period)
    if row.is_locked or not Placement.objects.exists():
        return 0
    plan = plan_version_for(period).plan
    if not uses_binary(plan) or schedule_of(plan, "binary") != MONTHLY:
        return 0
    candidates = clawback_candidates(period, closed_months())
    return write_binary_clawbacks(
        row=row,
        plan=plan,
        period=period,
        candidates=candidates,
        prior=previous_run(period),
        moment=tree_moment(period),
    )


def write_binary_clawbacks(
    *,
    row: CommissionPeriod,
    plan,
    period: Period | Week,
    candidates: list[dict],
    prior: CommissionRun | None,
    moment,
) -> int:
    """The binary clawbacks, into ``row``, of ``candidates`` (refund lines of volume counted in
    closed periods of the same schedule), worked out over the prior run's queue and history
    and the placement tree at ``moment``; a month's and a pay week's alike."""
    candidates = refunds_in_order(candidates)
    if not candidates or prior is None:
        return _replace_binary_clawbacks(row, [], [])
    tree = tree_as_of(TreeKind.PLACEMENT, moment)
    ids = tree.ids
    parent = positions_of(ids, np.where(tree.present, tree.parent_ids, -1))
    position = np.where(parent >= 0, tree.position, -1)
    state = binary_component_inputs(
        plan=plan,
        period=period,
        prior_run_id=prior.pk,
        ids=ids,
        refunds=candidates,
        owners=ids[_ancestors(parent, positions_of(ids, _buyers(candidates)))],
    )
    claws = refund_clawbacks(state, parent, position, plan.options.rounding)
    taking = np.flatnonzero(claws["amount"] > 0)
    scale = scale_of(period)
    first_days = {scale.first_day(int(m)) for m in claws["period"][taking]}
    periods = {
        p.month: p
        for p in CommissionPeriod.every_schedule.filter(schedule=row.schedule, month__in=first_days)
    }
    clawbacks: list[Clawback] = []
    details: list[BinaryClawback] = []
    for i in taking.tolist():
        refund = candidates[int(claws["refund"][i])]
        clawbacks.append(
            Clawback(
                period=row,
                refund_line_id=refund["id"],
                original_period=periods[scale.first_day(int(claws["period"][i]))],
                earner_id=int(ids[claws["owner"][i]]),
                kind=LineKind.BINARY,
                level=int(claws["period"][i] - claws["source_period"][i]),
                source_id=refund["distributor_id"],
                refunded_base=int(claws["volume"][i]),
                original_base=int(claws["paired_volume"][i]),
                original_amount=int(claws["paid"][i]),
                amount=-int(claws["amount"][i]),
            )
        )
        details.append(
            BinaryClawback(
                period=row,
                side=int(claws["side"][i]),
                source_period=scale.first_day(int(claws["source_period"][i])),
                restored=int(claws["restored"][i]),
            )
        )
    return _replace_binary_clawbacks(row, clawbacks, details)


_KEY_FIELDS = (
    "refund_line_id",
    "earner_id",
    "level",
    "original_period_id",
    "source_id",
    "refunded_base",
    "original_base",
    "original_amount",
    "amount",
)


def _replace_binary_clawbacks(
    row: CommissionPeriod, clawbacks: list[Clawback], details: list[BinaryClawback]
) -> int:
    """Make the open period's binary clawbacks exactly ``clawbacks``: nothing is written when
    they are what is stored (a recalculation on the same inputs keeps its rows), and all are
    replaced when they differ: worked out over a previous period's run that has since been
    recalculated, the stored ones are stale. Returns the rows written."""

    def key(clawback: Clawback, detail) -> tuple:
        return (
            *(getattr(clawback, name) for name in _KEY_FIELDS),
            detail.side,
            detail.source_period,
            detail.restored,
        )

    stored = Clawback.objects.filter(period=row, kind=LineKind.BINARY).select_related("binary")
    if sorted(key(c, c.binary) for c in stored) == sorted(
        key(c, d) for c, d in zip(clawbacks, details, strict=True)
    ):
        return 0
    with transaction.atomic():
        BinaryClawback.objects.filter(clawback__in=stored).delete()
        Clawback.objects.filter(period=row, kind=LineKind.BINARY).delete()
        created = Clawback.objects.bulk_create(clawbacks)
        for clawback, detail in zip(created, details, strict=True):
            detail.clawback = clawback
        BinaryClawback.objects.bulk_create(details)
    return len(created)
