from django.apps import AppConfig
from django.db.models.signals import post_save


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from commissions.models import CommissionPeriod
        from genealogy.models import Distributor
        from orders.models import Refund

        from . import receivers

        post_save.connect(
            receivers.distributor_saved, sender=Distributor, dispatch_uid="messaging.recruit"
        )
        post_save.connect(receivers.refund_saved, sender=Refund, dispatch_uid="messaging.refund")
        post_save.connect(
            receivers.period_saved, sender=CommissionPeriod, dispatch_uid="messaging.period"
        )
