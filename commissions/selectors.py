"""Reads for the earnings pages: whose statement a user may open, the statement itself and the
explanation of one line.

Statements are private: a distributor sees only their own; staff see anyone's (``?number=``),
always through the genealogy access rule; anything else is a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import connection
from django.http import Http404

from config.bulk import read_columns
from genealogy.models import Distributor
from genealogy.selectors import distributor_for_user, get_visible_distributor
from orders.models import OrderLine
from orders.periods import Period

from .engine.explain import FrozenForest, explain_unilevel_path, unilevel_sources
from .models import (
    LOCKED_STATUSES,
    Adjustment,
    AdjustmentStatus,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    LineKind,
    PeriodStatus,
    cents_to_decimal,
)
from .services import frozen_chain

EXPLAINED_SOURCES = 50  # sources listed in one drill-down (the rest are counted)


def statement_owner(user, number: str | None) -> Distributor:
    """The distributor whose earnings ``user`` asks for, or 404.

    Without ``number``: the user's own. With it: looked up through the access rule, then
    narrowed to the user's own unless they are staff (a sponsor does not read a downline
    member's statement).
    """
    if not user.is_authenticated:
        raise Http404
    if number in (None, ""):
        own = distributor_for_user(user)
        if own is None:
            raise Http404("You have no distributor account.")
        return own
    if not str(number).isdigit():
        raise Http404
    distributor = get_visible_distributor(user, number=int(number))
    if not user.is_staff and distributor.user_id != user.pk:
        raise Http404("No such statement.")
    return distributor


def visible_period(user, text: str) -> CommissionPeriod:
    """A period whose statement the user may open: closed or paid ones; staff also see a
    calculated period under review."""
    try:
        period = Period.parse(text)
    except ValueError:
        raise Http404 from None
    row = (
        CommissionPeriod.objects.select_related("current_run")
        .filter(month=period.first_day)
        .first()
    )
    allowed = (PeriodStatus.CALCULATED, *LOCKED_STATUSES) if user.is_staff else LOCKED_STATUSES
    if row is None or row.current_run_id is None or row.status not in allowed:
        raise Http404("No statement for this period.")
    return row


@dataclass
class HistoryRow:
    period: CommissionPeriod
    result: DistributorResult | None


def earnings_history(distributor: Distributor, *, include_review: bool) -> list[HistoryRow]:
    """Every period with a statement for the distributor, newest first (two queries)."""
    statuses = (PeriodStatus.CALCULATED, *LOCKED_STATUSES) if include_review else LOCKED_STATUSES
    periods = list(
        CommissionPeriod.objects.filter(status__in=statuses, current_run__isnull=False).order_by(
            "-month"
        )
    )
    results = {
        r.run_id: r
        for r in DistributorResult.objects.filter(
            run_id__in=[p.current_run_id for p in periods], distributor=distributor
        )
    }
    return [HistoryRow(p, results.get(p.current_run_id)) for p in periods]


def projection_for(distributor: Distributor) -> tuple[CommissionRun, DistributorResult] | None:
    """The open month's projected figures for the distributor, with the run's "as of"."""
    row = (
        CommissionPeriod.objects.filter(projection_run__isnull=False)
        .exclude(status__in=LOCKED_STATUSES)
        .select_related("projection_run")
        .order_by("-month")
        .first()
    )
    if row is None:
        return None
    result = DistributorResult.objects.filter(
        run_id=row.projection_run_id, distributor=distributor
    ).first()
    return (row.projection_run, result) if result else None


@dataclass
class StatementLine:
    line: CommissionLine
    description: str
    amount: Decimal
    explainable: bool


@dataclass
class Statement:
    distributor: Distributor
    period: CommissionPeriod
    run: CommissionRun
    result: DistributorResult | None
    rank_names: list[str]
    lines: list[StatementLine] = field(default_factory=list)
    clawbacks: list[Clawback] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    totals_by_kind: dict[str, Decimal] = field(default_factory=dict)

    @property
    def paid_as_rank(self) -> str:
        return self.rank_names[self.result.paid_as_rank] if self.result else self.rank_names[0]

    @property
    def highest_rank(self) -> str:
        return self.rank_names[self.result.highest_rank] if self.result else self.rank_names[0]


def _describe(line: CommissionLine, names: dict[int, str]) -> str:
    rate = f"{line.rate_percent.normalize():f} %"
    base = f"{cents_to_decimal(line.base):,.2f}"
    if line.kind == LineKind.UNILEVEL:
        if line.source_id:
            return f"Unilevel level {line.level}: {rate} of {base} CV from {names[line.source_id]}"
        return f"Unilevel level {line.level}: {rate} of {base} CV from your team"
    if line.kind == LineKind.MATCHING:
        return (
            f"Matching generation {line.level}: {rate} of {base} unilevel earnings of "
            f"{names.get(line.source_id, 'an enrollee')}"
        )
    if line.kind == LineKind.RETAIL_PROFIT:
        return f"Retail profit on order line #{line.source_line_id}: {base}"
    if line.kind == LineKind.FAST_START:
        return (
            f"Fast start: {rate} of {base} CV of {names.get(line.source_id, 'a new enrollee')}"
            f" (order line #{line.source_line_id})"
        )
    return f"Rank advancement bonus (rank {line.level})"


def statement(distributor: Distributor, row: CommissionPeriod) -> Statement:
    run = row.current_run
    result = DistributorResult.objects.filter(run=run, distributor=distributor).first()
    lines = list(CommissionLine.objects.filter(run=run, earner=distributor).order_by("position"))
    clawbacks = list(
        Clawback.objects.filter(period=row, earner=distributor)
        .select_related("original_period", "source__user")
        .order_by("id")
    )
    adjustments = list(
        Adjustment.objects.filter(
            period=row, distributor=distributor, status=AdjustmentStatus.APPROVED
        ).order_by("id")
    )
    source_ids = {line.source_id for line in lines if line.source_id}
    names = {
        pk: name or email
        for pk, name, email in Distributor.objects.filter(pk__in=source_ids).values_list(
            "pk", "user__name", "user__email"
        )
    }
    rank_names = run.summary.get("rank_names") or ["(no rank)"]
    totals: dict[str, Decimal] = {}
    rows = []
    for line in lines:
        label = LineKind(line.kind).label
        totals[label] = totals.get(label, Decimal("0.00")) + cents_to_decimal(line.amount)
        rows.append(
            StatementLine(
                line=line,
                description=_describe(line, names),
                amount=cents_to_decimal(line.amount),
                explainable=line.kind
                in (LineKind.UNILEVEL, LineKind.RETAIL_PROFIT, LineKind.FAST_START),
            )
        )
    if clawbacks:
        totals["Clawbacks"] = sum((cents_to_decimal(c.amount) for c in clawbacks), Decimal("0.00"))
    if adjustments:
        totals["Adjustments"] = sum(
            (cents_to_decimal(a.amount) for a in adjustments), Decimal("0.00")
        )
    return Statement(
        distributor=distributor,
        period=row,
        run=run,
        result=result,
        rank_names=rank_names,
        lines=rows,
        clawbacks=clawbacks,
        adjustments=adjustments,
        totals_by_kind=totals,
    )


def statement_line(distributor: Distributor, row: CommissionPeriod, line_id: int) -> CommissionLine:
    line = CommissionLine.objects.filter(
        pk=line_id, run_id=row.current_run_id, earner=distributor
    ).first()
    if line is None:
        raise Http404("No such line on this statement.")
    return line


@dataclass
class SourceExplanation:
    name: str
    number: int
    level: int
    base: Decimal
    rate: Decimal
    amount: Decimal
    skipped: list[str]


def frozen_forest(run_id: int) -> tuple[np.ndarray, FrozenForest]:
    """A run's frozen forest (ids sorted; parents as indices)."""
    if connection.vendor == "postgresql":
        ids, parents, active, rank, cv = read_columns(
            "SELECT CAST(distributor_id AS bigint), CAST(COALESCE(parent_id, -1) AS bigint), "
            "is_active, CAST(paid_as_rank AS bigint), CAST(cv AS bigint) "
            "FROM commissions_distributorresult WHERE run_id = %(run)s ORDER BY distributor_id",
            {"run": run_id},
            ["int8", "int8", "bool", "int8", "int8"],
        )
    else:
        rows = list(
            DistributorResult.objects.filter(run_id=run_id)
            .order_by("distributor_id")
            .values_list("distributor_id", "parent_id", "is_active", "paid_as_rank", "cv")
        )
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        parents = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
        active = np.array([r[2] for r in rows], dtype=bool)
        rank = np.array([r[3] for r in rows], dtype=np.int64)
        cv = np.array([r[4] for r in rows], dtype=np.int64)
    position = np.searchsorted(ids, parents)
    parent_index = np.where(parents >= 0, np.minimum(position, len(ids) - 1), -1)
    return ids, FrozenForest(parent_index, active, rank, np.maximum(cv, 0))


