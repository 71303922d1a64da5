"""Phone numbers in E.164, names without control characters, RFC 5321 email lengths."""

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from accounts.models import Enrollment, User
from accounts.validators import (
    FORBIDDEN_IN_NAMES,
    normalize_stored_phones,
    validate_email_length,
    validate_person_name,
)
from genealogy.models import Distributor
from orders.models import Customer
from portal.privacy import personal_data_export
from tests.factories import UserFactory, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db

PASSWORD = "violet-harbour-1987"
RLO = "\u202e"  # right-to-left override: "Ann\u202eredlof" shows as "Annfolder"


def signup(client, **overrides):
    data = {
        "name": "Nina Novak",
        "email": "nina@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "country": "US",
        "phone": "",
        "accept_policies": "on",
        "accept_income_disclosure": "on",
        **overrides,
    }
    return client.post(reverse("join", args=[sponsor_code()]), data)


def sponsor_code() -> str:
    sponsor = Distributor.objects.filter(user__email="maria@example.com").first()
    if sponsor is None:
        sponsor = make_distributor(name="Maria Lopez", email="maria@example.com")
    return sponsor.referral_code


# --- Phone numbers ---------------------------------------------------------------------------


def test_signup_stores_a_national_number_in_e164_read_in_the_chosen_country(client):
    signup(client, country="MX", phone="55 1234 5678")
    assert str(Enrollment.objects.get(user__email="nina@example.com").phone) == "+525512345678"


def test_signup_refuses_an_invalid_phone_number_with_an_example(client):
    response = signup(client, phone="555")
    assert response.status_code == 200
    [error] = response.context["form"].errors["phone"]
    assert error.startswith("Enter a valid phone number, e.g. (201) 555-0123")
    assert not User.objects.filter(email="nina@example.com").exists()


def test_profile_refuses_an_invalid_number_and_keeps_a_valid_one_in_e164(client):
    person = make_distributor()
    client.force_login(person.user)
    data = {"name": "Pia Payee", "country": "GB", "phone": "12"}

    refused = client.post(reverse("profile"), data)
    saved = client.post(reverse("profile"), {**data, "phone": "020 7946 0958"})

    assert refused.status_code == 200 and "Enter a valid phone number" in refused.content.decode()
    assert saved.status_code == 302
    assert str(Distributor.objects.get(pk=person.pk).phone) == "+442079460958"


def test_customer_phone_is_validated_and_kept_in_e164(client):
    person = make_distributor()
    client.force_login(person.user)

    refused = client.post(reverse("customer_new"), {"name": "Carla", "phone": "0000"})
    client.post(reverse("customer_new"), {"name": "Carla", "phone": "(201) 555-0123"})

    assert "Enter a valid phone number" in refused.content.decode()
    assert str(Customer.objects.get(distributor=person).phone) == "+12015550123"


def test_national_numbers_without_a_country_are_read_in_ladder_phone_region(client, settings):
    settings.LADDER_PHONE_REGION = "GB"
    person = make_distributor()
    client.force_login(person.user)
    client.post(reverse("customer_new"), {"name": "Carla", "phone": "020 7946 0958"})
    assert str(Customer.objects.get(distributor=person).phone) == "+442079460958"


def test_stored_numbers_are_rewritten_in_e164_and_unparseable_ones_kept_as_typed():
    national, foreign, garbage, empty = (make_distributor() for _ in range(4))
    with connection.cursor() as cursor:  # as older releases stored them: the text as typed
        for person, phone, country in [
            (national, "(201) 555-0123", "US"),
            (foreign, "55 1234 5678", "MX"),
            (garbage, "call me", "US"),
        ]:
            cursor.execute(
                "UPDATE genealogy_distributor SET phone = %s, country = %s WHERE id = %s",
                [phone, country, person.pk],
            )

    left = normalize_stored_phones(Distributor, country_path="country")

    stored = dict(Distributor.objects.values_list("pk", "phone"))
    assert str(stored[national.pk]) == "+12015550123"
    assert str(stored[foreign.pk]) == "+525512345678"
    assert str(stored[garbage.pk]) == "call me"  # never blanked
    assert str(stored[empty.pk] or "") == ""
    assert left == 1


def test_privacy_export_writes_phone_numbers_as_text():
    person = make_distributor()
    Distributor.objects.filter(pk=person.pk).update(phone="+12015550123")
    Customer.objects.create(distributor=person, name="Carla", phone="+442079460958")

    archive = zipfile.ZipFile(io.BytesIO(personal_data_export(user=person.user)))
    data = json.loads(archive.read("data.json"))

    assert data["distributor"][0]["phone"] == "+12015550123"
    assert data["customers"][0]["phone"] == "+442079460958"


