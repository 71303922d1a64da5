"""Reads of the holding-tank pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.access import has_staff_powers

from ..models import Distributor, Placement
from ..selectors import distributor_for_user, get_visible_distributor


def tank_sponsor_for(user) -> Distributor | None:
    """Whose tank a person looks at: their own; staff without a distributor see the house's."""
    viewer = distributor_for_user(user)
    if viewer is None and has_staff_powers(user):
        return Distributor.objects.select_related("user").get(is_house=True)
    return viewer


def tank_entries(sponsor: Distributor, *, search: str = "") -> QuerySet[Placement]:
    """The sponsor's own recruits waiting in the placement tank, the nearest deadline first."""
    queryset = Placement.objects.filter(
        placed_at__isnull=True, distributor__sponsor_id=sponsor.pk
    ).select_related("distributor__user")
    search = search.strip()
    if search:
        condition = Q(distributor__user__name__icontains=search)
        if search.isdigit():
            condition |= Q(distributor__number=int(search))
        queryset = queryset.filter(condition)
    return queryset.order_by("tank_deadline", "distributor_id")


def tank_entry_for(user, number: int) -> tuple[Distributor, Distributor]:
    """(sponsor, person) of a tank entry ``user`` may act on, or 404: only the sponsor, and
    staff with staff powers, act on a tank entry (the person goes through the access rule)."""
    person = get_visible_distributor(user, number=number)
    entry = Placement.objects.filter(pk=person.pk, placed_at__isnull=True).first()
    if entry is None or person.sponsor_id is None:
        raise Http404("No such recruit waiting in your tank.")
    if has_staff_powers(user):
        return Distributor.objects.select_related("user").get(pk=person.sponsor_id), person
    viewer = distributor_for_user(user)
    if viewer is None or person.sponsor_id != viewer.pk:
        raise Http404("No such recruit waiting in your tank.")
    return viewer, person
