import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from commissions.errors import CommissionError
from commissions.management.period_argument import HELP, parse_period
from commissions.services.close import export_payouts
from commissions.services.weeks import export_week_payouts
from core.periods import Week


class Command(BaseCommand):
    help = "Write the payout CSV of a closed period (deterministic bytes) and mark it paid."

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help=HELP)
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, period: str, output: str | None, **options) -> None:
        chosen = parse_period(period)
        if output:
            check_writable(output)  # before the export marks the period paid
        try:
            if isinstance(chosen, Week):
                data = export_week_payouts(week=chosen)
            else:
                data = export_payouts(period=chosen)
        except CommissionError as error:
            raise CommandError(str(error)) from error
        if output:
            try:
                with open(output, "wb") as file:
                    file.write(data)
            except OSError as error:
                raise CommandError(
                    f"Cannot write {output}: {error.strerror or error}. {period} is marked paid; "
                    "export it again to another file (the same bytes)."
                ) from error
            self.stderr.write(f"{len(data.splitlines()) - 1} payouts written to {output}")
        elif hasattr(self.stdout, "buffer"):
            self.stdout.flush()
            self.stdout.buffer.write(data)
            self.stdout.buffer.flush()
        else:
            self.stdout.write(data.decode(), ending="")


def check_writable(output: str) -> None:
    path = Path(output)
    folder = path.parent
    if path.is_dir():
        raise CommandError(f"{output} is a folder: name the file to write.")
    if not folder.is_dir():
        raise CommandError(f"Cannot write {output}: the folder {folder} does not exist.")
    if not os.access(path if path.exists() else folder, os.W_OK):
        raise CommandError(f"Cannot write {output}: permission denied.")
