from django.apps import AppConfig
from django.db.models.signals import post_save


def event_receivers() -> list[tuple]:
    """(receiver, sender, dispatch_uid) of each reaction to another app's event."""
    from commissions.models import CommissionPeriod
    from genealogy.models import Distributor
    from orders.models import Refund

    from . import receivers

    return [
        (receivers.distributor_saved, Distributor, "messaging.recruit"),
        (receivers.refund_saved, Refund, "messaging.refund"),
        (receivers.period_saved, CommissionPeriod, "messaging.period"),
    ]


def connect_event_receivers() -> None:
    for receiver, sender, uid in event_receivers():
        post_save.connect(receiver, sender=sender, dispatch_uid=uid)


def disconnect_event_receivers() -> None:
    for _, sender, uid in event_receivers():
        post_save.disconnect(sender=sender, dispatch_uid=uid)


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        connect_event_receivers()
