from django.core.management.base import BaseCommand, CommandError

from commissions import services
from orders.periods import Period


class Command(BaseCommand):
    help = "Write the payout CSV of a closed period (deterministic bytes) and mark it paid."

    def add_arguments(self, parser) -> None:
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--output", help="File to write (default: standard output).")

    def handle(self, *args, period: str, output: str | None, **options) -> None:
        try:
            data = services.export_payouts(period=Period.parse(period))
        except (ValueError, services.CommissionError) as error:
            raise CommandError(str(error)) from error
        if output:
            with open(output, "wb") as file:
                file.write(data)
            self.stderr.write(f"{len(data.splitlines()) - 1} payouts written to {output}")
        elif hasattr(self.stdout, "buffer"):
            self.stdout.flush()
            self.stdout.buffer.write(data)
            self.stdout.buffer.flush()
        else:
            self.stdout.write(data.decode(), ending="")
