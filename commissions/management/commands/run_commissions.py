from django.core.management.base import BaseCommand, CommandError

from commissions.errors import CommissionError
from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from core.periods import Period


class Command(BaseCommand):
    help = "Calculate one period's commissions (a preview), and with --close make them final."

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--close", action="store_true", help="Close the period afterwards.")

    def handle(self, *args, period: str, close: bool, **options) -> None:
        try:
            month = Period.parse(period)
        except ValueError as error:
            raise CommandError(str(error)) from error

        def progress(percent: int, phase: str) -> None:
            self.stdout.write(f"  {percent:3d} %  {phase}")

        try:
            run = calculate_period(period=month, progress=progress)
            summary = run.summary
            self.stdout.write(
                self.style.SUCCESS(
                    f"{month}: run #{run.pk} paid {summary['total_paid'] / 100:,.2f} "
                    f"= {summary['payout_percent_of_cv']} % of CV in {run.timings['total']:.1f} s "
                    f"({run.counts['ledger_lines']:,} ledger lines, input {run.input_hash[:12]})"
                )
            )
            self.stdout.write(f"  timings: {run.timings}")
            if close:
                close_period(period=month)
                self.stdout.write(self.style.SUCCESS(f"{month} closed."))
        except CommissionError as error:
            raise CommandError(str(error)) from error
