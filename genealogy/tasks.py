from celery import shared_task

from . import services
from .placement.services import place_pending_placements

# While one placement batch runs, later sign-ups wait for the next; retry soon rather than
# leaving them for the next beat tick (a batch takes well under a second at 1M, and a recruit
# should be in the placed tree within 5 s).
LOCKED_RETRY_SECONDS = 1


@shared_task(
    name="genealogy.place_pending_distributors", bind=True, max_retries=60, ignore_result=False
)
def place_pending_distributors_task(self) -> dict:
    """Place everyone waiting for placement, then everyone due in the placement tree (automatic
    rules, and holding-tank entries past their deadline: beat runs this every minute). Safe to
    run twice: the second finds nobody."""
    result = services.place_pending_distributors()
    placement = place_pending_placements()
    if "locked" in (result.method, placement.method):
        raise self.retry(countdown=LOCKED_RETRY_SECONDS)
    return {
        "placed": result.placed,
        "method": result.method,
        "placement_placed": placement.placed,
        "placement_method": placement.method,
    }


@shared_task(name="genealogy.fold_downline_counts", bind=True, max_retries=60)
def fold_downline_counts_task(self) -> dict:
    """Add the waiting count rows of both trees to the stored downline counts (after each
    placement window, and every minute by beat). Safe to retry: folded rows are deleted in the
    same transaction."""
    result = services.fold_downline_counts()
    if result.locked:
        raise self.retry(countdown=LOCKED_RETRY_SECONDS)
    return {
        "sponsor_rows": result.sponsor.rows,
        "placement_rows": result.placement.rows,
    }
