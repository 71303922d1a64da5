"""Reactions to other apps' events, connected in `MessagingConfig.ready()`.

Each receiver only schedules work, in the transaction of the event (tasks through the outbox,
the rest with `transaction.on_commit`): a rollback notifies nobody.
"""

from __future__ import annotations

from django.db import transaction


def distributor_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw or instance.is_house or instance.sponsor_id is None:
        return
    from outbox.services import enqueue

    from .tasks import notify_new_recruit_task

    # A task, not inline: sign-up stays a constant, small amount of work.
    enqueue(
        notify_new_recruit_task,
        args=[instance.pk],
        idempotency_key=f"messaging.notify_new_recruit:{instance.pk}",
    )


def refund_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw:
        return
    from .services import notify_order_refunded

    refund_id = instance.pk
    transaction.on_commit(lambda: notify_order_refunded(refund_id=refund_id), robust=True)


def period_saved(sender, instance, created, raw=False, update_fields=None, **kwargs) -> None:
    """A period saved as closed: statements are ready (the service runs once per period)."""
    if raw or instance.status != "closed":
        return
    from outbox.services import enqueue

    from .tasks import notify_period_closed_task

    enqueue(
        notify_period_closed_task,
        args=[instance.pk],
        idempotency_key=f"messaging.notify_period_closed:{instance.pk}",
    )
