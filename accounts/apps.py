from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (cached names)
        from .site import sync_current_site

        # After `django.contrib.sites` created its default row (it comes first in INSTALLED_APPS).
        post_migrate.connect(sync_current_site, sender=self, dispatch_uid="accounts.sync_site")
