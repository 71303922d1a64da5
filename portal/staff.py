"""The staff overview: company figures at a glance, payouts per month and live run progress.

Staff only, with a session that passed two-factor authentication (like the admin). Every figure
is one aggregate query or read from a closed run's summary, never a loop over distributors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.cache import cache
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import staff_required
from commissions.models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    CommissionRun,
    RunPurpose,
    RunStatus,
    Schedule,
    cents_to_decimal,
)
from core.money import quantize
from core.periods import Period
from genealogy.models import Distributor, DistributorStatus
from orders.volume import company_volume

PAYOUT_MONTHS = 12
RUNNING_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


def compliance_flags_waiting() -> int | None:
    """Compliance flags waiting for a staff review."""
    from compliance.selectors import open_flag_count

    return open_flag_count()


# --- Selectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistributorCounts:
    total: int
    active: int
    new_this_month: int


def distributor_counts(*, today: dt.date | None = None) -> DistributorCounts:
    """Distributors (not the house): total, active, joined this month (one query)."""
    today = today or timezone.localdate()
    totals = Distributor.objects.filter(is_house=False).aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=DistributorStatus.ACTIVE)),
        new=Count("id", filter=Q(joined_on__gte=today.replace(day=1))),
    )
    return DistributorCounts(totals["total"], totals["active"], totals["new"])


@dataclass(frozen=True)
class MonthVolume:
    period: Period
    pv: Decimal
    cv: Decimal
    personal_pv: Decimal
    retail_pv: Decimal
    as_of: dt.datetime

    @property
    def retail_share(self) -> Decimal | None:
        """Retail PV as a percent of all PV (None without volume)."""
        if self.pv <= 0:
            return None
        return quantize(self.retail_pv * 100 / self.pv, Decimal("0.1"))

    @property
    def personal_share(self) -> Decimal | None:
        share = self.retail_share
        return None if share is None else Decimal(100) - share


# A month's volume is a scan of its order lines (seconds at a million distributors). A past
# month's never changes (a later refund counts in its own month); the open month's is kept a
# minute and says when it was read.
OPEN_MONTH_VOLUME_SECONDS = 60
PAST_MONTH_VOLUME_SECONDS = 24 * 3600


def month_volume(period: Period, *, now: dt.datetime | None = None) -> MonthVolume:
    """PV, CV, personal and retail PV of a month: the volume service's company figures (one
    aggregate over order lines, one over refund lines), cached."""
    now = now or timezone.now()
    is_over = period.end <= now
    key = f"staff:month-volume:{period}:{'final' if is_over else 'open'}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    figures = company_volume(period=period)
    volume = MonthVolume(
        period=period,
        pv=figures.pv,
        cv=figures.cv,
        personal_pv=figures.personal_pv,
        retail_pv=figures.retail_pv,
        as_of=now,
    )
    cache.set(key, volume, PAST_MONTH_VOLUME_SECONDS if is_over else OPEN_MONTH_VOLUME_SECONDS)
    return volume


@dataclass(frozen=True)
class CommissionCV:
    """The CV a month's commissions are paid on, and the run it comes from."""

    period: Period
    cv: Decimal | None  # None: the month has no calculation yet
    run: CommissionRun | None

    @property
    def is_projection(self) -> bool:
        return self.run is not None and self.run.purpose != RunPurpose.CALCULATION


def commission_cv(periods: list[Period]) -> list[CommissionCV]:
    """The one CV figure of the staff overview: the commission engine's base, from each month's
    run (the final or latest calculation, else the open month's projection), so the volume
    table and the payout table agree (refunds of orders from closed months do not lower it:
    clawback lines settle them). One query."""
    rows = {
        row.month: row
        for row in CommissionPeriod.objects.filter(
            month__in=[period.first_day for period in periods]
        ).select_related("current_run", "projection_run")
    }
    figures = []
    for period in periods:
        row = rows.get(period.first_day)
        run = row and (row.current_run or row.projection_run)
        total = run.summary.get("total_cv") if run is not None and run.summary else None
        figures.append(
            CommissionCV(
                period=period,
                cv=None if total is None else cents_to_decimal(total),
                run=run if total is not None else None,
            )
        )
    return figures


def volume_by_month(*, now: dt.datetime | None = None) -> list[MonthVolume]:
    """Last month and this month so far."""
    current = Period.current(now)
    return [month_volume(current.previous(), now=now), month_volume(current, now=now)]


@dataclass(frozen=True)
class PayoutMonth:
    period: Period
    status: str
    total_cv: Decimal
    total_paid: Decimal
    percent_of_cv: Decimal | None


