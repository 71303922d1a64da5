from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    verbose_name = "Commissions"

    def ready(self) -> None:
        from . import calendar  # noqa: F401  (keeps the cached calendar in step with its rows)
