from urllib.parse import quote

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory, log_in_with_mfa

pytestmark = pytest.mark.django_db


def test_staff_without_mfa_is_sent_to_set_it_up_instead_of_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_staff_whose_session_passed_mfa_reaches_the_admin(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    assert client.get("/admin/").status_code == 200


def test_staff_with_mfa_whose_session_did_not_pass_it_are_asked_for_a_code(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(staff, generate_totp_secret())
    client.force_login(staff)  # a session that never typed a code
    for path in ("/admin/", reverse("staff_overview"), reverse("compliance_flags")):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == f"{reverse('mfa_reauthenticate')}?next={quote(path, safe='')}"


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_staff_login_with_mfa_asks_for_the_code(client):
    staff = UserFactory(is_staff=True)
    TOTP.activate(staff, generate_totp_secret())
    response = client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_are_rate_limited(client):
    user = UserFactory()
    for _ in range(5):
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": "wrong-password"}
        )
        assert "Too many failed login attempts" not in response.content.decode()
    # The limit (5 failures per account in 5 minutes) holds even for the right password.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
