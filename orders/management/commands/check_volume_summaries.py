from django.core.management.base import BaseCommand, CommandError

from core.periods import Period
from orders.volume_summaries import rebuild_volume_summaries, volume_summary_differences

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare the volume summaries with the order and refund lines (exit code 1 when they "
        "differ); --fix rebuilds the summaries from the lines."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--period", help="YYYY-MM (default: every period)")
        parser.add_argument(
            "--fix", action="store_true", help="Rebuild the summaries from the lines."
        )

    def handle(self, *args, period: str | None, fix: bool, **options) -> None:
        try:
            period_obj = Period.parse(period) if period is not None else None
        except ValueError as error:
            raise CommandError(str(error)) from error
        scope = str(period_obj) if period_obj else "every period"
        differences = volume_summary_differences(period_obj)
        if not differences:
            self.stdout.write(self.style.SUCCESS(f"Volume summaries match the lines ({scope})."))
            return
        self.stdout.write(
            self.style.ERROR(f"{len(differences):,} volume summaries differ from the lines:")
        )
        for difference in differences[:SHOWN]:
            where = f"distributor {difference.distributor_id}, {difference.month:%Y-%m}"
            if difference.stored is None:
                detail = "missing"
            elif difference.expected is None:
                detail = "no line counts there"
            else:
                detail = ", ".join(
                    f"{name} {difference.stored[name]} (lines say {difference.expected[name]})"
                    for name in difference.columns
                )
            self.stdout.write(f"  {where}: {detail}")
        if len(differences) > SHOWN:
            self.stdout.write(f"  … and {len(differences) - SHOWN:,} more")
        if not fix:
            raise CommandError("The volume summaries differ (run with --fix to rebuild them).")
        rows = rebuild_volume_summaries(period_obj)
        self.stdout.write(f"Rebuilt {rows:,} volume summaries ({scope}).")
        if volume_summary_differences(period_obj):
            raise CommandError("The volume summaries still differ after rebuilding.")
