"""Reads for messaging pages: which announcements a person sees, their notifications."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from commissions.models import DistributorResult, PlanVersion
from commissions.selectors import highest_ranks, latest_closed_run_id
from genealogy.models import Distributor

from .models import Announcement, Audience, EmailOptOut, Message, Notification


def current_plan_version(*, today: dt.date | None = None) -> PlanVersion | None:
    return PlanVersion.in_force(today or timezone.localdate())


def rank_codes(*, today: dt.date | None = None) -> list[str]:
    """Rank codes of the current plan, lowest first (rank number = position + 1)."""
    version = current_plan_version(today=today)
    if version is None:
        return []
    return [rank["code"] for rank in version.document.get("ranks", [])]


def rank_names(*, today: dt.date | None = None) -> list[str]:
    """Display names of the current plan's ranks, lowest first (the code when a rank has none)."""
    version = current_plan_version(today=today)
    if version is None:
        return []
    return [rank.get("name") or rank["code"] for rank in version.document.get("ranks", [])]


def rank_number(code: str, *, today: dt.date | None = None) -> int | None:
    codes = rank_codes(today=today)
    return codes.index(code) + 1 if code in codes else None


def highest_rank_of(distributor: Distributor) -> int:
    return highest_ranks([distributor.pk]).get(distributor.pk, 0)


def published_announcements(now: dt.datetime | None = None) -> QuerySet[Announcement]:
    now = now or timezone.now()
    return Announcement.objects.filter(publish_at__lte=now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def announcements_for(
    user, *, now: dt.datetime | None = None, distributor: Distributor | None = None
) -> list[Announcement]:
    """Published, unexpired, undismissed announcements whose audience includes `user` (whose
    distributor the caller may pass when it has already read it)."""
    if not user.is_authenticated:
        return []
    candidates = list(
        published_announcements(now).exclude(dismissals__user=user).order_by("-publish_at", "-id")
    )
    if not candidates:
        return []
    if distributor is None or distributor.user_id != user.pk:
        distributor = Distributor.objects.filter(user=user).first()
    highest: int | None = None
    shown = []
    for announcement in candidates:
        if announcement.audience == Audience.EVERYONE:
            shown.append(announcement)
        elif distributor is None:
            continue
        elif announcement.audience == Audience.COUNTRY:
            if distributor.country == announcement.country:
                shown.append(announcement)
        elif announcement.audience == Audience.RANK_AND_ABOVE:
            required = rank_number(announcement.min_rank_code)
            if highest is None:
                highest = highest_rank_of(distributor)
            if required is not None and highest >= required:
                shown.append(announcement)
    return shown


def announcement_audience(announcement: Announcement) -> QuerySet[Distributor]:
    """Every distributor in an announcement's audience (for email)."""
    people = Distributor.objects.filter(is_house=False, user__is_active=True)
    if announcement.audience == Audience.COUNTRY:
        return people.filter(country=announcement.country)
    if announcement.audience == Audience.RANK_AND_ABOVE:
        required = rank_number(announcement.min_rank_code)
        run_id = latest_closed_run_id()
        if required is None or run_id is None:
            return people.none()
        ranked = DistributorResult.objects.filter(run_id=run_id, highest_rank__gte=required).values(
            "distributor_id"
        )
        return people.filter(pk__in=ranked)
    return people


def notifications_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def opted_out_kinds(user) -> set[str]:
    return set(EmailOptOut.objects.filter(user=user).values_list("kind", flat=True))


def sent_messages(distributor: Distributor) -> QuerySet[Message]:
    return Message.objects.filter(sender=distributor).order_by("-created_at", "-id")


def message_for_recipient(user, message_id: int) -> Message | None:
    """A message the user sent or received (the access rule for reading a message)."""
    distributor = Distributor.objects.filter(user=user).first()
    if distributor is None:
        return None
    return (
        Message.objects.select_related("sender__user")
        .filter(pk=message_id)
        .filter(Q(sender=distributor) | Q(deliveries__recipient=distributor))
        .distinct()
        .first()
    )
