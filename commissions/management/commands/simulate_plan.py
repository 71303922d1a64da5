from django.core.management.base import BaseCommand, CommandError

from commissions.errors import CommissionError
from commissions.models import PlanVersion
from commissions.services.simulate import closed_period_row, simulate, simulation_rows
from core.csv import safe_csv_writer
from core.periods import Period

from .export_payouts import check_writable


class Command(BaseCommand):
    help = (
        "Run a plan version (a draft) over a closed month's frozen inputs and compare it with "
        "what was paid: totals, % of CV, per kind, per rank, the biggest winners and losers. "
        "Writes nothing to the ledger."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # ``--version`` names the plan version here, not Django's own version flag.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser) -> None:
        parser.add_argument("--version", type=int, required=True, help="Plan version id.")
        parser.add_argument("--period", required=True, help="The closed month, YYYY-MM.")
        parser.add_argument("--csv", help="Also write the comparison to this CSV file.")

    def handle(self, *args, version: int, period: str, csv: str | None, **options) -> None:
        if csv:
            check_writable(csv)
        try:
            month = Period.parse(period)
            closed_period_row(month)
        except (ValueError, CommissionError) as error:
            raise CommandError(str(error)) from error
        plan_version = PlanVersion.objects.filter(pk=version).first()
        if plan_version is None:
            raise CommandError(f"No plan version #{version}.")
        try:
            simulation = simulate(plan_version, month)
        except CommissionError as error:
            raise CommandError(str(error)) from error
        rows = simulation_rows(simulation)
        widths = [10, 8, 34, 14, 14, 14]
        for row in rows:
            cells = ["-" if cell is None else str(cell) for cell in row]
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) if i < 3 else cell.rjust(width)
                    for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
                ).rstrip()
            )
        if csv:
            try:
                with open(csv, "w", encoding="utf-8", newline="") as file:
                    safe_csv_writer(file).writerows(rows)
            except OSError as error:
                raise CommandError(f"Cannot write {csv}: {error.strerror or error}") from error
            self.stderr.write(f"Comparison written to {csv}")
