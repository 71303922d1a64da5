from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # refused for a reason other than the broker; retry in the admin


class OutboxTask(models.Model):
    """A Celery task to publish, written in the same transaction as the data it is about.

    The relay (``outbox.services.relay_outbox``) publishes each pending row once and marks it
    sent; a rollback leaves no row, a broker that does not answer leaves the row pending.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    eta = models.DateTimeField(null=True, blank=True, help_text="Run no earlier than this.")
    # One row per key: enqueuing the same key again (a retried request, a second sign-up in
    # the same placement window) adds nothing.
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "outbox task"
        indexes = [
            # The relay's scan: pending rows, oldest first (a small part of a large table).
            models.Index(fields=["id"], name="outbox_pending_idx", condition=Q(status="pending")),
            models.Index(fields=["status", "sent_at"], name="outbox_status_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk} ({self.status})"
