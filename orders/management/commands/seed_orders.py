from django.core.management.base import BaseCommand

from core.arguments import non_negative_int, positive_int, positive_number
from orders.demo import seed_orders


class Command(BaseCommand):
    help = "Add the demo catalog and months of demo orders to the company (bulk, deterministic)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--months", type=positive_int, default=3)
        parser.add_argument("--lines-per-distributor", type=positive_number, default=3.0)
        parser.add_argument("--seed", type=non_negative_int, default=1)

    def handle(self, *args, months: int, lines_per_distributor: float, seed: int, **options):
        result = seed_orders(
            months=months,
            lines_per_distributor=lines_per_distributor,
            seed=seed,
            progress=lambda message: self.stdout.write(f"  {message}"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{result['orders']:,} orders, {result['lines']:,} lines, "
                f"{result['customers']:,} customers, {result['refunds']:,} refunds "
                f"in {result['seconds']:.1f} s."
            )
        )