def explain_unilevel_line(line: CommissionLine) -> tuple[list[SourceExplanation], int]:
    """Every source of an (earner, level) unilevel line, re-derived from the frozen run, with
    who was skipped on the way up; returns the first ``EXPLAINED_SOURCES`` and the count."""
    run = line.run
    plan = run.plan_version.plan
    ids, frozen = frozen_forest(run.pk)
    earner_index = int(np.searchsorted(ids, line.earner_id))
    sources = unilevel_sources(plan, frozen, earner_index, level=line.level)
    shown = sources.source[:EXPLAINED_SOURCES]
    people = {
        d.pk: d
        for d in Distributor.objects.select_related("user").filter(pk__in=ids[shown].tolist())
    }
    explanations = []
    for position, index in enumerate(shown.tolist()):
        source_id = int(ids[index])
        chain = frozen_chain(run.pk, source_id, plan)
        skipped = explain_unilevel_path(
            chain,
            earner_id=line.earner_id,
            level=line.level,
            compression=plan.options.compression,
            levels=len(plan.unilevel_ppm),
        )
        skipped_people = {
            d.pk: d.display_name
            for d in Distributor.objects.select_related("user").filter(
                pk__in=[s.distributor_id for s in skipped or ()]
            )
        }
        notes = [
            f"{skipped_people.get(s.distributor_id, s.distributor_id)} "
            + (
                "was inactive and was skipped"
                if s.reason == "inactive"
                else f"had not unlocked level {s.level} and was skipped"
            )
            for s in skipped or ()
        ]
        person = people[source_id]
        explanations.append(
            SourceExplanation(
                name=person.display_name,
                number=person.number,
                level=int(sources.level[position]),
                base=cents_to_decimal(int(sources.base[position])),
                rate=Decimal(int(sources.rate_ppm[position])) / 10_000,
                amount=cents_to_decimal(int(sources.amount[position])),
                skipped=notes,
            )
        )
    return explanations, len(sources)


def order_line_detail(line: CommissionLine) -> OrderLine | None:
    if not line.source_line_id:
        return None
    return (
        OrderLine.objects.select_related("order", "order__customer")
        .filter(pk=line.source_line_id)
        .first()
    )
