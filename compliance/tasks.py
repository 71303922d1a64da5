"""Thin Celery tasks over the compliance services; each is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from . import services
from .disclosure import generate_income_disclosure


@shared_task(name="compliance.compute_recent_flags")
def compute_recent_flags_task() -> list[dict]:
    """Beat, daily: recompute the flags of the open month and the month before."""
    return [
        {"period": str(c.period), "tripped": c.tripped, "created": c.created, "removed": c.removed}
        for c in services.compute_recent_flags()
    ]


@shared_task(name="compliance.generate_income_disclosure")
def generate_income_disclosure_task(*, year: int, user_id: int | None = None) -> dict:
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    statement = generate_income_disclosure(year=year, by=user)
    return {"statement": statement.pk, "year": year}
