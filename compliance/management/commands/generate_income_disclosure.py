import time

from django.core.management.base import BaseCommand, CommandError

from compliance.disclosure import DisclosureError, generate_income_disclosure
from core.arguments import year


class Command(BaseCommand):
    help = "Generate and publish the income disclosure statement of YEAR from closed periods."

    def add_arguments(self, parser):
        parser.add_argument("year", type=year, help="YYYY")

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            statement = generate_income_disclosure(year=options["year"])
        except DisclosureError as error:
            raise CommandError(str(error)) from error
        figures = statement.figures
        self.stdout.write(
            f"Statement #{statement.pk} for {statement.year}: {figures['participants']} "
            f"participants, {figures['zero_percent']} % earned $0, median {figures['median']}, "
            f"mean {figures['mean']} ({time.perf_counter() - started:.1f} s)\n"
            f"Source: {statement.source['description']}"
        )
