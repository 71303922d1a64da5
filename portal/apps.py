from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The top layer: pages that compose many apps (dashboard, staff overview, privacy tools,
    disclosure pages) and demo seeding. Nothing imports it but ``config.urls``.

    It also wires sibling apps together, since they never import each other."""

    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from compliance.disclosure import latest_statement
        from training.hooks import register_disclosure_reader

        # The career path (training) shows the published income disclosure (compliance).
        register_disclosure_reader(latest_statement)
