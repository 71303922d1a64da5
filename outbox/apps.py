from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Task outbox"

    def ready(self) -> None:
        from . import relay  # noqa: F401 - connects the worker's relay to Celery's signals
