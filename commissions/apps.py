from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    verbose_name = "Commissions"

    def ready(self) -> None:
        from orders.commission_period import register_locked_months_reader

        from . import calendar  # noqa: F401  (keeps the cached calendar in step with its rows)
        from .services.periods import locked_months_from

        # Orders pay into open months only: the orders app asks us which months are closed.
        register_locked_months_reader(locked_months_from)
