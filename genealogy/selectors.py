"""Every read of the genealogy that a page needs, and the one access rule.

`visible_distributors(user)` decides what a person may see: staff see everyone; a distributor
sees themselves and their placed downline (nested-set range), plus their own direct enrollees
who are still waiting for placement. Views never filter distributors by hand.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from .codes import normalize_referral_code
from .models import COMPANY_TREE_ID, Distributor, DistributorStatus


class SponsorRefusal(Exception):
    """A referral code that cannot enroll anyone, with the message a person should read."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def find_enrolling_sponsor(raw_code: str) -> Distributor:
    code = normalize_referral_code(raw_code)
    if not code:
        raise SponsorRefusal("Enter the referral code of the person who introduced you.", "empty")
    sponsor = Distributor.objects.select_related("user").filter(referral_code=code).first()
    if sponsor is None:
        raise SponsorRefusal(f"No distributor has the code {code}.", "unknown")
    if sponsor.status != DistributorStatus.ACTIVE:
        raise SponsorRefusal(
            f"The distributor with the code {code} cannot enroll new people at the moment. "
            "Please ask them, or the company, for help.",
            "not_active",
        )
    return sponsor


def distributor_for_user(user) -> Distributor | None:
    if not user.is_authenticated:
        return None
    return Distributor.objects.filter(user=user).select_related("user").first()


def visible_distributors(user) -> QuerySet[Distributor]:
    """The one access rule: what `user` may see of the genealogy."""
    queryset = Distributor.objects.all()
    if user.is_authenticated and user.is_staff:
        return queryset
    viewer = distributor_for_user(user)
    if viewer is None:
        return queryset.none()
    return queryset.filter(downline_q(viewer, include_self=True))


def downline_q(viewer: Distributor, *, include_self: bool) -> Q:
    own = Q(pk=viewer.pk) if include_self else Q(pk__in=[])
    waiting_enrollees = Q(sponsor_id=viewer.pk, placed_at__isnull=True)
    if not viewer.is_placed:
        return own | waiting_enrollees
    below = Q(tree_id=COMPANY_TREE_ID, lft__gt=viewer.lft, rght__lt=viewer.rght)
    return own | below | waiting_enrollees


def get_visible_distributor(user, **lookup) -> Distributor:
    """One distributor the user may see, or 404 (never 403: existence is not revealed)."""
    distributor = visible_distributors(user).select_related("user").filter(**lookup).first()
    if distributor is None:
        raise Http404("No such distributor in your team.")
    return distributor
