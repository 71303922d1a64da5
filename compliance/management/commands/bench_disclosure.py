"""Benchmark the income disclosure statement of a full year: prints figures, never asserts timings.

The statement reads the final runs of the year's closed periods (`compliance.disclosure`), but
a demo company at a million distributors has one closed month. So, inside one transaction that
is rolled back at the end, every month of the year that is not closed gets a synthetic closed
period: a final run whose results are the template month's (the latest closed month of the
year, else the latest closed month) copied by one ``INSERT ... SELECT`` per month. Each copy
scales the period total by a pseudo-random factor per (distributor, month) in [0.5, 1.5) and
moves the paid-as rank one step now and then (never above the highest rank, up only for the
active); balance, payable and carried out follow the engine's payable rule. Carried-in amounts
stay the template's (months are not chained). An open or calculated month of the year is taken
over, under its period lock. Then `generate_income_disclosure`, the path staff use, is timed
(its statement is always rolled back) and the figures are printed. PostgreSQL only.

With ``--keep`` the synthetic months are committed: they are closed periods, which the ledger
triggers make permanent, so keep them only in a throwaway database.
"""

from __future__ import annotations

import contextlib
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from commissions.errors import CommissionError
from commissions.models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    PeriodStatus,
    RunPurpose,
    RunStatus,
)
from commissions.services.periods import period_lock, period_row
from compliance.disclosure import DisclosureError, generate_income_disclosure
from core.arguments import year
from core.periods import Period
from core.resources import peak_rss_mb

