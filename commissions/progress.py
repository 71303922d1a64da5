"""Rank progress: this month so far and what each rank still needs (the dashboard's month card,
the career path).

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

from core.fragments import names_generation
from core.periods import Period
from genealogy.models import COMPANY_TREE_ID, Distributor, DistributorStatus
from orders.volume import distributor_volume, moved_lines_sql

from .calendar import CommissionCalendar, commission_calendar
from .engine.money import rate_to_percent
from .engine.plan import Plan, Rank
from .engine.ranks import counted_volume, leg_cap
from .engine.words import volume as volume_words
from .models import (
    CommissionRun,
    DistributorResult,
    cents_to_decimal,
)

LEGS_SHOWN = 5


def _to_cents(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


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
        return volume_words(self.gv)

    @property
    def is_capped(self) -> bool:
        return self.counts is not None and self.counts < self.gv

    @property
    def counts_display(self) -> str:
        return volume_words(self.gv if self.counts is None else self.counts)


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
        return volume_words(self.current) if self.is_volume else f"{self.current:,}"

    @property
    def required_display(self) -> str:
        return volume_words(self.required) if self.is_volume else f"{self.required:,}"


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
        return volume_words(self.pv)

    @property
    def gv_display(self) -> str:
        return volume_words(self.gv)

    @property
    def missing_pv_display(self) -> str:
        return volume_words(self.missing_pv)

    @property
    def activity_pv_display(self) -> str:
        return volume_words(self.activity_pv)

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
# the month's paid order lines less refund lines (the volume service's `moved_lines_sql`): the
# leg's GV and the recruit's own PV.
_LEGS_SQL = f"""
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
{moved_lines_sql(["distributor_id", "pv"])}
)
SELECT legs.id, legs.name, legs.status,
    COALESCE(SUM(moved.pv), 0) AS gv,
    COALESCE(SUM(moved.pv) FILTER (WHERE members.member_id = legs.id), 0) AS own_pv
FROM legs
LEFT JOIN members ON members.leg_id = legs.id
LEFT JOIN moved ON moved.distributor_id = members.member_id
GROUP BY legs.id, legs.name, legs.status
"""  # noqa: S608 (the volume service's fixed SQL)


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


def counted_gv(plan: Plan, rank: Rank, *, pv: int, gv: int, legs: list[Leg]) -> int:
    """The GV that counts toward ``rank``: the engine's own rule (``counted_volume``)."""
    return counted_volume(plan, rank, pv=pv, gv=gv, leg_gvs=[leg.gv for leg in legs])


def _needs(missing: int, unit: str, *, volume: bool) -> str:
    amount = volume_words(missing) if volume else f"{missing:,}"
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
        if rank.leg_cap_rate is not None:
            percent = f"{rate_to_percent(rank.leg_cap_rate).normalize():f}"
            basis = "required" if plan.options.leg_cap_basis == "required" else "your"
            cap = leg_cap(plan, rank, gv) or 0
            note = (
                f"{volume_words(counted)} of your {volume_words(gv)} GV counts: at most {percent}% "
                f"from one leg ({volume_words(cap)} of the {basis} GV)"
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
