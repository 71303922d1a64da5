"""Reads for the earnings pages: whose statement a user may open, the statement itself and the
explanation of one line.

Statements are private: a distributor sees only their own; staff see anyone's (``?number=``),
always through the genealogy access rule; anything else is a 404, never a 403.

A statement is a month's or, when the plan pays weekly, a pay week's (``visible_week``): the
same statement, CSV and line reads serve both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from accounts.access import has_staff_powers
from core.bulk import read_columns
from core.periods import Period
from genealogy.models import Distributor
from genealogy.selectors import distributor_for_user, get_visible_distributor
from orders.models import OrderLine

from .binary_state import binary_clawback_text, binary_line_text, carried_into
from .engine import KINDS
from .engine.components import REGISTRY as COMPONENTS
from .engine.explain import FrozenForest, Upline, explain_unilevel_path, unilevel_sources
from .engine.money import rate_to_percent
from .engine.plan import Plan
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
    Schedule,
    cents_to_decimal,
)
from .rank_overrides import paid_as_explanation

EXPLAINED_SOURCES = 50  # sources listed on one page of a drill-down


def latest_closed_run_id() -> int | None:
    """The final run of the latest closed (or paid) period: where ranks are official."""
    return (
        CommissionPeriod.objects.filter(status__in=LOCKED_STATUSES, current_run__isnull=False)
        .order_by("-month")
        .values_list("current_run_id", flat=True)
        .first()
    )


def highest_ranks(distributor_ids: list[int]) -> dict[int, int]:
    """The highest rank each person has reached (absent = 0): ``highest_rank`` in the latest
    closed period's final run. The engine carries it from run to run (the larger of the prior
    highest and this period's paid-as rank), so that one figure holds the whole history; the
    one definition training audiences, announcements and messages use."""
    run_id = latest_closed_run_id()
    if run_id is None:
        return {}
    rows = DistributorResult.objects.filter(
        run_id=run_id, distributor_id__in=distributor_ids
    ).values_list("distributor_id", "highest_rank")
    return {pk: int(highest or 0) for pk, highest in rows}


def frozen_chain(run_id: int, distributor_id: int, plan: Plan) -> list[Upline]:
    """The uplines of ``distributor_id`` in a run's frozen tree, nearest first."""
    return frozen_chains(run_id, [distributor_id], plan).get(distributor_id, [])


def frozen_chains(run_id: int, distributor_ids, plan: Plan) -> dict[int, list[Upline]]:
    """The uplines of each of ``distributor_ids`` in a run's frozen tree, nearest first: one
    recursive query for all of them (a refund batch asks for every buyer's chain)."""
    starts = sorted({int(d) for d in distributor_ids})
    if not starts:
        return {}
    unlocked = plan.rank_table("unilevel_levels")
    condition, params = (
        ("= ANY(%s)", [starts])
        if connection.vendor == "postgresql"
        else (f"IN ({', '.join(['%s'] * len(starts))})", starts)
    )
    sql = f"""
        WITH RECURSIVE up(start, distributor_id, parent_id, is_active, paid_as_rank, depth) AS (
            SELECT r.distributor_id, r.distributor_id, r.parent_id, r.is_active,
                   r.paid_as_rank, 0
            FROM commissions_distributorresult r
            WHERE r.run_id = %s AND r.distributor_id {condition}
            UNION ALL
            SELECT up.start, r.distributor_id, r.parent_id, r.is_active, r.paid_as_rank,
                   up.depth + 1
            FROM commissions_distributorresult r JOIN up ON r.distributor_id = up.parent_id
            WHERE r.run_id = %s
        )
        SELECT start, distributor_id, is_active, paid_as_rank FROM up WHERE depth > 0
        ORDER BY start, depth
    """  # noqa: S608 - the condition is built from placeholders only
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, *params, run_id])
        rows = cursor.fetchall()
    chains: dict[int, list[Upline]] = {start: [] for start in starts}
    for start, person, active, rank in rows:
        chains[int(start)].append(Upline(int(person), bool(active), int(unlocked[int(rank)])))
    return chains


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
    if not has_staff_powers(user) and distributor.user_id != user.pk:
        raise Http404("No such statement.")
    return distributor


