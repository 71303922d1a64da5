"""State changes of messaging: send and deliver messages, notify, email, preferences.

Recipients of a team message are always resolved here, from the sender's downline through
`genealogy.selectors.downline`: nothing a form posts can add a recipient.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Iterable

import markdown
import nh3
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from accounts.site import site_url
from core.bulk import write_rows
from genealogy.models import Distributor, DistributorStatus
from genealogy.selectors import TeamFilters, downline
from outbox.services import enqueue

from .models import (
    Announcement,
    AnnouncementDismissal,
    EmailOptOut,
    Message,
    MessageAudience,
    MessageDelivery,
    MessageStatus,
    Notification,
    NotificationKind,
)

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "messaging.unsubscribe"


def max_messages_per_day() -> int:
    return settings.LADDER_MESSAGING_MAX_PER_DAY


def max_body_chars() -> int:
    return settings.LADDER_MESSAGING_MAX_BODY_CHARS


def email_batch_size() -> int:
    return settings.LADDER_MESSAGING_EMAIL_BATCH_SIZE


class MessageRefused(Exception):
    """A message that cannot be sent, with the sentence the sender should read."""


# --- Markdown -------------------------------------------------------------------------------------


# Every tag nh3 allows except images: an image with a remote address is a tracking pixel
# (the sender learns who opened the message, when and from where), in the app and in email.
# No other allowed tag loads anything by itself.
MARKDOWN_TAGS = frozenset(nh3.ALLOWED_TAGS - {"img"})


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, sanitized by nh3 (scripts, handlers, javascript: links and images
    removed)."""
    return mark_safe(_sanitized_html(text or ""))  # noqa: S308 - sanitized by nh3


@functools.lru_cache(maxsize=256)
def _sanitized_html(text: str) -> str:
    """A pure function of the text, so each announcement is converted once per process."""
    return nh3.clean(markdown.markdown(text, extensions=["sane_lists"]), tags=set(MARKDOWN_TAGS))


# --- Email preferences and unsubscribe -----------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_url(*, user_id: int, kind: str) -> str:
    token = unsubscribe_token(user_id=user_id, kind=kind)
    return site_url() + reverse("messaging:unsubscribe", args=[token])


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(user id, kind) of a valid token; raises signing.BadSignature otherwise."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if not isinstance(data, dict) or data.get("k") not in NotificationKind.values:
        raise signing.BadSignature("unknown kind")
    return int(data["u"]), data["k"]


def email_opt_out(*, user_id: int, kind: str) -> None:
    EmailOptOut.objects.get_or_create(user_id=user_id, kind=kind)


def email_preferences_set(*, user, enabled_kinds: Iterable[str]) -> None:
    enabled = set(enabled_kinds)
    with transaction.atomic():
        EmailOptOut.objects.filter(user=user, kind__in=enabled).delete()
        for kind in NotificationKind.values:
            if kind not in enabled:
                EmailOptOut.objects.get_or_create(user=user, kind=kind)


def wants_email(user_id: int, kind: str) -> bool:
    return not EmailOptOut.objects.filter(user_id=user_id, kind=kind).exists()


def build_email(
    *, to: str, user_id: int, kind: str, subject: str, template: str, context: dict
) -> EmailMultiAlternatives:
    """An HTML + text email with a one-click unsubscribe link for its kind."""
    link = unsubscribe_url(user_id=user_id, kind=kind)
    context = {
        **context,
        "unsubscribe_url": link,
        "kind_label": NotificationKind(kind).label,
        "site_url": site_url(),
        "company_name": settings.LADDER_COMPANY_NAME,
    }
    text = render_to_string(f"email/messaging/{template}.txt", context)
    html = render_to_string(f"email/messaging/{template}.html", context)
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[to],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(html, "text/html")
    return email


