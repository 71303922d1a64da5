from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from core.csv import NotUtf8Error, open_text_error, utf8_lines
from genealogy.imports import COLUMNS, import_genealogy


class Command(BaseCommand):
    help = (
        "Import distributors from a CSV file with the columns "
        f"{','.join(COLUMNS)} (header required). All or nothing: every bad row is reported "
        "with its line number and nothing is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check the file, write nothing.")
        parser.add_argument("--reason", default="", help="Recorded in the audit of each row.")
        parser.add_argument("--by", default="", help="Email of the staff member importing.")

    def handle(self, *args, file: Path, dry_run: bool, reason: str, by: str, **options) -> None:
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        staff = None
        if by:
            staff = User.objects.filter(email__iexact=by, is_staff=True).first()
            if staff is None:
                raise CommandError(f"No staff member with the email {by}.")
        try:
            lines = utf8_lines(file)
        except OSError as error:
            raise CommandError(open_text_error(file, error)) from error
        try:
            report = import_genealogy(
                lines,
                dry_run=dry_run,
                reason=reason or f"Imported from {file.name}",
                by=staff,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        except NotUtf8Error as error:
            raise CommandError(f"{error} Nothing was imported.") from error
        if report.errors:
            for error in report.errors:
                self.stdout.write(self.style.ERROR(f"line {error.line}: {error.reason}"))
            raise CommandError(
                f"{len(report.errors):,} problem(s) in {file.name}: nothing was imported."
            )
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(f"{report.rows:,} rows are good (dry run: nothing written).")
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.created:,} distributors in {report.seconds:.1f} s."
            )
        )
