"""Reactions to other apps' events, connected in `MessagingConfig.ready()`.

Each receiver only schedules work with `transaction.on_commit`: a rollback notifies nobody.
"""

from __future__ import annotations

from django.db import transaction


def distributor_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if not created or raw or instance.is_house or instance.sponsor_id is None:
        return
    from .tasks import notify_new_recruit_task

    # A task, not inline: sign-up stays a constant, small amount of work.
    distributor_id = instance.pk
    transaction.on_commit(lambda: notify_new_recruit_task.delay(distributor_id), robust=True)


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
    from .tasks import notify_period_closed_task

    period_id = instance.pk
    transaction.on_commit(lambda: notify_period_closed_task.delay(period_id), robust=True)
