"""Members: from a sign-up to a distributor in the tree (enrollment), and their profile."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Enrollment, User

from .models import Distributor
from .services import create_distributor

logger = logging.getLogger(__name__)


def record_enrollment(
    *, user: User, name: str, sponsor: Distributor, country: str, phone: str = ""
) -> Enrollment:
    """Keep what a person asked for at sign-up; the distributor comes with verification."""
    user.name = name.strip()
    user.save(update_fields=["name"])
    return Enrollment.objects.create(
        user=user,
        sponsor=sponsor,
        country=country,
        phone=phone.strip(),
        policies_version=settings.LADDER_POLICIES_VERSION,
    )


def complete_enrollment(*, user: User) -> Distributor | None:
    """Create the distributor once the email address is verified. Safe to call twice.

    The enrollment row is locked, so two verification clicks at once still create one
    distributor.
    """
    with transaction.atomic():
        enrollment = Enrollment.objects.select_for_update().filter(user=user).first()
        if enrollment is None:
            return None
        existing = Distributor.objects.filter(user=user).first()
        if existing is not None:
            return existing
        distributor = create_distributor(
            user=user,
            sponsor=enrollment.sponsor,
            country=enrollment.country,
            phone=enrollment.phone,
        )
        enrollment.completed_at = timezone.now()
        enrollment.save(update_fields=["completed_at"])
        logger.info(
            "distributor enrolled",
            extra={"distributor": distributor.number, "sponsor": enrollment.sponsor_id},
        )
        return distributor


def update_profile(
    *,
    user: User,
    distributor: Distributor | None,
    name: str,
    country,
    phone: str,
    share_phone_with_team: bool,
    payout_method: str | None = None,
    payout_account: str | None = None,
) -> None:
    """Save the profile page. Payout details change only when given (``None`` keeps them);
    a change of method or account is audited in the log (the account masked)."""
    with transaction.atomic():
        user.name = name.strip()
        user.save(update_fields=["name"])
        if distributor is None:
            return
        fields = ["country", "phone", "share_phone_with_team"]
        distributor.country = country
        distributor.phone = phone.strip()
        distributor.share_phone_with_team = share_phone_with_team
        old_method, old_account = (
            Distributor.objects.select_for_update()
            .values_list("payout_method", "payout_account")
            .get(pk=distributor.pk)
        )
        new_method = old_method if payout_method is None else payout_method
        new_account = old_account if payout_account is None else payout_account.strip()
        distributor.payout_method, distributor.payout_account = new_method, new_account
        if (new_method, new_account) != (old_method, old_account):
            fields += ["payout_method", "payout_account"]
        distributor.save(update_fields=fields)
    if (new_method, new_account) != (old_method, old_account):
        logger.info(
            "payout details changed",
            extra={
                "user": user.pk,
                "distributor": distributor.number,
                "old_method": old_method,
                "new_method": new_method,
                "old_account": mask_account(old_account),
                "new_account": mask_account(new_account),
            },
        )


def mask_account(account: str) -> str:
    """An account for logs: only its last four characters (nothing of a short one)."""
    if not account:
        return ""
    return "****" + (account[-4:] if len(account) > 4 else "")
