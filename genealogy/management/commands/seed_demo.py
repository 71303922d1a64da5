import time

from django.core.management.base import BaseCommand, CommandError

from commissions.demo import seed_commission_history
from genealogy.demo import DEMO_PASSWORD, STAFF_EMAIL, STAFF_TOTP_SECRET, seed_company
from genealogy.models import Distributor
from messaging.demo import seed_announcements
from orders.demo import seed_orders
from training.demo import seed_training


def default_order_months(distributors: int) -> int:
    return max(2, min(13, 1_000_000 // distributors))


def default_commission_months(order_months: int, distributors: int) -> int:
    """Closed and paid months of commissions: a year for small companies, one at a million."""
    return max(0, min(order_months - 1, 12, 2_000_000 // distributors - 1))


class Command(BaseCommand):
    help = "Build a realistic demo company (deterministic for a given --seed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--distributors", type=int, default=2_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--order-months",
            type=int,
            default=None,
            help="Months of order history, the current one included (default: 13 for small "
            "companies, down to 2 at a million distributors to stay within minutes).",
        )
        parser.add_argument(
            "--commission-months",
            type=int,
            default=None,
            help="Past months whose commissions are calculated, closed and paid "
            "(default: up to 12, one at a million distributors).",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the company has people."
        )

    def handle(
        self,
        *args,
        distributors: int,
        seed: int,
        if_empty: bool,
        order_months,
        commission_months,
        **options,
    ) -> None:
        if distributors < 10:
            raise CommandError("--distributors must be at least 10.")
        if Distributor.objects.filter(is_house=False).exists():
            if if_empty:
                self.stdout.write("The company already has distributors: demo data not loaded.")
                return
            raise CommandError("The database already has distributors; use an empty database.")
        started = time.monotonic()
        result = seed_company(
            distributors=distributors,
            seed=seed,
            progress=lambda message: self.stdout.write(f"  {message}"),
        )
        months = order_months if order_months is not None else default_order_months(distributors)
        orders = {"lines": 0, "seconds": 0.0}
        if months > 0:
            orders = seed_orders(
                months=months,
                lines_per_distributor=3.0,
                seed=seed,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        seed_training()
        seed_announcements()
        if commission_months is None:
            commission_months = default_commission_months(months, distributors)
        if commission_months > 0:
            history = seed_commission_history(
                months=commission_months,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
            self.stdout.write(f"  commissions closed and paid: {', '.join(history['periods'])}")
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company: {distributors:,} distributors, tree depth {result['max_depth']}, "
                f"{orders['lines']:,} order lines over {months} months, built in {elapsed:.1f} s."
            )
        )
        self.stdout.write(f"Password for every demo login: {DEMO_PASSWORD}")
        self.stdout.write(
            f"  staff     {STAFF_EMAIL}  (TOTP secret {STAFF_TOTP_SECRET};"
            " `python manage.py demo_totp` prints the current code)"
        )
        for role, login in result["logins"].items():
            self.stdout.write(
                f"  {role:<9} {login['email']}  (depth {login['depth']},"
                f" {login['recruits']} direct recruits)"
            )