def _statement_statuses(user) -> tuple[str, ...]:
    """Closed or paid periods; staff also see a calculated one under review."""
    if has_staff_powers(user):
        return (PeriodStatus.CALCULATED, *LOCKED_STATUSES)
    return LOCKED_STATUSES


def _open_to(user, row: CommissionPeriod | None) -> CommissionPeriod:
    if row is None or row.current_run_id is None or row.status not in _statement_statuses(user):
        raise Http404("No statement for this period.")
    return row


def visible_period(user, text: str) -> CommissionPeriod:
    """A month whose statement the user may open: closed or paid ones; staff also see a
    calculated month under review."""
    try:
        period = Period.parse(text)
    except ValueError:
        raise Http404 from None
    row = (
        CommissionPeriod.objects.select_related("current_run")
        .filter(month=period.first_day)
        .first()
    )
    return _open_to(user, row)


WEEK_KEY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def visible_week(user, text: str) -> CommissionPeriod:
    """A pay week whose statement the user may open, named by its first day ``YYYY-MM-DD``
    (exactly that: anything else, or a day no pay week starts on, is a 404), with the same
    statuses as a month's."""
    if not WEEK_KEY.fullmatch(text or ""):
        raise Http404("A pay week is named by its first day, YYYY-MM-DD.")
    try:
        first_day = dt.date.fromisoformat(text)
    except ValueError:
        raise Http404("No such day.") from None
    row = (
        CommissionPeriod.every_schedule.select_related("current_run")
        .filter(schedule=Schedule.WEEKLY, month=first_day)
        .first()
    )
    return _open_to(user, row)


def is_week(row: CommissionPeriod) -> bool:
    return row.schedule == Schedule.WEEKLY


def period_key(row: CommissionPeriod) -> str:
    """What names the period in its statement's URLs: ``2026-03`` for a month, the first day
    ``2026-03-09`` for a pay week (under ``week-``: ``urls.py``)."""
    return row.month.isoformat() if is_week(row) else str(row.period)


def period_label(row: CommissionPeriod) -> str:
    """ "March 2026", or "Week of 2026-03-09" for a pay week."""
    return f"Week of {row.month.isoformat()}" if is_week(row) else row.period.label


@dataclass
class HistoryRow:
    period: CommissionPeriod
    result: DistributorResult | None
    paid_as: str = ""  # the paid-as rank's name in the period's run

    @property
    def is_week(self) -> bool:
        return is_week(self.period)

    @property
    def key(self) -> str:
        return period_key(self.period)

    @property
    def label(self) -> str:
        return period_label(self.period)


def first_statement_month(distributor: Distributor) -> dt.date:
    """The first month a person has a statement for: the month they joined. (A run covers
    everyone in the tree when it is calculated, so a recalculated or seeded past month can list
    people who joined after it, with nothing: they get no statement for it.)"""
    return distributor.joined_on.replace(day=1)


def earnings_history(distributor: Distributor, *, include_review: bool) -> list[HistoryRow]:
    """Every period with a statement for the distributor, newest first (three queries): each
    month from the one they joined, and each pay week from the one they joined whose run has
    them (a week's run holds only the people it touched: buyers, their uplines, balances
    carried, adjustments and clawbacks), so a plan that pays weekly lists its weeks beside the
    months."""
    statuses = (PeriodStatus.CALCULATED, *LOCKED_STATUSES) if include_review else LOCKED_STATUSES
    joined = distributor.joined_on
    in_week_run = Exists(
        DistributorResult.objects.filter(run_id=OuterRef("current_run_id"), distributor=distributor)
    )
    periods = list(
        CommissionPeriod.every_schedule.filter(status__in=statuses, current_run__isnull=False)
        .filter(
            Q(schedule=Schedule.MONTHLY, month__gte=first_statement_month(distributor))
            | Q(in_week_run, schedule=Schedule.WEEKLY, month__gt=joined - dt.timedelta(days=7))
        )
        .order_by("-month", "schedule")
    )
    run_ids = [p.current_run_id for p in periods]
    results = {
        r.run_id: r
        for r in DistributorResult.objects.filter(run_id__in=run_ids, distributor=distributor)
    }
    rank_names = dict(
        CommissionRun.objects.filter(pk__in=run_ids).values_list("pk", "summary__rank_names")
    )
    rows = []
    for p in periods:
        result = results.get(p.current_run_id)
        names = rank_names.get(p.current_run_id) or []
        rank = result.paid_as_rank if result else None
        paid_as = "" if rank is None else names[rank] if 0 <= rank < len(names) else str(rank)
        rows.append(HistoryRow(p, result, paid_as))
    return rows


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


