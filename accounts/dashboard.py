"""Reads for the distributor dashboard: this month so far, rank progress, earnings and history.

The open month comes from the commissions projection when there is one (the figures the
engine computed for everyone, with the run's "as of" time). Without a projection the same
figures are read live for this one person: own PV from the volume service and each leg's GV
from one set-based query over the nested-set ranges of their direct recruits. Rank
requirements always come from the plan version in force for the month.

Every function reads a fixed number of queries, whatever the size of the team or the length
of the history (a test counts them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, IntegerField, OuterRef, Subquery
from django.utils import timezone

from commissions.calendar import CommissionCalendar, commission_calendar
from commissions.engine.money import PPM_PER_PERCENT, RAW_PER_CENT
from commissions.engine.plan import Plan, Rank
from commissions.models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    Hold,
    HoldStatus,
    cents_to_decimal,
)
from commissions.selectors import first_statement_month
from core.fragments import names_generation
from core.periods import Period
from genealogy.models import COMPANY_TREE_ID, Distributor, DistributorStatus
from genealogy.selectors import TeamFilters, downline, team_stats
from orders.models import Order, OrderPurpose
from orders.volume import distributor_volume

HISTORY_MONTHS = 12
RECENT_ITEMS = 5
LEGS_SHOWN = 5


def _to_cents(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def _volume(cents: int) -> str:
    """Cents → "1,200" or "1,200.50" (volume as people read it)."""
    value = cents_to_decimal(cents)
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


# --- This month so far ------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """A direct recruit and their whole downline, with this month's GV (cents)."""

    distributor_id: int
    name: str
    gv: int
    is_active: bool
    counts: int | None = None  # the part of gv that counts toward the next rank (leg cap)

    @property
    def gv_display(self) -> str:
        return _volume(self.gv)

    @property
    def is_capped(self) -> bool:
        return self.counts is not None and self.counts < self.gv

    @property
    def counts_display(self) -> str:
        return _volume(self.gv if self.counts is None else self.counts)


