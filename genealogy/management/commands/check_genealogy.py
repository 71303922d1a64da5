from django.core.management.base import BaseCommand, CommandError

from genealogy.integrity import IntegrityReport, check_tree
from genealogy.placement.integrity import check_placement_tree
from genealogy.services import renumber_tree


class Command(BaseCommand):
    help = (
        "Check that the nested-set tree matches the sponsor links (exit code 1 when it does "
        "not); --fix (or --repair) renumbers the whole tree from the sponsor links."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix",
            "--repair",
            dest="fix",
            action="store_true",
            help="Renumber the tree from the sponsor links (labels spread evenly again).",
        )

    def handle(self, *args, fix: bool, **options) -> None:
        placement_ok = self.check_placement_tree()
        report = check_tree()
        self.print_report(report)
        if report.is_valid:
            if not placement_ok:
                raise CommandError("The placement tree has problems (see above).")
            return
        if not fix:
            raise CommandError("The genealogy has problems (run with --fix to renumber).")
        if report.has_cycles:
            raise CommandError("Sponsor links form a loop: fix the links by hand, then --fix.")
        result = renumber_tree()
        self.stdout.write(f"Renumbered {result.nodes:,} distributors, {result.changed:,} changed.")
        report = check_tree()
        self.print_report(report)
        if not report.is_valid:
            raise CommandError("Problems remain after renumbering.")

    def check_placement_tree(self) -> bool:
        """Print the placement tree's check (binary and matrix plans); whether it is valid."""
        report = check_placement_tree()
        if report.kind == "none" and report.is_valid:
            return True
        self.stdout.write(
            f"Placement tree ({report.kind}): {report.nodes:,} placed, {report.waiting:,} in the "
            f"holding tank, checked in {report.seconds:.1f} s."
        )
        if report.is_valid:
            self.stdout.write(self.style.SUCCESS("The placement tree is consistent."))
            return True
        for problem in report.problems:
            examples = ", ".join(str(number) for number in problem.examples)
            self.stdout.write(
                self.style.ERROR(f"{problem.count:,} × placement tree: {problem.description}")
                + (f" (e.g. {examples})" if examples else "")
            )
        return False

    def print_report(self, report: IntegrityReport) -> None:
        self.stdout.write(
            f"{report.nodes:,} distributors ({report.pending:,} waiting for placement)"
            f" checked in {report.seconds:.1f} s."
        )
        if report.is_valid:
            self.stdout.write(self.style.SUCCESS("The genealogy is consistent."))
            return
        for problem in report.problems:
            examples = ", ".join(str(number) for number in problem.examples)
            self.stdout.write(
                self.style.ERROR(f"{problem.count:,} × {problem.description}")
                + (f" (e.g. {examples})" if examples else "")
            )
