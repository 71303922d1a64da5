"""Staff powers (seeing beyond one's own downline) belong to staff whose session passed MFA.

Through allauth's real screens: a password and a code at login, or a code asked again later.
The sweep of every URL as staff without them is in tests/genealogy/test_access.py.
"""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def someone_elses_page() -> str:
    return reverse("team_member", args=[make_distributor(name="Otto Outsider").number])


def test_a_password_and_a_code_at_login_give_staff_powers(client):
    staff, secret = UserFactory(is_staff=True), generate_totp_secret()
    TOTP.activate(staff, secret)
    page = someone_elses_page()

    client.post(reverse("account_login"), {"login": staff.email, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code_for(secret)})

    assert response.status_code == 302 and "_auth_user_id" in client.session
    assert "Otto Outsider" in client.get(page).content.decode()


def test_a_session_that_did_not_pass_mfa_is_asked_for_a_code_then_gets_staff_powers(client):
    staff, secret = UserFactory(is_staff=True), generate_totp_secret()
    TOTP.activate(staff, secret)
    page = someone_elses_page()
    client.force_login(staff)  # signed in without typing a code (before MFA was set up, say)
    assert client.get(page).status_code == 404

    asked = client.get(reverse("staff_overview"))
    assert asked.url.startswith(reverse("mfa_reauthenticate"))
    client.post(asked.url, {"code": code_for(secret)})

    assert client.get(page).status_code == 200
    assert client.get(reverse("staff_overview")).status_code == 200


def test_staff_without_mfa_are_treated_as_the_distributor_they_are(client):
    staff_distributor = make_distributor(name="Vera Viewer")
    staff_distributor.user.is_staff = True
    staff_distributor.user.save()
    page = someone_elses_page()
    client.force_login(staff_distributor.user)

    assert client.get(page).status_code == 404
    assert client.get(reverse("team_member", args=[staff_distributor.number])).status_code == 200
    assert client.get(reverse("staff_overview")).url == reverse("mfa_activate_totp")


def test_turning_mfa_off_ends_the_staff_powers_of_the_session(client):
    staff = UserFactory(is_staff=True)
    log_in_with_mfa(client, staff)
    page = someone_elses_page()
    assert client.get(page).status_code == 200

    Authenticator.objects.filter(user=staff).delete()

    assert client.get(page).status_code == 404
