"""Reads for the staff compliance pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from core.periods import Period

from .models import ComplianceFlag, FlagStatus


def open_flag_count() -> int:
    """Flags waiting for a review (for the staff overview)."""
    return ComplianceFlag.objects.filter(status=FlagStatus.OPEN).count()


@dataclass(frozen=True)
class FlagFilters:
    period: str = ""  # YYYY-MM
    kind: str = ""
    status: str = FlagStatus.OPEN
    query: str = ""


def flag_list(filters: FlagFilters) -> QuerySet[ComplianceFlag]:
    flags = ComplianceFlag.objects.select_related("distributor__user", "reviewed_by")
    if filters.period:
        try:
            year, month = (int(part) for part in filters.period.split("-"))
            flags = flags.filter(period__year=year, period__month=month)
        except ValueError:
            flags = flags.none()
    if filters.kind:
        flags = flags.filter(kind=filters.kind)
    if filters.status:
        flags = flags.filter(status=filters.status)
    if filters.query:
        term = filters.query.strip()
        match = Q(distributor__user__name__icontains=term) | Q(
            distributor__user__email__istartswith=term
        )
        if term.isdigit():
            match |= Q(distributor__number=int(term))
        flags = flags.filter(match)
    return flags.order_by("-period", "kind", "distributor_id")  # compliance_flag_list_idx


FILTER_MONTHS = 24


def flag_periods(now=None) -> list:
    """The months staff can filter on: the last two years (no scan of every flag)."""
    return [month.first_day for month in reversed(Period.current(now).last(FILTER_MONTHS))]