# --- Names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "character",
    ["\u202a", "\u202e", "\u2066", "\u2069", "\u200b", "\u200f", "\ufeff", "\x00", "\x1f"]
    + ["\x7f", "\x85", "\x9f"],
)
def test_names_refuse_invisible_and_direction_control_characters(character):
    with pytest.raises(ValidationError, match="control characters"):
        validate_person_name(f"Ann{character}Lee")


def test_ordinary_names_in_any_script_pass():
    for name in ["Ann Lee", "José Müller-Łukasz", "محمد علي", "李小龍", "O'Brien", "Zoë"]:
        validate_person_name(name)
    assert not {" ", "-", "'", "\u00a0"} & FORBIDDEN_IN_NAMES


def test_signup_refuses_a_name_with_a_bidirectional_override(client):
    response = signup(client, name=f"Ann{RLO}redlof")
    assert "control characters" in str(response.context["form"].errors["name"])
    assert not User.objects.filter(email="nina@example.com").exists()


def test_profile_refuses_a_name_with_a_zero_width_space(client):
    person = make_distributor(name="Pia Payee")
    client.force_login(person.user)
    response = client.post(reverse("profile"), {"name": "Pia\u200bPayee", "country": "US"})
    assert "control characters" in response.content.decode()
    assert User.objects.get(pk=person.user_id).name == "Pia Payee"


def test_customer_forms_refuse_control_characters_in_names(client):
    person = make_distributor()
    client.force_login(person.user)
    response = client.post(reverse("customer_new"), {"name": f"Carla{RLO}"})
    assert "control characters" in response.content.decode()
    assert not Customer.objects.filter(distributor=person).exists()


def test_admin_refuses_control_characters_in_a_users_name(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    person = UserFactory(name="Ann Lee")
    response = client.post(
        reverse("admin:accounts_user_change", args=[person.pk]),
        {"email": person.email, "name": f"Ann{RLO}Lee", "date_joined_0": "2026-01-01"},
    )
    assert response.status_code == 200
    assert "control characters" in str(response.context["adminform"].form.errors["name"])
    assert User.objects.get(pk=person.pk).name == "Ann Lee"


# --- Email lengths ---------------------------------------------------------------------------


def test_email_length_limits_are_rfc_5321s():
    validate_email_length("a" * 64 + "@example.com")
    validate_email_length("a" * 64 + "@" + "b" * 185 + ".com")  # 254 characters
    with pytest.raises(ValidationError, match="before the @ can be at most 64"):
        validate_email_length("a" * 65 + "@example.com")
    with pytest.raises(ValidationError, match="at most 254 characters long; this one has 255"):
        validate_email_length("a" * 64 + "@" + "b" * 186 + ".com")


def test_signup_refuses_a_local_part_over_64_characters(client):
    email = "n" * 65 + "@example.com"
    response = signup(client, email=email)
    assert "before the @ can be at most 64" in str(response.context["form"].errors["email"])
    assert not User.objects.filter(email=email).exists()


def test_customer_email_obeys_the_length_limits(client):
    person = make_distributor()
    client.force_login(person.user)
    response = client.post(
        reverse("customer_new"), {"name": "Carla", "email": "c" * 65 + "@example.com"}
    )
    assert "before the @ can be at most 64" in response.content.decode()
    assert not Customer.objects.filter(distributor=person).exists()


def test_adding_an_email_address_obeys_the_length_limits(client):
    person = make_distributor()
    client.force_login(person.user)
    response = client.post(
        reverse("account_email"), {"action_add": "", "email": "p" * 65 + "@example.com"}
    )
    assert "before the @ can be at most 64" in response.content.decode()


def test_a_new_customer_on_the_order_form_gets_the_same_checks():
    from orders.forms import OrderBuyerForm

    form = OrderBuyerForm(
        {
            "buyer": "new",
            "new_name": f"Carla{RLO}",
            "new_email": "c" * 65 + "@example.com",
            "new_phone": "12",
        }
    )

    assert not form.is_valid()
    assert "control characters" in str(form.errors["new_name"])
    assert "before the @ can be at most 64" in str(form.errors["new_email"])
    assert "Enter a valid phone number" in str(form.errors["new_phone"])


def test_admin_refuses_an_invalid_phone_and_an_overlong_email(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    person = make_distributor()

    phone = client.post(
        reverse("admin:genealogy_distributor_change", args=[person.pk]),
        {"joined_on": "2025-02-02", "country": "US", "phone": "12"},
    )
    email = client.post(
        reverse("admin:accounts_user_change", args=[person.user_id]),
        {"email": "p" * 65 + "@example.com", "name": "Ann Lee", "date_joined_0": "2026-01-01"},
    )

    assert "phone" in phone.context["adminform"].form.errors
    assert "before the @ can be at most 64" in str(email.context["adminform"].form.errors["email"])
    assert str(Distributor.objects.get(pk=person.pk).phone or "") == ""
