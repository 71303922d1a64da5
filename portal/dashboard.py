"""Reads for the distributor dashboard: earnings, history and lists (the month and rank progress
come from ``commissions.progress``).

Every function reads a fixed number of queries, whatever the size of the team or the length
of the history (a test counts them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import F
from django.utils import timezone

from commissions.calendar import CommissionCalendar, commission_calendar
from commissions.models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    DistributorResult,
    Hold,
    HoldStatus,
    Schedule,
    cents_to_decimal,
)
from commissions.selectors import first_statement_month
from core.periods import Period
from genealogy.models import Distributor
from genealogy.selectors import TeamFilters, downline, team_stats
from orders.models import Order, OrderPurpose

HISTORY_MONTHS = 12
RECENT_ITEMS = 5
RECENT_WEEKS = 4


# --- Earnings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedStatement:
    period: Period
    status: str
    earned: Decimal
    payable: Decimal
    carried_out: Decimal
    on_hold: bool


@dataclass(frozen=True)
class ClosedWeek:
    first_day: dt.date
    earned: Decimal
    on_hold: bool

    @property
    def label(self) -> str:
        return f"Week of {self.first_day.isoformat()}"

    @property
    def key(self) -> str:  # the week's statement URL names it by its first day
        return self.first_day.isoformat()


@dataclass
class EarningsOverview:
    statements: list[ClosedStatement]
    carried: Decimal  # carried into the open month by the last closed statement
    is_on_hold: bool  # an active compliance hold right now
    weeks: list[ClosedWeek] = field(default_factory=list)  # the last closed pay weeks, if any

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
    one when the caller already knows the hold), and, when the plan pays weekly, the last closed
    pay weeks (one more)."""
    calendar = calendar or commission_calendar()
    periods = calendar.locked_periods
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
    weeks = []
    if calendar.plan is not None and calendar.plan.weekly is not None:
        # The person's results in the last closed pay weeks' final runs (one query).
        weeks = [
            ClosedWeek(first_day=first_day, earned=cents_to_decimal(earned), on_hold=held)
            for first_day, earned, held in DistributorResult.objects.filter(
                distributor=distributor,
                run__period__schedule=Schedule.WEEKLY,
                run__period__status__in=LOCKED_STATUSES,
                run__period__current_run=F("run"),
            )
            .order_by("-run__period__month")
            .values_list("run__period__month", "period_total", "on_hold")[:RECENT_WEEKS]
        ]
    return EarningsOverview(
        statements=statements,
        carried=statements[0].carried_out if statements else Decimal("0.00"),
        is_on_hold=has_active_hold(distributor) if is_on_hold is None else is_on_hold,
        weeks=weeks,
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

    Earnings and volumes come from closed statements (a month's earnings with those of the
    closed pay weeks ending in it) and, for the open month, the projection;
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
    # Closed pay weeks (a plan paying some kinds weekly) add their earnings to the month they
    # end in, as the income disclosure counts them.
    week_month: dict[int, dt.date] = {}
    for first_day, run_id in CommissionPeriod.every_schedule.filter(
        schedule=Schedule.WEEKLY,
        month__gte=periods[0].first_day - relativedelta(days=6),
        month__lte=current.last_day,
        status__in=LOCKED_STATUSES,
        current_run__isnull=False,
    ).values_list("month", "current_run_id"):
        week_month[run_id] = (first_day + relativedelta(days=6)).replace(day=1)
    results = {
        run_id: (period_total, pv, gv)
        for run_id, period_total, pv, gv in DistributorResult.objects.filter(
            run_id__in=[*(run_id for run_id, _ in run_for_month.values()), *week_month],
            distributor=distributor,
        ).values_list("run_id", "period_total", "pv", "gv")
    }
    weekly_earned: dict[dt.date, int] = {}
    for run_id, month in week_month.items():
        if run_id in results:
            weekly_earned[month] = weekly_earned.get(month, 0) + results[run_id][0]
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
        weekly = weekly_earned.get(period.first_day) if period.first_day >= joined_month else None
        earned = None
        if figures or weekly is not None:
            earned = cents_to_decimal((figures[0] if figures else 0) + (weekly or 0))
        history.append(
            MonthFigures(
                period=period,
                earned=earned,
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
