"""This period's volume of placement legs, for the genealogy's weaker-leg-by-volume rule.

Registered in `OrdersConfig.ready` through `genealogy.policy.register_leg_volume_reader`. A leg is
the label range (lft, rght) of its top's placement node; its volume is the period's paid PV
minus refunded PV (the volume service's rule) of everyone whose placement label lies in it:
one aggregate per table and leg, joined with the placement rows by the month's index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from core.periods import Period
from genealogy.models import Placement

from .models import OrderLine, RefundLine


def placement_leg_volumes(
    legs: Sequence[tuple[int, int]], at: dt.datetime | None = None
) -> list[Decimal]:
    """Paid minus refunded PV of the period containing ``at`` (now when None) in each leg."""
    month = Period.containing(at or timezone.now()).first_day
    volumes = []
    for low, high in legs:
        people = Placement.objects.filter(lft__gte=low, lft__lte=high).values("distributor_id")
        total = Decimal("0")
        for model, sign in ((OrderLine, 1), (RefundLine, -1)):
            pv = model.objects.filter(commission_month=month, distributor_id__in=people).aggregate(
                total=Sum("pv")
            )["total"]
            total += sign * (pv or Decimal("0"))
        volumes.append(total)
    return volumes
