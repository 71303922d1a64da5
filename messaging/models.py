"""Announcements from staff, messages from a sponsor to their downline, and notifications.

A message is written once (`Message`) and delivered to each recipient (`MessageDelivery`, one
row per person, bulk-written with COPY). Everything a person is told in-app is a
`Notification`; email follows each person's preferences (`EmailOptOut`, one row per kind off).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_countries.fields import CountryField


class NotificationKind(models.TextChoices):
    NEW_RECRUIT = "new_recruit", "New recruit in my team"
    RANK_REACHED = "rank_reached", "Rank reached"
    STATEMENT_READY = "statement_ready", "Statement ready"
    ORDER_REFUNDED = "order_refunded", "Order refunded"
    MESSAGE = "message", "Message received"
    ANNOUNCEMENT = "announcement", "Company announcements"


class Audience(models.TextChoices):
    EVERYONE = "everyone", "Everyone"
    RANK_AND_ABOVE = "rank", "A rank and above"
    COUNTRY = "country", "One country"


class Announcement(models.Model):
    """A staff announcement, shown on the dashboard from `publish_at` until dismissed."""

    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.EVERYONE)
    min_rank_code = models.CharField(
        "rank and above",
        max_length=64,
        blank=True,
        help_text="A rank code of the current plan (for the rank audience).",
    )
    country = CountryField(blank=True, help_text="For the country audience.")
    publish_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    send_email = models.BooleanField(
        default=False, help_text="Also email the audience once it is published."
    )
    emailed_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the emails were queued."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-publish_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(audience="rank") | ~Q(min_rank_code=""),
                name="announcement_rank_audience_has_rank",
            ),
            models.CheckConstraint(
                condition=~Q(audience="country") | ~Q(country=""),
                name="announcement_country_audience_has_country",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("publish_at")),
                name="announcement_expires_after_publish",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AnnouncementDismissal(models.Model):
    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="dismissals"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "announcement"], name="one_dismissal_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} dismissed by {self.user_id}"


class MessageAudience(models.TextChoices):
    ALL = "all", "My whole downline"
    LEVEL_ONE = "level1", "My level 1 only"
    FILTER = "filter", "A filter of my team list"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    DELIVERED = "delivered", "Delivered"


class Message(models.Model):
    """A message from a distributor to (part of) their downline, resolved on the server."""

    sender = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="sent_messages"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown.")
    audience = models.CharField(max_length=16, choices=MessageAudience.choices)
    filters = models.JSONField(default=dict, blank=True, help_text="TeamFilters parameters.")
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Recipients.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sender", "created_at"], name="message_by_sender_idx")]

    def __str__(self) -> str:
        return self.subject


class MessageDelivery(models.Model):
    """One recipient of one message (written with COPY); `emailed_at` makes email idempotent."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.CASCADE, related_name="+"
    )
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "recipient"], name="one_delivery_per_recipient"
            ),
        ]
        indexes = [models.Index(fields=["recipient"], name="delivery_by_recipient_idx")]

    def __str__(self) -> str:
        return f"Message {self.message_id} to {self.recipient_id}"


class Notification(models.Model):
    """Something a person is told in-app (the bell and the notification list)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    title = models.CharField(max_length=255)
    url = models.CharField(max_length=255, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_by_user_idx"),
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailOptOut(models.Model):
    """A kind of email a person turned off (by the preferences page or an unsubscribe link)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_opt_out_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} opted out of {self.kind}"