def payout_history(*, limit: int = PAYOUT_MONTHS) -> tuple[list[PayoutMonth], CommissionRun | None]:
    """Payout as a percent of CV for the last closed months (oldest first): each month's own
    run and, when the plan pays weekly, the closed pay weeks ending in it (their lines are paid
    out of the same month's CV); and the run of the newest closed month (for its ranks). Two
    queries."""
    rows = list(
        CommissionPeriod.objects.filter(status__in=LOCKED_STATUSES, current_run__isnull=False)
        .select_related("current_run")
        .order_by("-month")[:limit]
    )
    weekly_paid: dict[dt.date, int] = {}
    if rows:
        for first_day, summary in CommissionPeriod.every_schedule.filter(
            schedule=Schedule.WEEKLY,
            month__gte=rows[-1].month - relativedelta(days=6),
            month__lte=rows[0].period.last_day,
            status__in=LOCKED_STATUSES,
            current_run__isnull=False,
        ).values_list("month", "current_run__summary"):
            month = (first_day + relativedelta(days=6)).replace(day=1)
            weekly_paid[month] = weekly_paid.get(month, 0) + (summary or {}).get("total_paid", 0)
    months = []
    for row in reversed(rows):
        summary = row.current_run.summary or {}
        total_cv = summary.get("total_cv", 0)
        total_paid = summary.get("total_paid", 0) + weekly_paid.get(row.month, 0)
        percent = None if not total_cv else quantize(Decimal(total_paid) * 100 / total_cv)
        months.append(
            PayoutMonth(
                period=row.period,
                status=row.get_status_display(),
                total_cv=cents_to_decimal(total_cv),
                total_paid=cents_to_decimal(total_paid),
                percent_of_cv=percent,
            )
        )
    return months, (rows[0].current_run if rows else None)


def people_per_rank(run: CommissionRun | None) -> list[tuple[str, int]]:
    """(rank name, people paid as it) from a run's summary, lowest rank first."""
    if run is None:
        return []
    summary = run.summary or {}
    names = summary.get("rank_names") or []
    counts = summary.get("paid_as_rank_counts") or {}
    return [
        (names[number] if number < len(names) else str(number), int(counts.get(str(number), 0)))
        for number in range(max(len(names), len(counts)))
    ]


def last_finished_run() -> CommissionRun | None:
    return (
        CommissionRun.objects.filter(purpose=RunPurpose.CALCULATION)
        .exclude(status__in=RUNNING_STATUSES)
        .select_related("period")
        .order_by("-requested_at", "-id")
        .first()
    )


def running_runs() -> list[CommissionRun]:
    return list(
        CommissionRun.objects.filter(status__in=RUNNING_STATUSES)
        .select_related("period")
        .order_by("-requested_at", "-id")
    )


def run_summary_rows(run: CommissionRun | None) -> list[tuple[str, str]]:
    """A finished run's summary as (label, value) rows for the page."""
    if run is None:
        return []
    summary = run.summary or {}
    percent = summary.get("payout_percent_of_cv")
    rows = [
        ("Status", run.get_status_display()),
        ("Distributors", f"{summary.get('distributor_count', 0):,}"),
        ("Qualified (PV minimum met)", f"{summary.get('active_count', 0):,}"),
        ("CV paid on", f"{cents_to_decimal(summary.get('total_cv', 0)):,.2f}"),
        ("Paid", f"{cents_to_decimal(summary.get('total_paid', 0)):,.2f}"),
        ("Payout % of CV", "—" if percent is None else f"{percent} %"),
        ("Cap applied", "yes" if summary.get("cap_applied") else "no"),
        ("Payable", f"{cents_to_decimal(summary.get('payable_total', 0)):,.2f}"),
        ("Carried out", f"{cents_to_decimal(summary.get('carried_out_total', 0)):,.2f}"),
        ("On hold", f"{summary.get('on_hold_count', 0):,}"),
    ]
    if run.duration_seconds is not None:
        rows.append(("Duration", f"{run.duration_seconds:,.1f} s"))
    if run.error:
        rows.append(("Error", run.error))
    return rows


# --- Views ------------------------------------------------------------------------------------


@staff_required
def staff_overview(request: HttpRequest) -> HttpResponse:
    payouts, last_closed_run = payout_history()
    last_run = last_finished_run()
    volumes = volume_by_month()
    return render(
        request,
        "staff/overview.html",
        {
            "counts": distributor_counts(),
            "volumes": volumes,
            "commission_cvs": commission_cv([month.period for month in volumes]),
            "payouts": payouts,
            "payout_chart": {
                "labels": [f"{m.period.first_day:%b %Y}" for m in payouts],
                "percent": [
                    None if m.percent_of_cv is None else float(m.percent_of_cv) for m in payouts
                ],
            },
            "last_closed_run": last_closed_run,
            "ranks": people_per_rank(last_closed_run),
            "last_run": last_run,
            "last_run_rows": run_summary_rows(last_run),
            "running": running_runs(),
            "compliance_flags": compliance_flags_waiting(),
        },
    )


@staff_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """Fragment polled every 2 s while a run is going; once done it renders without polling."""
    run = CommissionRun.objects.select_related("period").filter(pk=run_id).first()
    if run is None:
        raise Http404
    return render(request, "staff/partials/run_progress.html", {"run": run})