# The template run's rows, varied by h, a hash of (distributor, month): the period total is
# scaled by (512 + h % 1024) / 1024 and the paid-as rank stepped by -1 (h / 1024 % 8 == 0) or +1
# (== 1, active only), kept within [0, highest rank]. Balance = carried in + period total,
# payable and carried out as in `commissions.engine.compute`.
_COPY_RESULTS_SQL = """
WITH template AS (
    SELECT r.*, hashint8extended(r.distributor_id, %(seed)s) AS h
    FROM commissions_distributorresult r WHERE r.run_id = %(template)s
), varied AS (
    SELECT *, period_total * (512 + (h & 1023)) / 1024 AS new_total,
        GREATEST(0, LEAST(highest_rank, paid_as_rank + CASE
            WHEN (h >> 10) & 7 = 0 THEN -1
            WHEN (h >> 10) & 7 = 1 AND is_active THEN 1
            ELSE 0 END)) AS new_paid_as_rank
    FROM template
), settled AS (
    SELECT *, carried_in + new_total AS new_balance FROM varied
), paid AS (
    SELECT *, CASE WHEN new_balance > 0 AND new_balance >= %(minimum_payout)s AND NOT on_hold
        THEN new_balance ELSE 0 END AS new_payable
    FROM settled
)
INSERT INTO commissions_distributorresult (
    run_id, distributor_id, sponsor_id, parent_id, status, pv, cv, gv, counted_gv, is_active,
    paid_as_rank, highest_rank, advancement_paid_rank, carried_in, period_total, balance,
    payable, carried_out, on_hold)
SELECT %(run)s, distributor_id, sponsor_id, parent_id, status, pv, cv, gv, counted_gv,
    is_active, new_paid_as_rank, highest_rank, advancement_paid_rank, carried_in, new_total,
    new_balance, new_payable, new_balance - new_payable, on_hold
FROM paid
"""


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--year", type=year, help="YYYY (default: the year of the latest closed period)"
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="Commit the synthetic months instead of rolling back. They are closed periods, "
            "which the ledger triggers make permanent: use a throwaway database.",
        )

    def handle(self, *args, year: int | None, keep: bool, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_disclosure needs PostgreSQL (it builds the year in SQL).")
        closed = CommissionPeriod.objects.filter(status__in=LOCKED_STATUSES).select_related(
            "current_run", "current_run__plan_version"
        )
        latest = closed.order_by("-month").first()
        if latest is None:
            raise CommandError(
                "No closed commission period to copy from: close a month first "
                "(seed_demo closes and pays the past months)."
            )
        year = year or latest.month.year
        template = closed.filter(month__year=year).order_by("-month").first() or latest
        try:
            with transaction.atomic():
                self._build_year(year=year, template=template, closed=closed)
                self._time_statement(year=year)
                if not keep:
                    transaction.set_rollback(True)
        except (CommissionError, DisclosureError) as error:
            raise CommandError(str(error)) from error
        if keep:
            self.stdout.write(f"kept: the synthetic months of {year} are committed (permanent)")
        else:
            self.stdout.write("rolled back: the database is unchanged")

    def _build_year(self, *, year: int, template: CommissionPeriod, closed) -> None:
        started = time.perf_counter()
        locked_months = {row.month for row in closed.filter(month__year=year)}
        to_fill = [
            Period(year, month)
            for month in range(1, 13)
            if Period(year, month).first_day not in locked_months
        ]
        source = template.current_run
        version = source.plan_version
        minimum_payout = version.plan.minimum_payout if version is not None else 0
        template_rows = DistributorResult.objects.filter(run_id=source.pk).count()
        rows = DistributorResult.objects.filter(
            run_id__in=closed.filter(month__year=year).values("current_run_id")
        ).count()
        now = timezone.now()
        with contextlib.ExitStack() as locks:
            for period in to_fill:
                locks.enter_context(period_lock(period))
                row = period_row(period)
                run = CommissionRun.objects.create(
                    period=row,
                    purpose=RunPurpose.CALCULATION,
                    status=RunStatus.SUCCEEDED,
                    plan_version=version,
                    engine_version=source.engine_version,
                    is_final=True,
                    progress=100,
                    phase="Done",
                    counts={"distributors": template_rows, "engine_lines": 0, "ledger_lines": 0},
                    summary={
                        **source.summary,
                        "synthetic": f"bench_disclosure: results of run #{source.pk}, varied",
                    },
                    requested_at=now,
                    started_at=now,
                    finished_at=now,
                    as_of=now,
                )
                with connection.cursor() as cursor:
                    cursor.execute(
                        _COPY_RESULTS_SQL,
                        {
                            "run": run.pk,
                            "template": source.pk,
                            "seed": year * 100 + period.month,
                            "minimum_payout": minimum_payout,
                        },
                    )
                    rows += cursor.rowcount
                row.current_run = run
                row.status = PeriodStatus.CLOSED
                row.closed_at = now
                row.save(update_fields=["current_run", "status", "closed_at"])
            with connection.cursor() as cursor:
                # The statistics a year of real closes would have left (rolled back with it).
                cursor.execute("ANALYZE commissions_distributorresult")
        self.stdout.write(
            f"synthetic year {year}: {len(to_fill)} month(s) copied from {template.period} "
            f"(run #{source.pk}, {template_rows:,} results) in "
            f"{time.perf_counter() - started:.1f} s; its 12 closed months hold {rows:,} result rows"
        )

    def _time_statement(self, *, year: int) -> None:
        rss_before = peak_rss_mb()
        with transaction.atomic():
            started = time.perf_counter()
            statement = generate_income_disclosure(year=year)
            seconds = time.perf_counter() - started
            transaction.set_rollback(True)  # never publish synthetic figures
        figures = statement.figures
        self.stdout.write(
            f"income disclosure {year}: {figures['participants']:,} participants, "
            f"{len(statement.source['periods'])} months included, {seconds:.2f} s, "
            f"peak RSS {peak_rss_mb():,.0f} MB (before: {rss_before:,.0f} MB)"
        )
        self.stdout.write(
            f"  earned $0: {figures['zero_percent']} %, median {figures['median']}, "
            f"mean {figures['mean']}, 99th percentile {figures['percentiles']['99']} "
            f"{figures['currency']}"
        )
