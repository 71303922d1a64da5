import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from messaging import services
from messaging.models import Announcement, EmailOptOut, NotificationKind
from messaging.selectors import announcements_for
from messaging.tasks import send_due_announcements_task
from tests.factories import closed_period_with_results, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db

PLAN = {
    "name": "Ranked plan",
    "currency": "USD",
    "activity": {"personal_pv": "100"},
    "ranks": [
        {"code": "bronze", "name": "Bronze", "personal_pv": "100", "unilevel_levels": 1},
        {"code": "silver", "name": "Silver", "personal_pv": "100", "unilevel_levels": 2},
        {"code": "gold", "name": "Gold", "personal_pv": "100", "unilevel_levels": 3},
    ],
    "unilevel": {"percents": ["5", "5", "10"]},
    "options": {"compression": "dynamic"},
}


def announce(**fields) -> Announcement:
    defaults = {"title": "News", "body": "Hello **team**", "publish_at": timezone.now()}
    return Announcement.objects.create(**{**defaults, **fields})


def test_rank_and_above_reaches_only_people_at_that_rank_or_higher():
    make_plan_version(PLAN)
    bronze, silver, gold = (make_distributor() for _ in range(3))
    closed_period_with_results(
        dt.date(2026, 1, 1), {bronze: (0, 1, 1), silver: (0, 2, 2), gold: (0, 3, 3)}
    )
    news = announce(audience="rank", min_rank_code="silver")

    assert news not in announcements_for(bronze.user)
    assert news in announcements_for(silver.user)
    assert news in announcements_for(gold.user)


def test_country_audience_reaches_only_that_country():
    american = make_distributor()  # factories enrol in the US
    news = announce(audience="country", country="US")
    canadian_news = announce(audience="country", country="CA")

    shown = announcements_for(american.user)
    assert news in shown and canadian_news not in shown


def test_schedule_hides_future_and_expired_announcements():
    person = make_distributor()
    now = timezone.now()
    future = announce(publish_at=now + dt.timedelta(hours=1))
    expired = announce(publish_at=now - dt.timedelta(days=2), expires_at=now - dt.timedelta(days=1))
    current = announce(
        publish_at=now - dt.timedelta(hours=1), expires_at=now + dt.timedelta(days=1)
    )

    shown = announcements_for(person.user)
    assert current in shown and future not in shown and expired not in shown
    assert future in announcements_for(person.user, now=now + dt.timedelta(hours=2))


def test_dismissed_announcement_disappears_for_that_person_only(client):
    first, second = make_distributor(), make_distributor()
    news = announce(title="Convention in May")
    client.force_login(first.user)
    assert "Convention in May" in client.get(reverse("dashboard")).content.decode()

    client.post(reverse("messaging:dismiss", args=[news.pk]))

    assert "Convention in May" not in client.get(reverse("dashboard")).content.decode()
    assert news in announcements_for(second.user)


def test_announcement_body_is_sanitized_markdown(client):
    person = make_distributor()
    announce(title="Safe", body="**bold** <script>alert('x')</script> [x](javascript:alert(1))")
    client.force_login(person.user)

    page = client.get(reverse("dashboard")).content.decode()

    assert "<strong>bold</strong>" in page
    assert "<script>alert" not in page
    assert "javascript:alert" not in page


def test_due_announcement_emails_are_sent_once_in_batches(
    settings, eager_celery, django_capture_on_commit_callbacks
):
    settings.LADDER_MESSAGING_EMAIL_BATCH_SIZE = 2
    people = [make_distributor() for _ in range(5)]
    EmailOptOut.objects.create(user=people[0].user, kind=NotificationKind.ANNOUNCEMENT)
    announce(title="Due", send_email=True, publish_at=timezone.now() - dt.timedelta(minutes=1))
    announce(title="Later", send_email=True, publish_at=timezone.now() + dt.timedelta(days=1))
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):  # batches go out after its commit
        batches = send_due_announcements_task.apply().get()
        again = send_due_announcements_task.apply().get()

    assert batches == 3 and again == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.user.email for p in people[1:])
    assert {m.subject for m in mail.outbox} == {"Due"}
    assert mail.outbox[0].alternatives[0][1] == "text/html"
    assert services.site_url() in mail.outbox[0].extra_headers["List-Unsubscribe"]
