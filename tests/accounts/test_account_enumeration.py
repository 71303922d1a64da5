"""Password reset answers the same whether or not an address has an account, and mails only a
real account; sign-up keeps its explicit duplicate-email message (behind its rate limit)."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def answer(client, email: str) -> tuple:
    response = client.post(reverse("account_reset_password"), {"email": email}, follow=True)
    token = response.context["csrf_token"]  # each answer has its own
    body = response.content.decode().replace(str(token), "")
    return response.status_code, response.redirect_chain, body


def test_password_reset_answers_the_same_for_an_unknown_address_and_a_real_account(client):
    UserFactory(email="real@example.com")

    known = answer(client, "real@example.com")
    unknown = answer(client, "nobody@example.com")

    assert known == unknown
    assert known[1] == [(reverse("account_reset_password_done"), 302)]
    assert "not assigned to any user account" not in unknown[2]


def test_password_reset_mails_only_a_real_account(client):
    UserFactory(email="real@example.com")

    answer(client, "nobody@example.com")
    assert mail.outbox == []
    answer(client, "REAL@example.com")

    assert [message.to for message in mail.outbox] == [["real@example.com"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_a_malformed_address_is_still_refused_with_a_message(client):
    response = client.post(reverse("account_reset_password"), {"email": "not-an-address"})
    assert response.status_code == 200
    assert "valid email address" in response.content.decode()
    assert mail.outbox == []