def week_preview_for(distributor: Distributor) -> tuple[CommissionPeriod, DistributorResult] | None:
    """The latest pay week calculated and not yet closed, with the distributor's figures in it
    (a week's preview is its calculation until it closes; a month's is its projection run)."""
    row = (
        CommissionPeriod.every_schedule.filter(
            schedule=Schedule.WEEKLY, status=PeriodStatus.CALCULATED, current_run__isnull=False
        )
        .select_related("current_run")
        .order_by("-month")
        .first()
    )
    if row is None:
        return None
    result = DistributorResult.objects.filter(
        run_id=row.current_run_id, distributor=distributor
    ).first()
    return (row, result) if result else None


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
    # Why the paid-as rank is not simply what they qualified for (rank grace, staff override).
    paid_as_note: str = ""

    @property
    def label(self) -> str:
        return period_label(self.period)

    @property
    def is_week(self) -> bool:
        return is_week(self.period)

    @property
    def paid_as_rank(self) -> str:
        return self.rank_names[self.result.paid_as_rank] if self.result else self.rank_names[0]

    @property
    def highest_rank(self) -> str:
        return self.rank_names[self.result.highest_rank] if self.result else self.rank_names[0]


def _describe(line: CommissionLine, names: dict[int, str], *, per_source_rounding: bool) -> str:
    rate = f"{line.rate_percent.normalize():f} %"
    base = f"{cents_to_decimal(line.base):,.2f}"
    if line.kind == LineKind.UNILEVEL:
        if line.source_id:
            return f"Unilevel level {line.level}: {rate} of {base} CV from {names[line.source_id]}"
        return f"Unilevel level {line.level}: {rate} of {base} CV from your team" + (
            ", each source rounded to the cent before summing" if per_source_rounding else ""
        )
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
    if line.kind == LineKind.BINARY:
        return binary_line_text(line, line.run)
    if line.kind == LineKind.RANK_ADVANCEMENT:
        return f"Rank advancement bonus (rank {line.level})"
    return _component_text(line)


def _binary_unit(run: CommissionRun | None) -> str:
    plan = run.plan_version.plan if run is not None and run.plan_version is not None else None
    binary = plan.components.get("binary") if plan is not None else None
    return (binary.volume or "cv").upper() if binary is not None else "CV"


def _component_text(line: CommissionLine) -> str:
    """A plan component's own words for its line (``ComponentSpec.explain``), with the
    component's options from the run's plan version."""
    kind = KINDS[line.kind]
    plan = line.run.plan_version.plan
    for key, options in plan.components.items():
        spec = COMPONENTS[key]
        if kind in spec.kinds and spec.explain is not None:
            if len(spec.kinds) > 1:
                return spec.explain(line, options, kind)  # e.g. stair-step's two kinds
            return spec.explain(line, options)
    return f"{LineKind(line.kind).label}: {cents_to_decimal(line.amount):,.2f}"


