"""A newcomer's first hour: emails name the company and its site, confirming the address signs
the person in, staff land on the staff overview."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from genealogy.models import Distributor
from messaging import services as messaging
from messaging.models import Announcement, Audience, NotificationKind
from tests.factories import PASSWORD, UserFactory, make_distributor

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-harbour-1987"
COMPANY = "Ladder Demo Company"  # the defaults of LADDER_COMPANY_NAME and LADDER_SITE_URL
SITE = "http://127.0.0.1:8000"


def sign_up(client, sponsor, email="nina@mail.test") -> None:
    response = client.post(
        reverse("join", args=[sponsor.referral_code]),
        {
            "name": "Nina Novak",
            "email": email,
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
            "country": "US",
            "accept_policies": "on",
            "accept_income_disclosure": "on",
        },
    )
    assert response.status_code == 302


def confirmation_path() -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.outbox[-1].body)[1]


def assert_names_the_company(email) -> None:
    bodies = [email.body, *(content for content, _ in getattr(email, "alternatives", []))]
    for body in bodies:
        assert COMPANY in body
        assert SITE in body
        assert "example.com" not in body


@pytest.fixture
def sponsor():
    return make_distributor(name="Maria Lopez", email="maria@mail.test")


# --- Emails name the company and its site ---------------------------------------------------


def test_the_current_site_has_the_company_name_and_site_domain_after_migrate(settings):
    settings.LADDER_COMPANY_NAME = "Acme Wellness"
    settings.LADDER_SITE_URL = "https://office.acme.test/"

    call_command("migrate", verbosity=0)

    site = Site.objects.get_current()
    assert (site.domain, site.name) == ("office.acme.test", "Acme Wellness")


def test_verification_email_names_the_company_and_its_site(client, sponsor):
    sign_up(client, sponsor)

    assert_names_the_company(mail.outbox[-1])
    assert COMPANY in mail.outbox[-1].body.splitlines()[0]


def test_password_reset_email_names_the_company_and_its_site(client, sponsor):
    client.post(reverse("account_reset_password"), {"email": "maria@mail.test"})

    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert_names_the_company(mail.outbox[0])


def test_notification_message_and_announcement_emails_name_the_company_and_its_site(sponsor):
    member = make_distributor(sponsor=sponsor, email="ben@mail.test")
    sponsor.refresh_from_db()  # its range in the tree grew
    notification = messaging.notification_create(
        user_id=member.user_id, kind=NotificationKind.RANK_REACHED, title="You reached Silver"
    )
    messaging.notification_email_batch(notification_ids=[notification.pk])
    message = messaging.message_send(
        sender=sponsor, subject="Team call", body="Thursday at 8.", audience="all"
    )
    deliveries = messaging.message_deliver(message_id=message.pk)
    messaging.message_email_batch(message_id=message.pk, delivery_ids=deliveries[0])
    announcement = Announcement.objects.create(
        title="New catalog", body="Spring products.", audience=Audience.EVERYONE
    )
    messaging.announcement_email_batch(announcement_id=announcement.pk, distributor_ids=[member.pk])

    assert [email.subject for email in mail.outbox] == [
        "You reached Silver",
        "Team call",
        "New catalog",
    ]
    for email in mail.outbox:
        assert_names_the_company(email)


# --- Confirming the email address signs the person in -----------------------------------------


def test_confirming_in_the_browser_that_signed_up_signs_in(client, sponsor):
    sign_up(client, sponsor)

    response = client.post(confirmation_path())

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_confirming_in_another_browser_signs_in(client, sponsor):
    sign_up(client, sponsor)
    phone = Client()

    response = phone.post(confirmation_path())

    user = User.objects.get(email="nina@mail.test")
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert phone.session["_auth_user_id"] == str(user.pk)
    assert Distributor.objects.filter(user=user, sponsor=sponsor).exists()
    assert phone.get(reverse("dashboard")).status_code == 200


def test_a_confirmation_link_signs_in_only_once(client, sponsor):
    sign_up(client, sponsor)
    path = confirmation_path()
    Client().post(path)

    again = Client()
    response = again.post(path)

    assert response.status_code == 404
    assert "_auth_user_id" not in again.session


def test_confirming_a_changed_address_does_not_sign_in(sponsor):
    member = UserFactory(email="old@mail.test")
    member.last_login = timezone.now()
    member.save(update_fields=["last_login"])
    owner = Client()
    owner.force_login(member)
    owner.post(reverse("account_email"), {"action_add": "", "email": "new@mail.test"})
    assert EmailAddress.objects.filter(email="new@mail.test", verified=False).exists()
    stranger = Client()

    response = stranger.post(confirmation_path())

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new@mail.test").verified
    assert "_auth_user_id" not in stranger.session


# --- Staff land on the staff overview ---------------------------------------------------------


def test_staff_land_on_the_staff_overview_after_logging_in(client):
    staff = UserFactory(is_staff=True, is_superuser=True, email="sam@mail.test")
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response.url == reverse("mfa_authenticate")

    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(reverse("mfa_authenticate"), {"code": code})

    assert response.status_code == 302
    assert response.url == reverse("staff_overview")
    assert client.get(response.url).status_code == 200


def test_a_distributor_lands_on_the_dashboard_after_logging_in(client, sponsor):
    response = client.post(
        reverse("account_login"), {"login": "maria@mail.test", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("dashboard")
