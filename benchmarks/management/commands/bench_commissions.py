"""Benchmark a commission run on this database: prints figures, never asserts timings.

Builds the company when the database has only the house (`genealogy.demo.seed_company`, then
`orders.demo.seed_orders` for the last two months, so the previous month is complete), loads the
demo plan if there is none, then calculates the previous month through the real service (read
inputs, engine, write results) and prints each phase, the peak RSS and the ledger size. With
`--naive` it also runs the straightforward ORM implementation (`benchmarks.naive`) on the same
data and compares figures and time (meant for ~10k distributors: it makes ~10 queries per person).

Beside its own time it prints the raw read: how long PostgreSQL takes merely to hand over the
tree and the month's order and refund lines (binary COPY, bytes counted, nothing decoded), the
floor any run that reads them must stand on; the run's time is also given as a multiple of it.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from commissions.models import CommissionRun, DistributorResult, PlanVersion
from commissions.services.plans import plan_version_create
from commissions.services.runs import calculate_period
from core.arguments import positive_int, positive_number
from core.periods import Period
from core.resources import peak_rss_mb
from genealogy.models import Distributor
from orders.models import OrderLine

# What a run cannot avoid reading: the tree and the month's lines, as they are stored.
RAW_READS = (
    "SELECT id, sponsor_id, status, joined_on FROM genealogy_distributor",
    "SELECT id, distributor_id, purpose, pv, cv, amount, retail_profit, paid_at "
    "FROM orders_orderline WHERE commission_month = %(month)s",
    "SELECT id, order_line_id, distributor_id, purpose, pv, cv, amount, retail_profit "
    "FROM orders_refundline WHERE commission_month = %(month)s",
)


def raw_read(period: Period) -> tuple[float, int]:
    """Seconds and bytes for PostgreSQL to hand over the tree and the month's lines."""
    started = time.perf_counter()
    size = 0
    with connection.cursor() as cursor:
        for sql in RAW_READS:
            statement = cursor.mogrify(sql, {"month": period.first_day})
            if isinstance(statement, bytes):
                statement = statement.decode()
            with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT binary)") as copy:
                for data in copy:
                    size += len(data)
    return time.perf_counter() - started, size


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=positive_int, default=1_000_000)
        parser.add_argument("--lines-per-distributor", type=positive_number, default=3.0)
        parser.add_argument("--period", help="YYYY-MM (default: the previous month)")
        parser.add_argument("--runs", type=positive_int, default=2, help="Calculations to time.")
        parser.add_argument("--naive", action="store_true", help="Also time the naive ORM run.")

    def handle(
        self,
        *args,
        size: int,
        lines_per_distributor: float,
        period: str | None,
        runs: int,
        naive: bool,
        **options,
    ) -> None:
        out = self.stdout.write
        try:
            period_obj = Period.parse(period) if period else Period.current().previous()
        except ValueError as error:
            raise CommandError(str(error)) from error
        if not Distributor.objects.filter(is_house=False).exists():
            from genealogy.demo import seed_company
            from orders.demo import seed_orders

            started = time.perf_counter()
            seed_company(distributors=size, progress=lambda m: out(f"  {m}"))
            out(f"seed_company {size:,}: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            seed_orders(
                months=2,
                lines_per_distributor=lines_per_distributor,
                progress=lambda m: out(f"  {m}"),
                now=timezone.now(),
            )
            out(f"seed_orders: {time.perf_counter() - started:.1f} s")
        if not PlanVersion.objects.exists():
            plan_version_create(
                source=(Path(settings.BASE_DIR) / "plans" / "demo.yaml").read_text(),
                effective_from=period_obj.first_day,
            )
        people = Distributor.objects.count()
        lines = OrderLine.objects.filter(commission_month=period_obj.first_day).count()
        out(
            f"database {connection.settings_dict['NAME']}: {people:,} distributors, "
            f"{lines:,} order lines counting in {period_obj}"
        )
        raw = None
        if connection.vendor == "postgresql":
            raw_seconds, raw_bytes = min(raw_read(period_obj) for _ in range(3))
            raw = raw_seconds
            out(
                f"raw read (tree + the month's order and refund lines, binary COPY, best of 3): "
                f"{raw_seconds:.2f} s, {raw_bytes / 1e6:,.0f} MB"
            )
        run = None
        for attempt in range(1, runs + 1):
            started = time.perf_counter()
            run = calculate_period(period=period_obj)
            wall = time.perf_counter() - started
            out(
                f"run {attempt}: {wall:.2f} s wall (incl. cleanup of the previous run), "
                f"peak RSS {peak_rss_mb():,.0f} MB"
            )
            out("  phases: " + ", ".join(f"{k} {v:.2f}" for k, v in run.timings.items()))
            out(f"  counts: {run.counts}; input {run.input_hash[:16]}")
            if raw:
                out(
                    f"  service total {run.timings['total']:.2f} s = "
                    f"{run.timings['total'] / raw:.1f}x the raw read ({raw:.2f} s)"
                )
        summary = run.summary
        out(
            f"paid {summary['total_paid'] / 100:,.2f} = {summary['payout_percent_of_cv']} % of "
            f"CV; lines by kind {summary['line_counts']}"
        )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('commissions_commissionline')),"
                    " pg_size_pretty(pg_total_relation_size('commissions_distributorresult'))"
                )
                out("table sizes (lines, results): {}, {}".format(*cursor.fetchone()))
        if naive:
            from benchmarks.naive import naive_period

            started = time.perf_counter()
            outcome = naive_period(
                period_obj, run.plan_version.plan, prior_run_id=summary.get("prior_run_id")
            )
            naive_seconds = time.perf_counter() - started
            engine = {
                r.distributor_id: r.period_total
                for r in DistributorResult.objects.filter(run=run).only(
                    "distributor_id", "period_total"
                )
            }
            mismatches = sum(
                1
                for pk, figures in outcome["people"].items()
                if engine.get(pk) != figures["period_total"]
            )
            total = run.timings["total"]
            out(
                f"naive ORM implementation: {naive_seconds:.1f} s; service {total:.2f} s; "
                f"speed-up {naive_seconds / total:,.0f}x; distributors whose totals differ: "
                f"{mismatches}"
            )
        out(f"runs stored: {CommissionRun.objects.count()}")
