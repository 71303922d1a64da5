"""Placement-tree figures of the company in the database (prints, never asserts).

    manage.py bench_placement --results var/bench-placement.json   # in a 1,000-person database
    manage.py bench_placement --results var/bench-placement.json   # in a 1,000,000-person one

With --results, each run's figures are kept in the file by size, and once it holds two sizes
the comparison (the batch ratio per rule) is printed. `bench_genealogy` runs the same phases.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.celery import app as celery_app
from core.arguments import non_negative_int
from genealogy.bench_placement import (
    PlacementBenchRefused,
    print_comparison,
    run_placement_bench,
)
from genealogy.models import Distributor


class Command(BaseCommand):
    help = "Measure the placement tree at the company's size (prints figures, never asserts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=non_negative_int, default=1)
        parser.add_argument(
            "--results",
            default="",
            metavar="PATH",
            help="JSON file keeping each size's figures; two sizes there print a comparison.",
        )

    def handle(self, *args, seed: int, results: str, **options) -> None:
        celery_app.conf.broker_url = "memory://"  # never send tasks to a real worker
        size = Distributor.objects.count()
        if size < 10:
            raise CommandError("The company has fewer than 10 people: seed it first.")
        try:
            figures = run_placement_bench(self.stdout, size, seed=seed)
        except PlacementBenchRefused as error:
            raise CommandError(str(error)) from error
        if not results:
            return
        path = Path(results)
        try:
            kept = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}.") from error
        kept[str(size)] = figures
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(kept, indent=2))
        if len(kept) >= 2:
            sizes = sorted(kept, key=int)
            print_comparison(self.stdout, kept[sizes[0]], kept[sizes[-1]])
