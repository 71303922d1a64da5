"""Print order-entry and volume-service timings (figures only, never assertions).

Run it on a scratch database holding a seeded company (`seed_demo --distributors 1000000`):
with an empty order table it first times order entry, then seeds a month of orders
(`--lines-per-distributor` per distributor), times order entry again and the volume service.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time

import numpy as np
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from core.arguments import non_negative_int, positive_int, positive_number
from core.periods import Period
from genealogy.models import Distributor, DistributorStatus
from orders.demo import seed_catalog, seed_orders
from orders.models import OrderLine, OrderPurpose, Product, ProductKind
from orders.services import order_pay, order_place
from orders.volume import distributor_volume, period_line_arrays, period_totals
from orders.volume_summaries import summary_totals


class Command(BaseCommand):
    help = "Time order entry (empty vs full order table) and the volume service."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--samples", type=positive_int, default=200)
        parser.add_argument("--lines-per-distributor", type=positive_number, default=3.0)
        parser.add_argument("--seed", type=non_negative_int, default=5)

    def handle(self, *args, samples: int, lines_per_distributor: float, seed: int, **options):
        rng = np.random.default_rng(seed)
        seed_catalog()
        ids = np.array(
            Distributor.objects.filter(is_house=False)
            .exclude(status=DistributorStatus.TERMINATED)
            .values_list("id", flat=True)
        )
        distributors = len(ids)
        self.stdout.write(f"{distributors:,} distributors who may order")
        if not OrderLine.objects.exists():
            self.report("order entry, empty order table", self.time_entry(ids, samples, rng))
            self.stdout.write("seeding one month of orders…")
            started = time.perf_counter()
            # A whole month: the last one, up to its final second.
            result = seed_orders(
                months=1,
                lines_per_distributor=lines_per_distributor,
                seed=seed,
                progress=self.note,
                now=Period.current().start - dt.timedelta(seconds=1),
            )
            self.stdout.write(
                f"seed: {result['lines']:,} lines, {result['orders']:,} orders in "
                f"{time.perf_counter() - started:.1f} s"
            )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE orders_orderline; ANALYZE orders_order")
        lines = OrderLine.objects.count()
        self.report(
            f"order entry, {lines:,} lines in the table", self.time_entry(ids, samples, rng)
        )

        period = Period.current().previous()
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            totals = period_totals(period)
            timings.append(time.perf_counter() - started)
        self.stdout.write(
            f"volume service period_totals({period}): {len(totals):,} distributors with volume, "
            f"best {min(timings):.2f} s, runs {', '.join(f'{t:.2f}' for t in timings)} s"
        )
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            summaries = summary_totals(period)
            timings.append(time.perf_counter() - started)
        self.stdout.write(
            f"volume summaries summary_totals({period}) (what a run reads): {len(summaries):,} "
            f"distributors, best {min(timings):.2f} s, "
            f"runs {', '.join(f'{t:.2f}' for t in timings)} s"
        )
        started = time.perf_counter()
        arrays = period_line_arrays(period)
        self.stdout.write(
            f"period_line_arrays({period}): {len(arrays.line_id):,} lines in "
            f"{time.perf_counter() - started:.2f} s"
        )
        one = [distributor_volume(distributor_id=int(i), period=period) for i in ids[:1]]
        del one
        single = []
        for distributor_id in rng.choice(ids, 50):
            started = time.perf_counter()
            distributor_volume(distributor_id=int(distributor_id), period=period)
            single.append(time.perf_counter() - started)
        self.report("distributor_volume (one distributor)", single)

    def note(self, message: str) -> None:
        self.stdout.write(f"  {message}")

    def time_entry(self, ids: np.ndarray, samples: int, rng) -> list[float]:
        """Place and pay a personal order of one to three products, committed each time."""
        products = list(
            Product.objects.filter(is_active=True, kind=ProductKind.PRODUCT).values_list(
                "id", flat=True
            )
        )
        timings = []
        for distributor_id in rng.choice(ids, samples):
            distributor = Distributor.objects.get(pk=int(distributor_id))
            chosen = rng.choice(products, rng.integers(1, 4), replace=False)
            items = {int(p): int(rng.integers(1, 4)) for p in chosen}
            started = time.perf_counter()
            with transaction.atomic():
                order = order_place(
                    distributor=distributor, items=items, purpose=OrderPurpose.PERSONAL
                )
                order_pay(order=order, provider="test")
            timings.append(time.perf_counter() - started)
        return timings

    def report(self, label: str, timings: list[float]) -> None:
        ms = sorted(t * 1000 for t in timings)
        p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
        self.stdout.write(
            f"{label}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms ({len(ms)} samples)"
        )
