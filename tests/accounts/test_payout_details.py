"""Payout details on the profile page: each person chooses one of the offered methods and the
account it pays; bad input is refused with the typed values kept; changes are audited in the
log with the account masked."""

from __future__ import annotations

import logging
import runpy

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

import config.settings
from genealogy.members import update_profile
from genealogy.models import Distributor
from tests.factories import make_distributor

pytestmark = pytest.mark.django_db

AUDIT_LOGGER = "genealogy.members"


@pytest.fixture
def person(client):
    person = make_distributor(name="Pia Payee", email="pia@example.com")
    client.force_login(person.user)
    return person


def profile_data(**payout) -> dict:
    return {"name": "Pia Payee", "country": "US", "phone": "", **payout}


def stored(person: Distributor) -> tuple[str, str]:
    fresh = Distributor.objects.get(pk=person.pk)
    return fresh.payout_method, fresh.payout_account


def audit_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == AUDIT_LOGGER and "payout" in r.getMessage()]


# --- Saved and shown ----------------------------------------------------------------------------


def test_a_chosen_method_and_account_are_saved_and_shown_on_the_profile(client, person):
    response = client.post(
        reverse("profile"),
        profile_data(payout_method="paypal", payout_account=" pia.paid@example.net "),
    )

    assert response.status_code == 302
    assert stored(person) == ("paypal", "pia.paid@example.net")
    page = client.get(reverse("profile"))
    html = page.content.decode()
    assert "Payouts" in html
    assert '<option value="paypal" selected>PayPal</option>' in html
    assert 'value="pia.paid@example.net"' in html


def test_the_choice_offers_the_configured_methods_and_not_chosen_yet(client, person, settings):
    settings.LADDER_PAYOUT_METHODS = ["bank_transfer", "wise"]
    settings.LADDER_PAYOUT_METHOD = "wise"

    form = client.get(reverse("profile")).context["form"]

    assert form.fields["payout_method"].choices == [
        ("", "Not chosen yet (the company pays by Wise)"),
        ("bank_transfer", "Bank transfer"),
        ("wise", "Wise"),
    ]


def test_a_check_needs_no_account_and_forgets_the_previous_one(client, person):
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="paypal", payout_account="old@example.net"
    )

    response = client.post(
        reverse("profile"), profile_data(payout_method="check", payout_account="old@example.net")
    )

    assert response.status_code == 302
    assert stored(person) == ("check", "")


def test_a_bank_transfer_saves_the_providers_recipient_reference(client, person):
    response = client.post(
        reverse("profile"),
        profile_data(payout_method="bank_transfer", payout_account="RCP-88231-XK"),
    )

    assert response.status_code == 302
    assert stored(person) == ("bank_transfer", "RCP-88231-XK")


def test_someone_who_has_not_chosen_can_still_save_their_other_details(client, person):
    response = client.post(
        reverse("profile"), profile_data(name="Pia P. Payee", payout_method="", payout_account="")
    )

    assert response.status_code == 302
    person.user.refresh_from_db()
    assert person.user.name == "Pia P. Payee"
    assert stored(person) == ("", "")


def test_a_caller_that_passes_no_payout_details_keeps_them(person):
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="paypal", payout_account="keep@example.net"
    )

    update_profile(
        user=person.user,
        distributor=person,
        name="Pia Payee",
        country="US",
        phone="",
        share_phone_with_team=False,
    )

    assert stored(person) == ("paypal", "keep@example.net")


def test_a_person_without_a_distributor_sees_no_payout_part(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True))
    form = client.get(reverse("profile")).context["form"]
    assert "payout_method" not in form.fields and "payout_account" not in form.fields


