"""Everything that writes training rows, and the sale gate `orders.hooks` asks before a first
retail sale (registered in ``TrainingConfig.ready``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from genealogy.models import Distributor
from orders.models import Order, OrderPurpose

from .models import ReferralShare, TrainingCompletion, TrainingItem
from .selectors import RequiredItem, pending_compliance_items


def training_item_complete(
    *, distributor: Distributor, item: TrainingItem, now: dt.datetime | None = None
) -> TrainingCompletion:
    """Mark ``item`` done for ``distributor`` (once; marking it again changes nothing)."""
    completion, _ = TrainingCompletion.objects.get_or_create(
        distributor=distributor, item=item, defaults={"completed_at": now or timezone.now()}
    )
    return completion


def referral_share_record(
    *, distributor: Distributor, now: dt.datetime | None = None
) -> ReferralShare:
    """Record that ``distributor`` copied their referral link (the first time is kept)."""
    share, _ = ReferralShare.objects.get_or_create(
        distributor=distributor, defaults={"first_shared_at": now or timezone.now()}
    )
    return share


def requires_compliance_training_for_retail() -> bool:
    return settings.LADDER_REQUIRE_COMPLIANCE_TRAINING_FOR_RETAIL


def training_before_first_retail_sale(distributor: Distributor) -> list[RequiredItem]:
    """The required compliance items still to finish before the distributor's first retail
    sale: none when the rule is off (LADDER_REQUIRE_COMPLIANCE_TRAINING_FOR_RETAIL), when
    nothing required and published is visible to them, or when they have sold before.

    Registered as a sale gate (``orders.hooks``): the order form shows them at the start, with
    links; `order_place` refuses with them."""
    if not requires_compliance_training_for_retail():
        return []
    pending = pending_compliance_items(distributor)
    if not pending:
        return []
    has_sold = Order.objects.filter(distributor_id=distributor.pk, purpose=OrderPurpose.RETAIL)
    if has_sold.exists():
        return []
    return pending


def compliance_training_refusal(pending: Sequence[RequiredItem]) -> str:
    """Why a first retail sale is refused while compliance items are pending."""
    titles = ", ".join(f"“{item.title}”" for item in pending)
    return (
        "Finish the required compliance training before your first sale to a retail customer "
        f"(Training, Compliance): {titles}."
    )
