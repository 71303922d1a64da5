"""Place everyone without a placement, in join order, by the company's automatic rule."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from genealogy.placement.services import PlacementError, build_placement_tree


class Command(BaseCommand):
    help = (
        "For a company whose plan switches to a binary or matrix placement tree: place everyone "
        "who has no placement yet, in join order, by the plan's automatic rule (auto_rule), in "
        "batches. Safe to run again: people already placed or waiting are left as they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch", type=int, default=1_000, help="People per batch.")

    def handle(self, *args, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1.")
        try:
            result = build_placement_tree(batch_size=batch, progress=self.stdout.write)
        except PlacementError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Placed {result.placed:,} people in {result.batches:,} batches "
                f"({result.waiting:,} still waiting for their sponsor)."
            )
        )