@dataclass(frozen=True)
class Requirement:
    """One requirement of a rank: how far the person is and what is missing.

    ``is_met`` is None when it cannot be known yet (qualified legs need everyone's ranks: they
    are known once the month has been projected).
    """

    key: str
    label: str
    current: int
    required: int
    is_met: bool | None
    status: str  # "Done", "needs 40 more PV", ...
    note: str = ""  # e.g. the leg cap
    is_volume: bool = False

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return max(0, min(100, self.current * 100 // self.required))

    @property
    def current_display(self) -> str:
        return _volume(self.current) if self.is_volume else f"{self.current:,}"

    @property
    def required_display(self) -> str:
        return _volume(self.required) if self.is_volume else f"{self.required:,}"


@dataclass
class MonthProgress:
    """The open month for one distributor (volumes in cents)."""

    period: Period
    as_of: dt.datetime
    is_projection: bool
    pv: int
    gv: int
    is_active: bool
    activity_pv: int
    status_is_active: bool
    legs: list[Leg]
    active_enrollees: int
    plan: Plan | None = None
    paid_as_rank: int = 0
    is_rank_estimated: bool = False
    next_rank: Rank | None = None
    requirements: list[Requirement] = field(default_factory=list)
    projection_run: CommissionRun | None = None
    projection: DistributorResult | None = None

    @property
    def missing_pv(self) -> int:
        return max(0, self.activity_pv - self.pv)

    @property
    def activity_percent(self) -> int:
        if self.activity_pv <= 0:
            return 100
        return max(0, min(100, self.pv * 100 // self.activity_pv))

    @property
    def pv_display(self) -> str:
        return _volume(self.pv)

    @property
    def gv_display(self) -> str:
        return _volume(self.gv)

    @property
    def missing_pv_display(self) -> str:
        return _volume(self.missing_pv)

    @property
    def activity_pv_display(self) -> str:
        return _volume(self.activity_pv)

    @property
    def paid_as_rank_name(self) -> str:
        if self.plan is None or self.paid_as_rank <= 0:
            return "No rank yet"
        return self.plan.ranks[self.paid_as_rank - 1].name

    @property
    def legs_shown(self) -> list[Leg]:
        return self.legs[:LEGS_SHOWN]

    @property
    def projected_earnings(self) -> Decimal | None:
        return None if self.projection is None else cents_to_decimal(self.projection.period_total)


def progress_key(calendar: CommissionCalendar, distributor: Distributor) -> tuple | None:
    """A complete cache key for the person's month progress, or None while figures are live."""
    run = calendar.projection_run
    if run is None:
        return None
    return (
        "month-progress",
        distributor.pk,
        distributor.status,
        calendar.period,
        calendar.plan_version_id,
        run.pk,
        run.as_of,  # a refresh with unchanged inputs moves only this
    )


LEGS_CACHE_SECONDS = 300


def _legs_from_projection(distributor: Distributor, run_id: int) -> list[Leg]:
    """Each direct recruit's GV and activity in the projection (one query, cached per run:
    a projection run never changes, and a new one replaces it at most once a minute)."""
    key = f"dashboard:legs:{distributor.pk}:{run_id}:n{names_generation()}"  # legs show names
    cached = cache.get(key)
    if cached is None:
        cached = _read_legs_from_projection(distributor, run_id)
        cache.set(key, cached, LEGS_CACHE_SECONDS)
    return cached


def _read_legs_from_projection(distributor: Distributor, run_id: int) -> list[Leg]:
    result = DistributorResult.objects.filter(run_id=run_id, distributor_id=OuterRef("pk"))
    rows = (
        Distributor.objects.filter(sponsor_id=distributor.pk)
        .annotate(
            leg_gv=Subquery(result.values("gv")[:1], output_field=IntegerField()),
            leg_active=Subquery(result.values("is_active")[:1], output_field=BooleanField()),
        )
        .values_list("pk", "user__name", "user__email", "leg_gv", "leg_active")
    )
    legs = [
        Leg(pk, name or email, int(gv or 0), bool(active)) for pk, name, email, gv, active in rows
    ]
    return sorted(legs, key=lambda leg: (-leg.gv, leg.distributor_id))


# Each direct recruit's leg (themselves and, once placed, their nested-set range), joined with
# the month's paid order lines less refund lines: the leg's GV and the recruit's own PV.
_LEGS_SQL = """
WITH legs AS (
    SELECT c.id, c.lft, c.rght, c.placed_at IS NOT NULL AS placed, c.status,
        COALESCE(NULLIF(u.name, ''), u.email) AS name
    FROM genealogy_distributor c JOIN accounts_user u ON u.id = c.user_id
    WHERE c.sponsor_id = %(me)s
),
members AS (
    SELECT legs.id AS leg_id, d.id AS member_id
    FROM legs JOIN genealogy_distributor d
        ON d.tree_id = %(tree)s AND d.lft >= legs.lft AND d.lft < legs.rght
    WHERE legs.placed
    UNION ALL
    SELECT legs.id, legs.id FROM legs WHERE NOT legs.placed
),
moved AS (
    SELECT distributor_id, pv FROM orders_orderline WHERE commission_month = %(month)s
    UNION ALL
    SELECT distributor_id, -pv FROM orders_refundline WHERE commission_month = %(month)s
)
SELECT legs.id, legs.name, legs.status,
    COALESCE(SUM(moved.pv), 0) AS gv,
    COALESCE(SUM(moved.pv) FILTER (WHERE members.member_id = legs.id), 0) AS own_pv
FROM legs
LEFT JOIN members ON members.leg_id = legs.id
LEFT JOIN moved ON moved.distributor_id = members.member_id
GROUP BY legs.id, legs.name, legs.status
"""


def _legs_live(distributor: Distributor, period: Period, activity_pv: int) -> list[Leg]:
    """Each direct recruit's GV this month, read live (one query, set-based)."""
    params = {
        "me": distributor.pk,
        "tree": COMPANY_TREE_ID,
        "month": period.first_day,
    }
    with connection.cursor() as cursor:
        cursor.execute(_LEGS_SQL, params)
        rows = cursor.fetchall()
    legs = [
        Leg(
            pk,
            name,
            _to_cents(gv),
            status == DistributorStatus.ACTIVE and _to_cents(own_pv) >= activity_pv,
        )
        for pk, name, status, gv, own_pv in rows
    ]
    return sorted(legs, key=lambda leg: (-leg.gv, leg.distributor_id))


_RANKED_IN_RANGE_SQL = """
SELECT d.lft FROM genealogy_distributor d
JOIN commissions_distributorresult r ON r.run_id = %(run)s AND r.distributor_id = d.id
WHERE d.tree_id = %(tree)s AND d.lft > %(lft)s AND d.lft < %(rght)s
  AND r.paid_as_rank >= %(min_rank)s
"""
QUALIFIED_LEGS_CACHE_SECONDS = 300


def qualified_leg_count(distributor: Distributor, run_id: int, min_rank: int) -> int:
    """Direct recruits whose leg holds someone paid as ``min_rank`` or higher.

    Two queries whatever the team size: the placed direct recruits' ranges, and the positions
    of ranked people in the whole downline; numpy assigns each ranked person to a leg. Cached
    per projection run, which changes at most once a minute.
    """
    key = f"dashboard:qualified-legs:{distributor.pk}:{run_id}:{min_rank}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    count = 0
    if distributor.is_placed:
        legs = np.array(
            Distributor.objects.filter(sponsor=distributor, placed_at__isnull=False)
            .order_by("lft")
            .values_list("lft", "rght"),
            dtype=np.int64,
        ).reshape(-1, 2)
        if len(legs):
            with connection.cursor() as cursor:
                cursor.execute(
                    _RANKED_IN_RANGE_SQL,
                    {
                        "run": run_id,
                        "tree": COMPANY_TREE_ID,
                        "lft": distributor.lft,
                        "rght": distributor.rght,
                        "min_rank": min_rank,
                    },
                )
                ranked = np.fromiter((row[0] for row in cursor), dtype=np.int64)
            leg = np.searchsorted(legs[:, 0], ranked, side="right") - 1
            inside = (leg >= 0) & (ranked <= legs[np.maximum(leg, 0), 1])
            count = len(np.unique(leg[inside]))
    cache.set(key, count, QUALIFIED_LEGS_CACHE_SECONDS)
    return count


def leg_cap(plan: Plan, rank: Rank, gv: int) -> int | None:
    """The most one leg may add toward ``rank`` (cents), as the engine computes it."""
    if rank.leg_cap_ppm is None:
        return None
    basis = rank.group_volume if plan.options.leg_cap_basis == "required" else gv
    return rank.leg_cap_ppm * basis // RAW_PER_CENT


def counted_gv(plan: Plan, rank: Rank, *, pv: int, gv: int, legs: list[Leg]) -> int:
    cap = leg_cap(plan, rank, gv)
    if cap is None:
        return gv
    own = min(pv, cap) if plan.options.leg_cap_includes_personal else pv
    return own + sum(min(leg.gv, cap) for leg in legs)


def _needs(missing: int, unit: str, *, volume: bool) -> str:
    amount = _volume(missing) if volume else f"{missing:,}"
    return f"needs {amount} more {unit}"


def rank_requirements(
    plan: Plan,
    rank: Rank,
    *,
    pv: int,
    gv: int,
    legs: list[Leg],
    active_enrollees: int,
    qualified_legs: int | None,
) -> list[Requirement]:
    """Every requirement of ``rank`` with what is missing, as the engine checks them."""
    requirements = []
    if rank.personal_pv:
        missing = rank.personal_pv - pv
        requirements.append(
            Requirement(
                "personal_pv",
                "Personal volume (PV)",
                pv,
                rank.personal_pv,
                missing <= 0,
                "Done" if missing <= 0 else _needs(missing, "PV", volume=True),
                is_volume=True,
            )
        )
    if rank.group_volume:
        counted = counted_gv(plan, rank, pv=pv, gv=gv, legs=legs)
        missing = rank.group_volume - counted
        note = ""
        if rank.leg_cap_ppm is not None:
            percent = f"{(Decimal(rank.leg_cap_ppm) / PPM_PER_PERCENT).normalize():f}"
            basis = "required" if plan.options.leg_cap_basis == "required" else "your"
            cap = leg_cap(plan, rank, gv) or 0
            note = (
                f"{_volume(counted)} of your {_volume(gv)} GV counts: at most {percent}% "
                f"from one leg ({_volume(cap)} of the {basis} GV)"
            )
        requirements.append(
            Requirement(
                "group_volume",
                "Group volume (GV)",
                counted,
                rank.group_volume,
                missing <= 0,
                "Done" if missing <= 0 else _needs(missing, "GV", volume=True),
                note=note,
                is_volume=True,
            )
        )
    if rank.personally_enrolled_active:
        missing = rank.personally_enrolled_active - active_enrollees
        requirements.append(
            Requirement(
                "enrollees",
                "People you enrolled who qualified this month",
                active_enrollees,
                rank.personally_enrolled_active,
                missing <= 0,
                "Done"
                if missing <= 0
                else _needs(
                    missing, "qualified " + ("person" if missing == 1 else "people"), volume=False
                ),
            )
        )
    if rank.qualified_legs_count:
        min_name = plan.ranks[rank.qualified_legs_min_rank - 1].name
        label = f"Legs with a {min_name} or higher"
        if qualified_legs is None:
            requirements.append(
                Requirement(
                    "qualified_legs",
                    label,
                    0,
                    rank.qualified_legs_count,
                    None,
                    "known once this month's commissions are projected",
                )
            )
        else:
            missing = rank.qualified_legs_count - qualified_legs
            requirements.append(
                Requirement(
                    "qualified_legs",
                    label,
                    qualified_legs,
                    rank.qualified_legs_count,
                    missing <= 0,
                    "Done"
                    if missing <= 0
                    else _needs(missing, "leg" if missing == 1 else "legs", volume=False),
                )
            )
    return requirements


def _estimated_rank(plan: Plan, progress: MonthProgress) -> int:
    """Paid-as rank from what can be checked live (a rank that needs qualified legs stops it)."""
    best = 0
    if not progress.is_active:
        return 0
    for number, rank in enumerate(plan.ranks, start=1):
        requirements = rank_requirements(
            plan,
            rank,
            pv=progress.pv,
            gv=progress.gv,
            legs=progress.legs,
            active_enrollees=progress.active_enrollees,
            qualified_legs=None,
        )
        if all(r.is_met is True for r in requirements):
            best = number
        elif plan.options.cumulative_ranks:
            break
    return best


def month_progress(
    distributor: Distributor,
    *,
    now: dt.datetime | None = None,
    calendar: CommissionCalendar | None = None,
) -> MonthProgress:
    """The open month so far: PV, GV, activity, paid-as rank and the next rank's progress."""
    now = now or timezone.now()
    calendar = calendar or commission_calendar(now)
    period, plan, run = calendar.period, calendar.plan, calendar.projection_run
    activity_pv = plan.activity_personal_pv if plan else 0
    status_is_active = distributor.status == DistributorStatus.ACTIVE
    result = (
        DistributorResult.objects.filter(run=run, distributor=distributor).first()
        if run is not None
        else None
    )
    if result is not None:
        legs = _legs_from_projection(distributor, run.pk)
        progress = MonthProgress(
            period=period,
            as_of=run.as_of or run.finished_at or now,
            is_projection=True,
            pv=result.pv,
            gv=result.gv,
            is_active=result.is_active,
            activity_pv=activity_pv,
            status_is_active=status_is_active,
            legs=legs,
            active_enrollees=sum(1 for leg in legs if leg.is_active),
            plan=plan,
            paid_as_rank=result.paid_as_rank,
            projection_run=run,
            projection=result,
        )
    else:
        volume = distributor_volume(distributor_id=distributor.pk, period=period)
        legs = _legs_live(distributor, period, activity_pv)
        pv = _to_cents(volume.pv)
        progress = MonthProgress(
            period=period,
            as_of=now,
            is_projection=False,
            pv=pv,
            gv=pv + sum(leg.gv for leg in legs),
            is_active=status_is_active and pv >= activity_pv,
            activity_pv=activity_pv,
            status_is_active=status_is_active,
            legs=legs,
            active_enrollees=sum(1 for leg in legs if leg.is_active),
            plan=plan,
            is_rank_estimated=True,
        )
        if plan is not None:
            progress.paid_as_rank = _estimated_rank(plan, progress)
    if plan is not None and progress.paid_as_rank < len(plan.ranks):
        rank = plan.ranks[progress.paid_as_rank]
        qualified = None
        if rank.qualified_legs_count and progress.is_projection:
            qualified = qualified_leg_count(distributor, run.pk, rank.qualified_legs_min_rank)
        progress.next_rank = rank
        progress.requirements = rank_requirements(
            plan,
            rank,
            pv=progress.pv,
            gv=progress.gv,
            legs=progress.legs,
            active_enrollees=progress.active_enrollees,
            qualified_legs=qualified,
        )
        cap = leg_cap(plan, rank, progress.gv)
        if cap is not None:
            progress.legs = [
                Leg(leg.distributor_id, leg.name, leg.gv, leg.is_active, min(leg.gv, cap))
                for leg in progress.legs
            ]
    return progress


# --- Earnings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedStatement:
    period: Period
    status: str
    earned: Decimal
    payable: Decimal
    carried_out: Decimal
    on_hold: bool


@dataclass
class EarningsOverview:
    statements: list[ClosedStatement]
    carried: Decimal  # carried into the open month by the last closed statement
    is_on_hold: bool  # an active compliance hold right now

    @property
    def last(self) -> ClosedStatement | None:
        return self.statements[0] if self.statements else None


def has_active_hold(distributor: Distributor) -> bool:
    return Hold.objects.filter(distributor=distributor, status=HoldStatus.ACTIVE).exists()


def earnings_overview(
    distributor: Distributor,
    *,
    calendar: CommissionCalendar | None = None,
    is_on_hold: bool | None = None,
) -> EarningsOverview:
    """The last closed statements, what was carried into this month and any hold (two queries,
    one when the caller already knows the hold)."""
    periods = (calendar or commission_calendar()).locked_periods
    results = {
        row[0]: row[1:]
        for row in DistributorResult.objects.filter(
            run_id__in=[run_id for _, _, run_id in periods], distributor=distributor
        ).values_list("run_id", "period_total", "payable", "carried_out", "on_hold")
    }
    statements = []
    joined_month = first_statement_month(distributor)
    for month, status, run_id in periods:
        if month < joined_month:
            continue  # no statement for a month before the person joined
        earned, payable, carried, held = results.get(run_id, (0, 0, 0, False))
        statements.append(
            ClosedStatement(
                period=Period(month.year, month.month),
                status=status,
                earned=cents_to_decimal(earned),
                payable=cents_to_decimal(payable),
                carried_out=cents_to_decimal(carried),
                on_hold=held,
            )
        )
    return EarningsOverview(
        statements=statements,
        carried=statements[0].carried_out if statements else Decimal("0.00"),
        is_on_hold=has_active_hold(distributor) if is_on_hold is None else is_on_hold,
    )


# --- History (charts) -------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    period: Period
    earned: Decimal | None  # None: no statement (and no projection) for the month
    pv: Decimal | None
    gv: Decimal | None
    is_projection: bool
    team_size: int
    new_recruits: int


def months_back(period: Period, count: int) -> list[Period]:
    return period.last(count)


def monthly_history(
    distributor: Distributor, *, now: dt.datetime | None = None, months: int = HISTORY_MONTHS
) -> list[MonthFigures]:
    """Earnings, PV/GV, team size and new recruits per month for the last ``months`` months.

    Earnings and volumes come from closed statements and, for the open month, the projection;
    team figures from the genealogy (team size at each month's end, counted by join date).
    """
    now = now or timezone.now()
    current = Period.current(now)
    periods = months_back(current, months)
    rows = CommissionPeriod.objects.filter(
        month__gte=periods[0].first_day, month__lte=current.first_day
    ).values_list("month", "status", "current_run_id", "projection_run_id")
    run_for_month: dict[dt.date, tuple[int, bool]] = {}
    for month, status, current_run_id, projection_run_id in rows:
        if status in LOCKED_STATUSES and current_run_id:
            run_for_month[month] = (current_run_id, False)
        elif month == current.first_day and projection_run_id:
            run_for_month[month] = (projection_run_id, True)
    results = {
        run_id: (period_total, pv, gv)
        for run_id, period_total, pv, gv in DistributorResult.objects.filter(
            run_id__in=[run_id for run_id, _ in run_for_month.values()], distributor=distributor
        ).values_list("run_id", "period_total", "pv", "gv")
    }
    stats = team_stats(distributor, today=now.astimezone(current.start.tzinfo).date())
    joins = {month: count for month, count in stats.joins_per_month}
    later = 0  # people who joined after a month's end
    sizes: dict[dt.date, int] = {}
    for period in reversed(periods):
        sizes[period.first_day] = max(0, stats.downline_size - later)
        later += joins.get(period.first_day, 0)
    history = []
    joined_month = first_statement_month(distributor)
    for period in periods:
        run_id, is_projection = run_for_month.get(period.first_day, (None, False))
        figures = results.get(run_id) if period.first_day >= joined_month else None
        history.append(
            MonthFigures(
                period=period,
                earned=cents_to_decimal(figures[0]) if figures else None,
                pv=cents_to_decimal(figures[1]) if figures else None,
                gv=cents_to_decimal(figures[2]) if figures else None,
                is_projection=is_projection and figures is not None,
                team_size=sizes[period.first_day],
                new_recruits=joins.get(period.first_day, 0),
            )
        )
    return history


def chart_data(history: list[MonthFigures]) -> dict:
    """The history as plain lists for ``json_script`` (numbers as floats for Chart.js)."""

    def number(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "labels": [
            f"{m.period.first_day:%b %Y}" + (" (so far)" if m.is_projection else "")
            for m in history
        ],
        "earned": [number(m.earned) for m in history],
        "pv": [number(m.pv) for m in history],
        "gv": [number(m.gv) for m in history],
        "team_size": [m.team_size for m in history],
        "new_recruits": [m.new_recruits for m in history],
    }


# --- Lists ------------------------------------------------------------------------------------


def recent_recruits(distributor: Distributor, *, limit: int = RECENT_ITEMS) -> list[Distributor]:
    """The newest people in the distributor's downline (through the access rule's downline)."""
    return list(
        downline(distributor, TeamFilters(sort="joined")).select_related("user", "sponsor__user")[
            :limit
        ]
    )


def recent_customer_orders(distributor: Distributor, *, limit: int = RECENT_ITEMS) -> list[Order]:
    """The distributor's latest orders for their retail customers."""
    return list(
        Order.objects.filter(distributor_id=distributor.pk, purpose=OrderPurpose.RETAIL)
        .select_related("customer")
        .order_by("-placed_at", "-id")[:limit]
    )
