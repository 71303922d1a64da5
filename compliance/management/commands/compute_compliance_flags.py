from django.core.management.base import BaseCommand, CommandError

from compliance import services
from core.periods import Period


class Command(BaseCommand):
    help = "Compute the compliance flags of a period (YYYY-MM), or of the open and last month."

    def add_arguments(self, parser):
        parser.add_argument("period", nargs="?", help="YYYY-MM; default: open and last month")

    def handle(self, *args, **options):
        if options["period"]:
            try:
                periods = [Period.parse(options["period"])]
            except ValueError as error:
                raise CommandError(str(error)) from error
            if periods[0] > Period.current():
                raise CommandError(f"{periods[0]} has not started yet: nothing to measure.")
            results = [services.compute_compliance_flags(period=p) for p in periods]
        else:
            results = services.compute_recent_flags()
        for counts in results:
            self.stdout.write(
                f"{counts.period}: {counts.tripped} flag(s) raised ({counts.created} new, "
                f"{counts.removed} open flag(s) no longer apply, removed)"
            )
