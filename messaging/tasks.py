"""Thin Celery tasks: each calls one service and is safe to run twice.

Fan-out goes through the outbox in the same transaction as the work it follows, keyed by its
batch, so a task run twice queues each batch once and a broker away for a moment loses none.
"""

from celery import shared_task
from django.db import transaction

from outbox.services import enqueue

from . import services


@shared_task(name="messaging.deliver_message", ignore_result=False)
def deliver_message_task(message_id: int) -> dict:
    """Deliver in-app (COPY), then fan out the email batches."""
    with transaction.atomic():
        work = services.message_deliver(message_id=message_id)
        for delivery_ids in work:
            enqueue(
                email_message_batch_task,
                args=[message_id, delivery_ids],
                idempotency_key=f"messaging.email_message_batch:{message_id}:{delivery_ids[0]}",
            )
    return {"batches": len(work)}


@shared_task(name="messaging.email_message_batch", ignore_result=False)
def email_message_batch_task(message_id: int, delivery_ids: list[int]) -> int:
    return services.message_email_batch(message_id=message_id, delivery_ids=delivery_ids)


@shared_task(name="messaging.email_notifications", ignore_result=False)
def email_notifications_task(notification_ids: list[int]) -> int:
    return services.notification_email_batch(notification_ids=notification_ids)


@shared_task(name="messaging.notify_new_recruit", ignore_result=False)
def notify_new_recruit_task(distributor_id: int) -> int | None:
    notification = services.notify_new_recruit(distributor_id=distributor_id)
    return None if notification is None else notification.pk


@shared_task(name="messaging.notify_period_closed", ignore_result=False)
def notify_period_closed_task(period_id: int) -> int:
    with transaction.atomic():
        work = services.notify_period_closed(period_id=period_id)
        for notification_ids in work:
            enqueue(
                email_notifications_task,
                args=[notification_ids],
                idempotency_key=f"messaging.email_notifications:{notification_ids[0]}",
            )
    return len(work)


@shared_task(name="messaging.send_due_announcements", ignore_result=False)
def send_due_announcements_task() -> int:
    """Beat, every few minutes: queue the emails of announcements that are now published."""
    with transaction.atomic():
        work = services.announcements_claim_due()
        for announcement_id, distributor_ids in work:
            enqueue(
                email_announcement_batch_task,
                args=[announcement_id, distributor_ids],
                idempotency_key=(
                    f"messaging.email_announcement_batch:{announcement_id}:{distributor_ids[0]}"
                ),
            )
    return len(work)


@shared_task(name="messaging.email_announcement_batch", ignore_result=False)
def email_announcement_batch_task(announcement_id: int, distributor_ids: list[int]) -> int:
    return services.announcement_email_batch(
        announcement_id=announcement_id, distributor_ids=distributor_ids
    )
