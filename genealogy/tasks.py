from celery import shared_task

from . import services


@shared_task(name="genealogy.place_pending_distributors")
def place_pending_distributors_task() -> dict:
    """Place everyone waiting for placement. Safe to run twice: the second finds nobody."""
    result = services.place_pending_distributors()
    return {"placed": result.placed, "method": result.method}
