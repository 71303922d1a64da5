from django.core.management.base import BaseCommand, CommandError

from commissions.engine import PlanValidationError
from commissions.errors import CommissionError
from commissions.services.plans import plan_version_create
from core.csv import open_text_error, read_utf8_text
from core.periods import Period


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
            source = read_utf8_text(file)  # NotUtf8Error (a ValueError) names the line
            version = plan_version_create(source=source, effective_from=period.first_day, note=note)
        except PlanValidationError as error:
            for path, message in error.errors:
                self.stderr.write(f"  {path or '(document)'}: {message}")
            raise CommandError(
                f"{file}: {len(error.errors)} problem(s); nothing stored."
            ) from error
        except OSError as error:
            raise CommandError(open_text_error(file, error)) from error
        except (ValueError, CommissionError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Plan version {version.pk} ({version.name}) stored, effective from {period}; "
                f"theoretical maximum payout {version.max_payout_percent:.2f} % of CV; "
                "no pay on enrollment."
            )
        )