def batches(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


# --- Announcements --------------------------------------------------------------------------------


def announcement_dismiss(*, announcement_id: int, user) -> bool:
    """Hide an announcement from ``user``; False (nothing written) when there is no such one."""
    if not Announcement.objects.filter(pk=announcement_id).exists():
        return False
    AnnouncementDismissal.objects.get_or_create(announcement_id=announcement_id, user=user)
    return True


def announcements_claim_due(*, now: dt.datetime | None = None) -> list[tuple[int, list[int]]]:
    """Mark due announcement emails as sent and return (announcement id, distributor ids) batches.

    The marker (`emailed_at`) is set in the same transaction that reads the audience, so a
    second run (or a second beat) finds nothing to send.
    """
    from .selectors import announcement_audience, published_announcements

    now = now or timezone.now()
    work: list[tuple[int, list[int]]] = []
    with transaction.atomic():
        due = (
            published_announcements(now)
            .filter(send_email=True, emailed_at__isnull=True)
            .select_for_update(skip_locked=True)
        )
        for announcement in due:
            ids = list(
                announcement_audience(announcement).order_by("id").values_list("id", flat=True)
            )
            work.extend((announcement.pk, batch) for batch in batches(ids, email_batch_size()))
            announcement.emailed_at = now
            announcement.save(update_fields=["emailed_at"])
    return work


def announcement_email_batch(*, announcement_id: int, distributor_ids: list[int]) -> int:
    announcement = Announcement.objects.get(pk=announcement_id)
    opted_out = set(
        EmailOptOut.objects.filter(kind=NotificationKind.ANNOUNCEMENT).values_list(
            "user_id", flat=True
        )
    )
    people = Distributor.objects.filter(pk__in=distributor_ids).select_related("user")
    emails = [
        build_email(
            to=person.user.email,
            user_id=person.user_id,
            kind=NotificationKind.ANNOUNCEMENT,
            subject=announcement.title,
            template="announcement",
            context={
                "announcement": announcement,
                "body": render_markdown(announcement.body),
                "name": person.display_name,
            },
        )
        for person in people
        if person.user_id not in opted_out and person.user.email
    ]
    if emails:
        get_connection().send_messages(emails)
    return len(emails)


# --- Team messages --------------------------------------------------------------------------------


def filters_to_params(filters: TeamFilters) -> dict:
    params = dataclasses.asdict(filters)
    for key in ("joined_from", "joined_to"):
        if params[key] is not None:
            params[key] = params[key].isoformat()
    return params


def filters_from_params(params: dict) -> TeamFilters:
    known = {f.name for f in dataclasses.fields(TeamFilters)}
    values = {k: v for k, v in (params or {}).items() if k in known}
    for key in ("joined_from", "joined_to"):
        if values.get(key):
            values[key] = dt.date.fromisoformat(values[key])
    return TeamFilters(**values)


def message_send(
    *,
    sender: Distributor,
    subject: str,
    body: str,
    audience: str,
    filters: TeamFilters | None = None,
    now: dt.datetime | None = None,
) -> Message:
    """Record a message and queue its delivery.

    Refused, before it counts against the sender's daily limit, when it is too long or its
    audience holds nobody; refused beyond the daily limit.
    """
    from .tasks import deliver_message_task

    now = now or timezone.now()
    if audience not in MessageAudience.values:
        raise MessageRefused("Choose who receives the message.")
    longest = max_body_chars()
    if len(body) > longest:
        raise MessageRefused(
            f"A message can be at most {longest:,} characters long; this one has {len(body):,}."
        )
    limit = max_messages_per_day()
    with transaction.atomic():
        # One sender at a time: two tabs cannot both slip under the limit. The row read here
        # is current (the caller's copy may predate a placement).
        current = Distributor.objects.select_for_update().get(pk=sender.pk)
        if not audience_recipients(sender=current, audience=audience, filters=filters).exists():
            raise MessageRefused(
                "Nobody in your team matches this choice of recipients, so nothing was sent "
                "(and it does not count against your daily limit). Choose other recipients."
            )
        sent = Message.objects.filter(
            sender=sender, created_at__gt=now - dt.timedelta(days=1)
        ).count()
        if sent >= limit:
            raise MessageRefused(
                f"You can send {limit} messages a day and have sent {sent} in the last 24 "
                "hours. Please try again tomorrow."
            )
        params = (
            filters_to_params(filters) if audience == MessageAudience.FILTER and filters else {}
        )
        message = Message.objects.create(
            sender=sender,
            subject=subject,
            body=body,
            audience=audience,
            filters=params,
            created_at=now,
        )
        enqueue(
            deliver_message_task,
            args=[message.pk],
            idempotency_key=f"messaging.deliver_message:{message.pk}",
        )
    return message


def audience_recipients(*, sender: Distributor, audience: str, filters: TeamFilters | None):
    """The people an audience of the sender's downline holds (never anyone the form names)."""
    if audience == MessageAudience.FILTER:
        people = downline(sender, filters or TeamFilters())
    else:
        people = downline(sender)
        if audience == MessageAudience.LEVEL_ONE:
            people = people.filter(sponsor=sender)
    return people.exclude(status=DistributorStatus.TERMINATED).order_by("id")


def message_recipients(message: Message):
    """The recipients, resolved on the server from the sender's downline (never the form)."""
    return audience_recipients(
        sender=Distributor.objects.get(pk=message.sender_id),
        audience=message.audience,
        filters=filters_from_params(message.filters)
        if message.audience == MessageAudience.FILTER
        else None,
    )


def message_deliver(*, message_id: int) -> list[list[int]]:
    """Write one delivery and one notification per recipient (COPY), once.

    Returns the ids of deliveries still to email, in batches. Safe to run twice: the second run
    writes nothing and returns only what is not emailed yet.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message_id)
        if message.status == MessageStatus.QUEUED:
            rows = list(message_recipients(message).values_list("id", "user_id"))
            now = timezone.now()
            write_rows(
                MessageDelivery,
                ["message_id", "recipient_id"],
                {"message_id": [message.pk] * len(rows), "recipient_id": [r[0] for r in rows]},
            )
            sender_name = (
                Distributor.objects.select_related("user").get(pk=message.sender_id).display_name
            )
            title = f"{sender_name}: {message.subject}"[:255]
            url = reverse("messaging:message_detail", args=[message.pk])
            write_rows(
                Notification,
                ["user_id", "kind", "title", "url", "message_id", "created_at"],
                {
                    "user_id": [r[1] for r in rows],
                    "kind": [NotificationKind.MESSAGE] * len(rows),
                    "title": [title] * len(rows),
                    "url": [url] * len(rows),
                    "message_id": [message.pk] * len(rows),
                    "created_at": [now] * len(rows),
                },
            )
            message.total = len(rows)
            message.status = MessageStatus.DELIVERED
            message.delivered_at = now
            message.save(update_fields=["total", "status", "delivered_at"])
    pending = list(
        MessageDelivery.objects.filter(message_id=message_id, emailed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    return batches(pending, email_batch_size())


def message_email_batch(*, message_id: int, delivery_ids: list[int]) -> int:
    """Email one batch of deliveries; each delivery is emailed at most once (`emailed_at`)."""
    message = Message.objects.select_related("sender__user").get(pk=message_id)
    body = render_markdown(message.body)
    url = site_url() + reverse("messaging:message_detail", args=[message.pk])
    with transaction.atomic():
        deliveries = list(
            MessageDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(message_id=message_id, pk__in=delivery_ids, emailed_at__isnull=True)
            .select_related("recipient__user")
        )
        user_ids = [d.recipient.user_id for d in deliveries]
        opted_out = set(
            EmailOptOut.objects.filter(
                kind=NotificationKind.MESSAGE, user_id__in=user_ids
            ).values_list("user_id", flat=True)
        )
        to_send = [
            d for d in deliveries if d.recipient.user_id not in opted_out and d.recipient.user.email
        ]
        emails = [
            build_email(
                to=d.recipient.user.email,
                user_id=d.recipient.user_id,
                kind=NotificationKind.MESSAGE,
                subject=message.subject,
                template="message",
                context={
                    "message": message,
                    "body": body,
                    "url": url,
                    "name": d.recipient.display_name,
                    "sender_name": message.sender.display_name,
                },
            )
            for d in to_send
        ]
        if emails:
            get_connection().send_messages(emails)
        MessageDelivery.objects.filter(pk__in=[d.pk for d in to_send]).update(
            emailed_at=timezone.now()
        )
    return len(emails)


def message_progress(message: Message) -> dict:
    emailed = MessageDelivery.objects.filter(message=message, emailed_at__isnull=False).count()
    return {
        "status": message.status,
        "total": message.total,
        "delivered": message.total if message.status == MessageStatus.DELIVERED else 0,
        "emailed": emailed,
        "is_done": message.status == MessageStatus.DELIVERED,
    }


# --- Notifications --------------------------------------------------------------------------------


def notification_create(*, user_id: int, kind: str, title: str, url: str = "") -> Notification:
    """One notification; its email (when the kind is on) is queued once the transaction commits."""
    from .tasks import email_notifications_task

    notification = Notification.objects.create(
        user_id=user_id, kind=kind, title=title[:255], url=url
    )
    if wants_email(user_id, kind):
        enqueue(
            email_notifications_task,
            args=[[notification.pk]],
            idempotency_key=f"messaging.email_notifications:{notification.pk}",
        )
    return notification


def notifications_create_bulk(
    *, user_ids: list[int], kind: str, title: str, url: str = ""
) -> list[list[int]]:
    """Many notifications with one COPY; returns the ids to email, in batches."""
    if not user_ids:
        return []
    now = timezone.now()
    start = Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0
    write_rows(
        Notification,
        ["user_id", "kind", "title", "url", "created_at"],
        {
            "user_id": user_ids,
            "kind": [kind] * len(user_ids),
            "title": [title[:255]] * len(user_ids),
            "url": [url] * len(user_ids),
            "created_at": [now] * len(user_ids),
        },
    )
    ids = list(
        Notification.objects.filter(id__gt=start, kind=kind, created_at=now, user_id__in=user_ids)
        .exclude(user_id__in=EmailOptOut.objects.filter(kind=kind).values("user_id"))
        .order_by("id")
        .values_list("id", flat=True)
    )
    return batches(ids, email_batch_size())


def notification_email_batch(*, notification_ids: list[int]) -> int:
    """Email notifications not yet emailed whose kind the person has on. Safe to run twice."""
    with transaction.atomic():
        notifications = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=notification_ids, emailed_at__isnull=True)
            .select_related("user")
        )
        opted_out = set(
            EmailOptOut.objects.filter(user_id__in=[n.user_id for n in notifications]).values_list(
                "user_id", "kind"
            )
        )
        to_send = [
            n for n in notifications if (n.user_id, n.kind) not in opted_out and n.user.email
        ]
        emails = [
            build_email(
                to=n.user.email,
                user_id=n.user_id,
                kind=n.kind,
                subject=n.title,
                template="notification",
                context={
                    "notification": n,
                    "name": n.user.name or n.user.email,
                    "url": site_url() + (n.url or reverse("messaging:notifications")),
                },
            )
            for n in to_send
        ]
        if emails:
            get_connection().send_messages(emails)
        Notification.objects.filter(pk__in=[n.pk for n in to_send]).update(
            emailed_at=timezone.now()
        )
    return len(emails)


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when `ids` is None)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


# --- Events from other apps -----------------------------------------------------------------------


def notify_new_recruit(*, distributor_id: int) -> Notification | None:
    """Tell the sponsor, once (a retried task finds the notification it already wrote: it
    links to the recruit's own page)."""
    recruit = Distributor.objects.select_related("user", "sponsor").get(pk=distributor_id)
    sponsor = recruit.sponsor
    if sponsor is None or sponsor.is_house:
        return None
    url = reverse("team_member", args=[recruit.number])
    with transaction.atomic():
        Distributor.objects.select_for_update().filter(pk=recruit.pk).exists()  # one at a time
        existing = Notification.objects.filter(
            user_id=sponsor.user_id, kind=NotificationKind.NEW_RECRUIT, url=url
        ).first()
        if existing is not None:
            return existing
        return notification_create(
            user_id=sponsor.user_id,
            kind=NotificationKind.NEW_RECRUIT,
            title=f"{recruit.display_name} joined your team",
            url=url,
        )


def notify_order_refunded(*, refund_id: int) -> Notification:
    from orders.models import Refund

    refund = Refund.objects.select_related("order__distributor").get(pk=refund_id)
    return notification_create(
        user_id=refund.order.distributor.user_id,
        kind=NotificationKind.ORDER_REFUNDED,
        title=f"Order #{refund.order_id} was refunded ({refund.amount} {settings.LADDER_CURRENCY})",
        url=reverse("order_detail", args=[refund.order_id]),
    )


def notify_period_closed(*, period_id: int) -> list[list[int]]:
    """Statement ready for everyone in the closed run; rank reached for who rose (months only:
    a pay week computes no rank). Returns batches of notification ids to email."""
    from commissions.models import LOCKED_STATUSES, CommissionPeriod, DistributorResult, Schedule

    period = CommissionPeriod.every_schedule.get(pk=period_id)
    if period.current_run_id is None:
        return []
    weekly = period.schedule == Schedule.WEEKLY
    month = f"week-{period.month:%Y-%m-%d}" if weekly else f"{period.month:%Y-%m}"
    label = f"the week of {period.month:%Y-%m-%d}" if weekly else month
    already = Notification.objects.filter(
        kind=NotificationKind.STATEMENT_READY, url=reverse("earnings_statement", args=[month])
    ).exists()
    if already:
        return []
    results = DistributorResult.objects.filter(run_id=period.current_run_id)
    people = dict(
        Distributor.objects.filter(
            pk__in=results.values("distributor_id"), is_house=False
        ).values_list("id", "user_id")
    )
    work = notifications_create_bulk(
        user_ids=sorted(people.values()),
        kind=NotificationKind.STATEMENT_READY,
        title=f"Your statement for {label} is ready",
        url=reverse("earnings_statement", args=[month]),
    )
    if weekly:
        return work
    previous_run = (
        CommissionPeriod.objects.filter(
            month__lt=period.month, status__in=LOCKED_STATUSES, current_run__isnull=False
        )
        .order_by("-month")
        .values_list("current_run_id", flat=True)
        .first()
    )
    from .selectors import rank_names

    names = rank_names(today=period.month)
    # Only the people whose highest rank rose, found in SQL (not a loop over every result).
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.highest_rank, d.user_id
              FROM commissions_distributorresult r
              JOIN genealogy_distributor d ON d.id = r.distributor_id AND NOT d.is_house
              LEFT JOIN commissions_distributorresult p
                ON p.run_id = %(previous)s AND p.distributor_id = r.distributor_id
             WHERE r.run_id = %(run)s AND r.highest_rank > COALESCE(p.highest_rank, 0)
            """,
            {"run": period.current_run_id, "previous": previous_run or -1},
        )
        risen: dict[int, list[int]] = {}
        for rank, user_id in cursor.fetchall():
            risen.setdefault(rank, []).append(user_id)
    for rank, user_ids in sorted(risen.items()):
        user_ids.sort()
        name = names[rank - 1] if 0 < rank <= len(names) else f"rank {rank}"
        work += notifications_create_bulk(
            user_ids=user_ids,
            kind=NotificationKind.RANK_REACHED,
            title=f"Congratulations: you reached {name}",
            url=reverse("earnings_statement", args=[month]),
        )
    return work


def notifications_mark_read_for_message(*, user, message_id: int) -> int:
    return Notification.objects.filter(
        user=user, message_id=message_id, read_at__isnull=True
    ).update(read_at=timezone.now())
