from django.apps import AppConfig


class GenealogyConfig(AppConfig):
    name = "genealogy"
    verbose_name = "Genealogy"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (enrollment on verification)