# --- Refused, with the typed values kept ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "account", "field", "message"),
    [
        ("paypal", "", "payout_account", "Enter the account to pay by PayPal."),
        ("bank_transfer", "", "payout_account", "Enter the account to pay by Bank transfer."),
        ("paypal", "pia at example", "payout_account", "Enter the email address of your PayPal"),
        ("bank_transfer", "4111 1111 1111 1111", "payout_account", "looks like a payment card"),
        ("paypal", "5500-0000-0000-0004", "payout_account", "looks like a payment card"),
        ("check", "card 3782 822463 10005", "payout_account", "looks like a payment card"),
        ("bank_transfer", "4222222222222", "payout_account", "looks like a payment card"),
        ("bank_transfer", "=HYPERLINK(1)", "payout_account", "must start with a letter or a digit"),
        ("", "pia@example.com", "payout_method", "Choose the payout method this account is for."),
        ("venmo", "pia@example.com", "payout_method", "Select a valid choice."),
    ],
)
def test_bad_payout_details_are_refused_with_the_typed_values_kept(
    client, person, caplog, method, account, field, message
):
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="bank_transfer", payout_account="RCP-1"
    )

    response = client.post(
        reverse("profile"),
        profile_data(name="Typed Name", payout_method=method, payout_account=account),
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {field}
    assert message in " ".join(form.errors[field])
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    assert 'value="Typed Name"' in html
    if message == "looks like a payment card":  # a card number is never echoed back
        assert account not in html and 'name="payout_account" maxlength' in html
    elif account:
        assert f'value="{account}"' in html
    assert stored(person) == ("bank_transfer", "RCP-1")
    assert not audit_records(caplog)


@pytest.mark.parametrize(
    "account",
    [
        "RCP-2026-0001-ABCDEF",
        "12345678",
        "1234567890123",  # card-shaped, but fails the checksum every card passes
        "DE89 3704 0044 0532 0130 00",
        "GB29 NWBK 6016 1331 9268 19",
        "pia+pay@example.com",
    ],
)
def test_references_that_are_not_card_numbers_are_accepted(client, person, account):
    method = "paypal" if "@" in account else "bank_transfer"

    response = client.post(
        reverse("profile"), profile_data(payout_method=method, payout_account=account)
    )

    assert response.status_code == 302
    assert stored(person) == (method, account)


# --- Audit ----------------------------------------------------------------------------------------


def test_a_change_is_audited_with_old_and_new_method_and_the_account_masked(client, person, caplog):
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="bank_transfer", payout_account="RCP-55501234"
    )
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)

    client.post(
        reverse("profile"),
        profile_data(payout_method="paypal", payout_account="pia.secret@example.net"),
    )

    [record] = audit_records(caplog)
    assert record.user == person.user_id
    assert record.distributor == person.number
    assert (record.old_method, record.new_method) == ("bank_transfer", "paypal")
    assert (record.old_account, record.new_account) == ("****1234", "****.net")
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "pia.secret" not in logged and "RCP-555" not in logged


def test_saving_the_same_payout_details_again_audits_nothing(client, person, caplog):
    Distributor.objects.filter(pk=person.pk).update(
        payout_method="paypal", payout_account="same@example.net"
    )
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)

    client.post(
        reverse("profile"),
        profile_data(name="New Name", payout_method="paypal", payout_account="same@example.net"),
    )

    assert not audit_records(caplog)


# --- Settings -------------------------------------------------------------------------------------


def load_settings(monkeypatch, **environment) -> dict:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(config.settings.__file__)


def test_the_offered_methods_and_the_default_come_from_the_environment(monkeypatch):
    loaded = load_settings(
        monkeypatch, LADDER_PAYOUT_METHODS=" paypal , check,,paypal", LADDER_PAYOUT_METHOD="check"
    )

    assert loaded["LADDER_PAYOUT_METHODS"] == ["paypal", "check"]
    assert loaded["LADDER_PAYOUT_METHOD"] == "check"


def test_a_default_method_the_company_does_not_offer_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="LADDER_PAYOUT_METHOD is 'venmo', which is not"):
        load_settings(
            monkeypatch, LADDER_PAYOUT_METHODS="bank_transfer,paypal", LADDER_PAYOUT_METHOD="venmo"
        )


def test_an_empty_list_of_methods_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="at least one payout method"):
        load_settings(monkeypatch, LADDER_PAYOUT_METHODS=" , ")
