"""Staff rank overrides: a distributor paid as at least a rank in an open month, with a reason
(``models.RankOverride``, append-only; the rule is ``engine/rank_grace.py``)."""

from __future__ import annotations

from django.db import transaction

from core.periods import Period
from genealogy.models import Distributor

from ..errors import CommissionError
from ..models import LOCKED_STATUSES, CommissionPeriod, RankOverride
from .periods import period_row
from .plans import plan_version_for


def rank_override_create(
    *,
    distributor: Distributor,
    period: Period,
    rank_code: str,
    reason: str,
    by,
) -> RankOverride:
    """Record that ``distributor`` is paid as at least ``rank_code`` in ``period`` (an empty
    code withdraws an earlier override). Refused for a closed month, an unknown rank or no
    reason; the month's next calculation applies it."""
    reason = (reason or "").strip()
    if not reason:
        raise CommissionError("A rank override needs a reason.")
    rank_code = (rank_code or "").strip()
    if (
        not CommissionPeriod.objects.filter(month=period.first_day).exists()
        and CommissionPeriod.objects.filter(
            month__gt=period.first_day, status__in=LOCKED_STATUSES
        ).exists()
    ):
        # Its period row would be an open month behind closed ones (closing would stall).
        raise CommissionError(
            f"{period} has no commission period and later months are closed: only a month "
            "that is still open can be overridden."
        )
    row = period_row(period)
    with transaction.atomic():
        # Closing a month takes the same lock: an override cannot slip in while it closes.
        row = CommissionPeriod.objects.select_for_update().get(pk=row.pk)
        if row.is_locked:
            raise CommissionError(
                f"{period} is {row.get_status_display().lower()}: only an open month's rank "
                "can be overridden."
            )
        if rank_code:
            plan = plan_version_for(period).plan
            codes = [rank.code for rank in plan.ranks]
            if rank_code not in codes:
                raise CommissionError(
                    f"{rank_code!r} is not a rank of the plan for {period} "
                    f"(ranks: {', '.join(codes)})."
                )
        return RankOverride.objects.create(
            distributor=distributor,
            period=period.first_day,
            rank_code=rank_code,
            reason=reason,
            by=by,
        )
