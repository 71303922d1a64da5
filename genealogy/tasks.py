from celery import shared_task

from . import services

# While one placement batch runs, later sign-ups wait for the next; retry soon rather than
# leaving them for the next beat tick.
LOCKED_RETRY_SECONDS = 5


@shared_task(
    name="genealogy.place_pending_distributors", bind=True, max_retries=60, ignore_result=False
)
def place_pending_distributors_task(self) -> dict:
    """Place everyone waiting for placement. Safe to run twice: the second finds nobody."""
    result = services.place_pending_distributors()
    if result.method == "locked":
        raise self.retry(countdown=LOCKED_RETRY_SECONDS)
    return {"placed": result.placed, "method": result.method}
