"""Demo announcements, and the quiet that seeding needs.

Seeding writes two years of history in minutes: closing a dozen months would tell every demo
person, by email, that a statement is ready (tens of thousands of files in `var/mail/`, so the
newest is never the verification link a visitor waits for). While `seeding()` is open messaging
does not react to other apps' events: no notification, no email, no queued task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .apps import connect_event_receivers, disconnect_event_receivers
from .models import Announcement, Audience


@contextlib.contextmanager
def seeding() -> Iterator[None]:
    """Messaging's receivers (new recruit, refund, period closed) are off inside the block."""
    disconnect_event_receivers()
    try:
        yield
    finally:
        connect_event_receivers()


ANNOUNCEMENTS = [
    (
        "Welcome to the new back office",
        "Your team, orders and statements now live here. Start with the **first steps** "
        "card on your dashboard, and read the compliance training before your first sale.",
    ),
    (
        "New here? Your first week",
        "1. Verify your email and turn on two-factor authentication.\n"
        "2. Read *Income claims and product claims you may not make* in **Training**: it is "
        "required before your first sale to a retail customer.\n"
        "3. Add your first customer and place your first order.\n"
        "4. Share your referral link from your profile.\n\n"
        "You are paid on product sales, never for enrolling people: see the "
        "[income disclosure statement](/income-disclosure/).",
    ),
]


def seed_announcements() -> int:
    if Announcement.objects.exists():
        return 0
    Announcement.objects.bulk_create(
        Announcement(title=title, body=body, audience=Audience.EVERYONE)
        for title, body in ANNOUNCEMENTS
    )
    return len(ANNOUNCEMENTS)
