"""This period's volume of placement legs, for the genealogy's weaker-leg-by-volume rule.

Registered in `OrdersConfig.ready` through `genealogy.policy.register_leg_volume_reader`. A leg is
the label range (lft, rght) of its top's placement node; its volume is the period's paid PV
minus refunded PV (the volume service's rule) of everyone whose placement label lies in it.
However many legs a placement batch asks about, the period's lines are read once: PV per
placement label (one grouped query per table, joined with the placement rows), then each
leg's sum is a difference of two prefix sums found by binary search (numpy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
from django.db.models import Sum
from django.utils import timezone

from core.periods import Period

from .models import OrderLine, RefundLine

CENT = Decimal("0.01")


def placement_leg_volumes(
    legs: Sequence[tuple[int, int]], at: dt.datetime | None = None
) -> list[Decimal]:
    """Paid minus refunded PV of the period containing ``at`` (now when None) in each leg."""
    if not legs:
        return []
    month = Period.containing(at or timezone.now()).first_day
    cents: dict[int, int] = {}
    for model, sign in ((OrderLine, 1), (RefundLine, -1)):
        rows = (
            model.objects.filter(commission_month=month, distributor__placement__lft__isnull=False)
            .values_list("distributor__placement__lft")
            .annotate(total=Sum("pv"))
            .order_by()
        )
        for lft, total in rows:
            cents[lft] = cents.get(lft, 0) + sign * int((total or 0) * 100)
    if not cents:
        return [Decimal("0.00") for _ in legs]
    labels = np.fromiter(cents, dtype=np.int64, count=len(cents))
    amounts = np.fromiter(cents.values(), dtype=np.int64, count=len(cents))
    order = np.argsort(labels)
    labels, prefix = labels[order], np.r_[0, np.cumsum(amounts[order])]
    low = np.searchsorted(labels, np.array([leg[0] for leg in legs], dtype=np.int64), "left")
    high = np.searchsorted(labels, np.array([leg[1] for leg in legs], dtype=np.int64), "right")
    return [Decimal(int(total)) * CENT for total in (prefix[high] - prefix[low]).tolist()]
