from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from genealogy.policy import register_leg_volume_reader

        from .placement_legs import placement_leg_volumes

        # The genealogy's weaker-leg-by-volume rule asks us for each leg's volume this period.
        register_leg_volume_reader(placement_leg_volumes)
