"""Demo announcement shown on every distributor's dashboard."""

from .models import Announcement, Audience


def seed_announcements() -> int:
    if Announcement.objects.exists():
        return 0
    Announcement.objects.create(
        title="Welcome to the new back office",
        body="Your team, orders and statements now live here. Start with the **first steps** "
        "card on your dashboard, and read the compliance training before your first sale.",
        audience=Audience.EVERYONE,
    )
    return 1
