import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Enrollment, User
from genealogy.models import Distributor, DistributorStatus
from tests.factories import house, make_distributor

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "violet-harbour-1987"


def signup_data(**overrides) -> dict:
    data = {
        "name": "Nina Novak",
        "email": "nina@example.com",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        "country": "US",
        "phone": "(201) 555-0123",
        "accept_policies": "on",
        "accept_income_disclosure": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def confirmation_url() -> str:
    body = mail.outbox[-1].body
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", body).group(1)


def verify_email(client) -> None:
    url = confirmation_url()
    client.post(url)


@pytest.fixture
def sponsor():
    return make_distributor(name="Maria Lopez", email="maria@example.com")


def test_referral_link_names_the_sponsor(client, sponsor):
    response = client.get(reverse("join", args=[sponsor.referral_code]))
    assert response.status_code == 200
    assert "You are joining <strong>Maria Lopez</strong>" in response.content.decode()
    assert "sponsor_code" not in response.context["form"].fields


def test_signup_via_link_creates_distributor_under_sponsor_after_verification(client, sponsor):
    response = client.post(reverse("join", args=[sponsor.referral_code]), signup_data())
    assert response.status_code == 302
    user = User.objects.get(email="nina@example.com")
    assert user.name == "Nina Novak"
    assert not Distributor.objects.filter(user=user).exists()

    verify_email(client)

    distributor = Distributor.objects.get(user=user)
    assert distributor.sponsor_id == sponsor.pk
    assert str(distributor.country) == "US"
    assert str(distributor.phone) == "+12015550123"  # stored in E.164
    assert Enrollment.objects.get(user=user).completed_at is not None


def test_signup_via_code_matches_case_insensitively_and_trimmed(client, sponsor):
    code = f"  {sponsor.referral_code.lower()} "
    client.post(reverse("account_signup"), signup_data(sponsor_code=code))
    verify_email(client)
    assert Distributor.objects.get(user__email="nina@example.com").sponsor_id == sponsor.pk


def test_unknown_code_is_refused_with_its_name_and_keeps_what_was_typed(client):
    response = client.post(reverse("account_signup"), signup_data(sponsor_code="k7p2q"))
    assert response.status_code == 200
    assert response.context["form"].errors["sponsor_code"] == ["No distributor has the code K7P2Q."]
    html = response.content.decode()
    assert 'value="Nina Novak"' in html
    assert 'value="nina@example.com"' in html
    assert not User.objects.filter(email="nina@example.com").exists()


def test_unknown_referral_link_answers_404_with_a_message(client):
    response = client.get(reverse("join", args=["NOPE42"]))
    assert response.status_code == 404
    assert "No distributor has the code NOPE42." in response.content.decode()


@pytest.mark.parametrize("status", [DistributorStatus.TERMINATED, DistributorStatus.INACTIVE])
def test_sponsor_who_may_not_enroll_is_refused(client, status):
    sponsor = make_distributor(status=status)
    response = client.post(
        reverse("account_signup"), signup_data(sponsor_code=sponsor.referral_code)
    )
    assert "cannot enroll new people" in response.context["form"].errors["sponsor_code"][0]
    link = client.get(reverse("join", args=[sponsor.referral_code]))
    assert link.status_code == 404


def test_code_is_required_without_a_default_sponsor(client, settings):
    settings.LADDER_DEFAULT_SPONSOR_CODE = ""
    response = client.post(reverse("account_signup"), signup_data())
    assert response.context["form"].errors["sponsor_code"] == [
        "Enter the referral code of the person who introduced you."
    ]


def test_default_sponsor_takes_people_without_a_code(client, settings):
    house()
    settings.LADDER_DEFAULT_SPONSOR_CODE = "house"
    client.post(reverse("account_signup"), signup_data())
    verify_email(client)
    assert Distributor.objects.get(user__email="nina@example.com").sponsor_id == house().pk


def test_duplicate_email_is_refused_even_in_other_case(client, sponsor):
    response = client.post(
        reverse("account_signup"),
        signup_data(sponsor_code=sponsor.referral_code, email="MARIA@example.com"),
    )
    assert response.status_code == 200
    assert "already registered" in str(response.context["form"].errors["email"])
    assert User.objects.filter(email__iexact="maria@example.com").count() == 1


def test_weak_password_is_refused(client, sponsor):
    response = client.post(
        reverse("account_signup"),
        signup_data(sponsor_code=sponsor.referral_code, password1="12345", password2="12345"),
    )
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(email="nina@example.com").exists()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("accept_policies", "Please accept the policies and procedures to join."),
        (
            "accept_income_disclosure",
            "Please confirm that you have read the income disclosure statement.",
        ),
    ],
)
def test_missing_acceptance_is_refused(client, sponsor, missing, message):
    data = signup_data(sponsor_code=sponsor.referral_code)
    del data[missing]
    response = client.post(reverse("account_signup"), data)
    assert response.context["form"].errors[missing] == [message]


def test_login_requires_verified_email(client, sponsor):
    client.post(reverse("account_signup"), signup_data(sponsor_code=sponsor.referral_code))
    client.logout()
    response = client.post(
        reverse("account_login"), {"login": "nina@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_distributor_is_created_once_when_the_link_is_clicked_twice(client, sponsor):
    client.post(reverse("account_signup"), signup_data(sponsor_code=sponsor.referral_code))
    url = confirmation_url()
    client.post(url)
    client.post(url)
    assert Distributor.objects.filter(user__email="nina@example.com").count() == 1


def test_a_member_cannot_enroll_again_through_a_link(client, sponsor):
    member = make_distributor()
    client.force_login(member.user)
    response = client.get(reverse("join", args=[sponsor.referral_code]))
    assert response.status_code == 302
    assert Distributor.objects.get(pk=member.pk).sponsor_id == house().pk


def test_nobody_is_their_own_sponsor_in_the_database(sponsor):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Distributor.objects.filter(pk=sponsor.pk).update(sponsor=sponsor.pk)


def test_profile_shows_share_card_with_link_and_qr(client, sponsor):
    client.force_login(sponsor.user)
    response = client.get(reverse("profile"))
    html = response.content.decode()
    assert f"/join/{sponsor.referral_code}/" in html
    assert "<svg" in html
    assert sponsor.referral_code in html


def test_profile_edit_saves_details(client, sponsor):
    client.force_login(sponsor.user)
    response = client.post(
        reverse("profile"),
        {
            "name": "Maria L. Lopez",
            "country": "MX",
            "phone": "55 1234 5678",  # national, read in the chosen country
            "share_phone_with_team": "on",
        },
    )
    assert response.status_code == 302
    sponsor.refresh_from_db()
    sponsor.user.refresh_from_db()
    assert sponsor.user.name == "Maria L. Lopez"
    assert str(sponsor.country) == "MX"
    assert sponsor.share_phone_with_team is True
    assert str(sponsor.phone) == "+525512345678"
