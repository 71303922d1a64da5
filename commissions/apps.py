from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    verbose_name = "Commissions"

    def ready(self) -> None:
        from genealogy import policy as genealogy_policy
        from orders.commission_period import register_locked_months_reader, register_week_reader

        from . import calendar  # noqa: F401  (keeps the cached calendar in step with its rows)
        from .services.pay_weeks import commission_week_for
        from .services.periods import locked_months_from
        from .services.plans import placement_policy_at

        # Orders pay into open months only: the orders app asks us which months are closed.
        register_locked_months_reader(locked_months_from)
        register_week_reader(commission_week_for)  # and, for weekly pay, which week
        # The genealogy asks the same (backdated moves), and what placement tree the plan has.
        genealogy_policy.register_locked_months_reader(locked_months_from)
        genealogy_policy.register_policy_provider(placement_policy_at)