def statement(distributor: Distributor, row: CommissionPeriod) -> Statement:
    run = row.current_run
    result = DistributorResult.objects.filter(run=run, distributor=distributor).first()
    lines = list(
        CommissionLine.objects.filter(run=run, earner=distributor)
        .select_related("run__plan_version")
        .order_by("position")
    )
    clawbacks = list(
        Clawback.objects.filter(period=row, earner=distributor)
        .select_related("original_period", "source__user", "binary")
        .order_by("id")
    )
    for claw in clawbacks:  # a binary clawback says which leg and pairing (binary_state)
        claw.description = (
            binary_clawback_text(claw, _binary_unit(run)) if claw.kind == LineKind.BINARY else ""
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
    # A team unilevel line is the sum of its sources, each rounded on its own: say so.
    per_source_rounding = any(
        line.kind == LineKind.UNILEVEL and not line.source_id for line in lines
    ) and (run.plan_version.plan.options.rounding_point == "line")
    totals: dict[str, Decimal] = {}
    rows = []
    for line in lines:
        label = LineKind(line.kind).label
        totals[label] = totals.get(label, Decimal("0.00")) + cents_to_decimal(line.amount)
        rows.append(
            StatementLine(
                line=line,
                description=_describe(line, names, per_source_rounding=per_source_rounding),
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
        paid_as_note=_paid_as_note(distributor, row, run, result),
    )


def _paid_as_note(
    distributor: Distributor,
    row: CommissionPeriod,
    run: CommissionRun,
    result: DistributorResult | None,
) -> str:
    if result is None or run.plan_version is None:
        return ""
    if is_week(row):  # gather_week: ranks are the latest closed month's, taken as they are
        return "rank of the latest month closed before this week" if result.paid_as_rank else ""
    return paid_as_explanation(
        plan=run.plan_version.plan,
        period=row.period,
        distributor_id=distributor.pk,
        paid_as_rank=result.paid_as_rank,
        grace_months_used=result.grace_months_used,
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


@dataclass
class LineExplanation:
    """One page of a unilevel line's sources, with the arithmetic of the whole line."""

    line: CommissionLine
    sources: list[SourceExplanation]  # the page shown
    page: Page  # of source positions, EXPLAINED_SOURCES a page
    total_sources: int
    base_total: Decimal  # every source's CV
    sources_amount: Decimal  # every source's own amount, each rounded to the cent, summed
    rounding_point: str  # the plan's: "line" or "earner_kind_total"

    @property
    def amount_before_cap(self) -> Decimal:
        return cents_to_decimal(self.line.amount_before_cap)

    @property
    def amount(self) -> Decimal:
        return cents_to_decimal(self.line.amount)

    @property
    def is_capped(self) -> bool:
        return self.line.amount != self.line.amount_before_cap

    @property
    def rounding_note(self) -> str:
        """How the sources make the line, in words, so the sums shown add up."""
        if self.rounding_point == "line":
            return (
                "Each source was rounded to the cent on its own before summing, so the line "
                "is the sum of the amounts listed (not the rate applied to the total CV)."
            )
        return (
            "The plan rounds once, on the total of all your unilevel lines, and splits that "
            "total back over them; the amounts listed are each source rounded to the cent on "
            f"its own and add up to {self.sources_amount:,.2f}; the line is "
            f"{self.amount_before_cap:,.2f} before any cap."
        )


def _line_sources(line: CommissionLine, *, level: int | None):
    """The run's plan, its ids and the re-derived sources of ``line``'s earner (one level, or
    every level with ``level=None``)."""
    run = line.run
    plan = run.plan_version.plan
    ids, frozen = frozen_forest(run.pk)
    earner_index = int(np.searchsorted(ids, line.earner_id))
    return plan, ids, unilevel_sources(plan, frozen, earner_index, level=level)


def explain_unilevel_line(line: CommissionLine, *, page: object = 1) -> LineExplanation:
    """Every source of an (earner, level) unilevel line, re-derived from the frozen run, with
    who was skipped on the way up, a page of ``EXPLAINED_SOURCES`` at a time, and the sums of
    all of them (so the page can show that they add up to the line)."""
    plan, ids, sources = _line_sources(line, level=line.level)
    paged = Paginator(range(len(sources)), EXPLAINED_SOURCES).get_page(page)
    positions = list(paged.object_list)
    shown = sources.source[positions] if positions else sources.source[:0]
    people = {
        d.pk: d
        for d in Distributor.objects.select_related("user").filter(pk__in=ids[shown].tolist())
    }
    run = line.run
    explanations = []
    for position, index in zip(positions, shown.tolist(), strict=True):
        source_id = int(ids[index])
        chain = frozen_chain(run.pk, source_id, plan)
        skipped = explain_unilevel_path(
            chain,
            earner_id=line.earner_id,
            level=line.level,
            compression=plan.options.compression,
            levels=len(plan.unilevel_rates),
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
                rate=rate_to_percent(int(sources.rate[position])),
                amount=cents_to_decimal(int(sources.amount[position])),
                skipped=notes,
            )
        )
    return LineExplanation(
        line=line,
        sources=explanations,
        page=paged,
        total_sources=len(sources),
        base_total=cents_to_decimal(int(sources.base.sum())),
        sources_amount=cents_to_decimal(int(sources.amount.sum())),
        rounding_point=plan.options.rounding_point,
    )


STATEMENT_CSV_HEADER = [
    "period",
    "kind",
    "level",
    "source_number",
    "source_name",
    "description",
    "base",
    "rate_percent",
    "amount",
]


def statement_csv_rows(data: Statement) -> Iterator[list]:
    """The statement as CSV rows (no header: ``STATEMENT_CSV_HEADER``), one per source.

    A unilevel line paid on the team's CV is written as its sources, each with its own
    rounded amount; where the line differs from their sum (a payout cap, or a plan that
    rounds the earner's total), a row says so, so the amounts always add up to the statement.
    Money and volumes are ``Decimal`` (the CSV writer keeps them numbers).
    """
    period = str(data.period.period)
    per_level: dict[int, list[tuple[int, int, int, int]]] = {}
    names: dict[int, tuple[int, str]] = {}
    folded = [
        item.line
        for item in data.lines
        if item.line.kind == LineKind.UNILEVEL and not item.line.source_id
    ]
    if folded:
        _, ids, sources = _line_sources(folded[0], level=None)
        for index, level, base, rate, amount in zip(
            sources.source.tolist(),
            sources.level.tolist(),
            sources.base.tolist(),
            sources.rate.tolist(),
            sources.amount.tolist(),
            strict=True,
        ):
            per_level.setdefault(level, []).append((int(ids[index]), base, rate, amount))
    # Every source named: a team line's people, and each line's own (fast start, matching).
    source_ids = {source for rows in per_level.values() for source, *_ in rows}
    source_ids |= {item.line.source_id for item in data.lines if item.line.source_id}
    if source_ids:
        names = {
            pk: (number, name or email)
            for pk, number, name, email in Distributor.objects.filter(
                pk__in=source_ids
            ).values_list("pk", "number", "user__name", "user__email")
        }
    for item in data.lines:
        line = item.line
        kind = LineKind(line.kind).label
        if line.kind == LineKind.UNILEVEL and not line.source_id:
            listed = 0
            for source, base, rate, amount in per_level.get(line.level, []):
                number, name = names.get(source, ("", ""))
                percent = rate_to_percent(rate)
                yield [
                    period,
                    kind,
                    line.level,
                    number,
                    name,
                    f"Unilevel level {line.level}: {percent.normalize():f} % of "
                    f"{cents_to_decimal(base):,.2f} CV from {name}",
                    cents_to_decimal(base),
                    f"{percent.normalize():f}",
                    cents_to_decimal(amount),
                ]
                listed += amount
            if listed != line.amount:
                yield [
                    period,
                    kind,
                    line.level,
                    "",
                    "",
                    "Payout cap" if line.amount != line.amount_before_cap else "Rounding",
                    "",
                    "",
                    cents_to_decimal(line.amount - listed),
                ]
            continue
        source = names.get(line.source_id) if line.source_id else None
        yield [
            period,
            kind,
            line.level,
            source[0] if source else "",
            source[1] if source else "",
            item.description,
            cents_to_decimal(line.base),
            f"{line.rate_percent.normalize():f}",
            item.amount,
        ]
    for claw in data.clawbacks:
        yield [
            period,
            "Clawback",
            claw.level,
            "",
            "",
            f"Refund line #{claw.refund_line_id} of {claw.original_period}",
            cents_to_decimal(claw.refunded_base),
            "",
            cents_to_decimal(claw.amount),
        ]
    for adjustment in data.adjustments:
        yield [
            period,
            "Adjustment",
            "",
            "",
            "",
            adjustment.reason,
            "",
            "",
            adjustment.amount_decimal,
        ]


def order_line_detail(line: CommissionLine) -> OrderLine | None:
    if not line.source_line_id:
        return None
    return (
        OrderLine.objects.select_related("order", "order__customer")
        .filter(pk=line.source_line_id)
        .first()
    )


def carried_leg_volumes(*, distributor_id: int, period: Period) -> dict[int, int] | None:
    """Volume each placement leg carries into ``period`` (leg position -> cents), or None.

    The binary component's queue stored with the previous period's current run
    (``BinaryCarry``); None when the plan in force has no binary section or nothing was
    calculated before, and pages say so ("—") rather than show a figure nobody computed.
    """
    return carried_into(distributor_id=distributor_id, period=period)
