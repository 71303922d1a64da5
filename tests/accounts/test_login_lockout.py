"""The login lockout (ACCOUNT_RATE_LIMITS["login_failed"], 5 failures per account in 5 minutes)
says how long it lasts."""

import time

import pytest
from allauth.account.adapter import get_adapter
from django.test import RequestFactory
from django.urls import reverse

from accounts.adapter import lockout_message, login_lockout_seconds
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def fail_five_times(client, user) -> float:
    started = time.time()
    for _ in range(5):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password"})
    return started


def test_the_lockout_message_says_how_long_to_wait(client):
    user = UserFactory()
    fail_five_times(client, user)

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    text = response.content.decode()
    assert "Too many failed login attempts: try again in 5 minutes." in text
    assert "Try again later" not in text
    assert "_auth_user_id" not in client.session


def test_the_wait_shrinks_as_the_failures_age(client):
    user = UserFactory()
    started = fail_five_times(client, user)
    request = RequestFactory().post(reverse("account_login"))
    key = get_adapter(request)._get_login_attempts_cache_key(request, email=user.email)

    # Counted from the first of the five failures (made just after ``started``).
    assert login_lockout_seconds(request, key=key, now=started) == pytest.approx(300, abs=5)
    assert login_lockout_seconds(request, key=key, now=started + 200) == pytest.approx(100, abs=5)
    assert login_lockout_seconds(request, key=key, now=started + 310) == 0
    other = get_adapter(request)._get_login_attempts_cache_key(request, email="other@example.com")
    assert login_lockout_seconds(request, key=other, now=started) == 0


@pytest.mark.parametrize(
    ("seconds", "says"),
    [
        (299.2, "5 minutes"),
        (100, "2 minutes"),
        (60, "1 minute"),
        (59.1, "60 seconds"),
        (1, "1 second"),
        (0.2, "1 second"),
    ],
)
def test_the_wait_is_rounded_up_in_words(seconds, says):
    assert lockout_message(seconds) == f"Too many failed login attempts: try again in {says}."
