"""Demo commission history for `seed_demo`: the demo plan, then each past month calculated,
closed and exported, so statements and the admin have something to show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from orders.periods import Period

from . import services
from .models import PlanVersion

DEMO_PLAN = Path(settings.BASE_DIR) / "plans" / "demo.yaml"


def seed_commission_history(
    *,
    months: int = 2,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Load the demo plan (if no version exists) and close and pay the `months` months before
    the current one; the current month gets a projection. Call after orders are seeded."""
    now = now or timezone.now()
    current = Period.current(now)
    periods = [current]
    for _ in range(months):
        periods.insert(0, periods[0].previous())
    if not PlanVersion.objects.exists():
        services.plan_version_create(
            source=DEMO_PLAN.read_text(encoding="utf-8"),
            effective_from=periods[0].first_day,
            note="Demo plan (plans/demo.yaml)",
        )
    done = []
    for period in periods[:-1]:
        row = services.period_row(period)
        if row.is_locked:
            continue
        run = services.calculate_period(period=period)
        services.close_period(period=period, verify_inputs=False)
        services.export_payouts(period=period)
        progress(f"commissions {period}: paid {run.summary['total_paid'] / 100:,.2f}")
        done.append(str(period))
    services.refresh_projection(now=now)
    return {"periods": done}
