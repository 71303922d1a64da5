from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from commissions import services
from commissions.engine import PlanValidationError
from orders.periods import Period


class Command(BaseCommand):
    help = "Validate a plan file (YAML or JSON) and store it as a new plan version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument(
            "--effective-from", help="YYYY-MM (default: the current month)", default=None
        )
        parser.add_argument("--note", default="")

    def handle(self, *args, file: str, effective_from: str | None, note: str, **options) -> None:
        try:
            period = Period.parse(effective_from) if effective_from else Period.current()
            source = Path(file).read_text(encoding="utf-8")
            version = services.plan_version_create(
                source=source, effective_from=period.first_day, note=note
            )
        except PlanValidationError as error:
            for path, message in error.errors:
                self.stderr.write(f"  {path or '(document)'}: {message}")
            raise CommandError(
                f"{file}: {len(error.errors)} problem(s); nothing stored."
            ) from error
        except (OSError, ValueError, services.CommissionError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Plan version {version.pk} ({version.name}) stored, effective from {period}; "
                f"theoretical maximum payout {version.max_payout_percent:.2f} % of CV; "
                "no pay on enrollment."
            )
        )
