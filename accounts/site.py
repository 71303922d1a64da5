"""The Sites framework's current site, kept in step with the settings.

allauth's emails (verification, password reset, security notices) name `current_site`; left
alone it says "example.com". After every `migrate` the site row takes its domain from
`LADDER_SITE_URL` and its name from `LADDER_COMPANY_NAME`, so changing either setting and
migrating again is enough.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def site_url() -> str:
    """Start of absolute links in emails, without a trailing slash."""
    return settings.LADDER_SITE_URL.rstrip("/")


def site_domain() -> str:
    """Host (and port) of `LADDER_SITE_URL`: what the Sites framework calls a domain."""
    return urlsplit(site_url()).netloc or site_url()


def sync_current_site(*, using: str = "default", **kwargs) -> None:
    """Give the current site (`SITE_ID`) the company's domain and name; a post_migrate receiver."""
    from django.contrib.sites.models import Site

    Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID,
        defaults={"domain": site_domain()[:100], "name": settings.LADDER_COMPANY_NAME[:50]},
    )
    Site.objects.clear_cache()
