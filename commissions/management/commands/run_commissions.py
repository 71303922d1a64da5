from django.core.management.base import BaseCommand, CommandError

from commissions.errors import CommissionError
from commissions.management.period_argument import HELP, parse_period
from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from commissions.services.weeks import calculate_week, close_week
from core.periods import Week


class Command(BaseCommand):
    help = (
        "Calculate one period's commissions (a preview), and with --close make them final: a "
        "month, or a pay week of a plan that pays some kinds weekly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help=HELP)
        parser.add_argument("--close", action="store_true", help="Close the period afterwards.")

    def handle(self, *args, period: str, close: bool, **options) -> None:
        chosen = parse_period(period)

        def progress(percent: int, phase: str) -> None:
            self.stdout.write(f"  {percent:3d} %  {phase}")

        weekly = isinstance(chosen, Week)
        try:
            if weekly:
                run = calculate_week(week=chosen, progress=progress)
            else:
                run = calculate_period(period=chosen, progress=progress)
            summary = run.summary
            self.stdout.write(
                self.style.SUCCESS(
                    f"{chosen}: run #{run.pk} paid {summary['total_paid'] / 100:,.2f} "
                    f"= {summary['payout_percent_of_cv']} % of CV in {run.timings['total']:.1f} s "
                    f"({run.counts['ledger_lines']:,} ledger lines, input {run.input_hash[:12]})"
                )
            )
            self.stdout.write(f"  timings: {run.timings}")
            if close:
                if weekly:
                    close_week(week=chosen)
                else:
                    close_period(period=chosen)
                self.stdout.write(self.style.SUCCESS(f"{chosen} closed."))
        except CommissionError as error:
            raise CommandError(str(error)) from error
