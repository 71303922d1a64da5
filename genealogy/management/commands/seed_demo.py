from django.core.management.base import BaseCommand, CommandError

from genealogy.demo import DEMO_PASSWORD, STAFF_EMAIL, STAFF_TOTP_SECRET, seed_company
from genealogy.models import Distributor


class Command(BaseCommand):
    help = "Build a realistic demo company (deterministic for a given --seed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--distributors", type=int, default=2_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the company has people."
        )

    def handle(self, *args, distributors: int, seed: int, if_empty: bool, **options) -> None:
        if distributors < 10:
            raise CommandError("--distributors must be at least 10.")
        if Distributor.objects.filter(is_house=False).exists():
            if if_empty:
                self.stdout.write("The company already has distributors: demo data not loaded.")
                return
            raise CommandError("The database already has distributors; use an empty database.")
        result = seed_company(
            distributors=distributors,
            seed=seed,
            progress=lambda message: self.stdout.write(f"  {message}"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo company: {distributors:,} distributors, tree depth {result['max_depth']}, "
                f"built in {result['seconds']:.1f} s."
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
