"""Privacy: a person's data export holds their data only; erasure pseudonymizes them while the
tree, the orders' amounts and the ledger stay exactly as they were."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile

import pytest
from allauth.account.models import EmailAddress
from django.db.models import Sum
from django.urls import reverse

from commissions.models import CommissionLine, DistributorResult
from commissions.services.close import close_period, export_payouts
from commissions.services.runs import calculate_period
from compliance.models import ErasureRequest, ErasureStatus
from core.periods import Period
from genealogy.models import Distributor
from orders.models import Customer, Order
from portal import privacy
from tests.commissions.conftest import build_chain
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    UserFactory,
    buy,
    log_in_with_mfa,
    make_distributor,
    make_plan_version,
    stored_numbering,
)

MARCH = Period(2026, 3)
IN_MARCH = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.mark.django_db
def test_export_holds_the_persons_data_and_nobody_elses(client):
    ann = make_distributor(name="Ann Private", email="ann@example.com")
    customer = CustomerFactory(distributor=ann, name="Carla Customer", phone="555-0101")
    buy(ann, "40", paid_at=IN_MARCH, customer=customer)
    other = make_distributor(name="Otto Other", email="otto@example.com")
    CustomerFactory(distributor=other, name="Secret Sue")
    buy(other, "70", paid_at=IN_MARCH)
    Distributor.objects.filter(pk=ann.pk).update(
        payout_method="paypal", payout_account="ann.payouts@example.net"
    )
    Distributor.objects.filter(pk=other.pk).update(
        payout_method="bank_transfer", payout_account="RCP-OTTO-7731"
    )
    client.force_login(ann.user)

    response = client.get(reverse("privacy_export"))

    files = unzip(response.content)
    assert response["Content-Type"] == "application/zip"
    assert {"data.json", "profile.csv", "customers.csv", "orders.csv", "enrollment.csv"} <= set(
        files
    )
    data = json.loads(files["data.json"])
    assert data["profile"][0]["email"] == "ann@example.com"
    assert data["distributor"][0]["number"] == ann.number
    assert data["distributor"][0]["payout_method"] == "paypal"
    assert data["distributor"][0]["payout_account"] == "ann.payouts@example.net"
    assert "ann.payouts@example.net" in files["distributor.csv"]
    assert [c["name"] for c in data["customers"]] == ["Carla Customer"]
    assert [o["total_amount"] for o in data["orders"]] == ["40.00"]
    everything = "".join(files.values())
    assert "Carla Customer" in files["customers.csv"]
    assert "otto@example.com" not in everything and "Secret Sue" not in everything
    assert "Otto Other" not in everything and "RCP-OTTO-7731" not in everything


@pytest.mark.django_db
def test_privacy_pages_need_a_login_and_record_a_request(client):
    assert client.get(reverse("privacy_home")).status_code == 302
    person = make_distributor()
    client.force_login(person.user)
    assert client.get(reverse("privacy_home")).status_code == 200
    client.post(reverse("privacy_erasure_request"), {"confirm": "yes", "note": "Moving on"})
    client.post(reverse("privacy_erasure_request"), {"confirm": "yes"})
    request = ErasureRequest.objects.get()
    assert (request.user, request.status) == (person.user, ErasureStatus.REQUESTED)


def ledger_totals() -> tuple:
    return (
        CommissionLine.objects.aggregate(total=Sum("amount"))["total"],
        DistributorResult.objects.aggregate(
            total=Sum("period_total"), payable=Sum("payable"), carried=Sum("carried_out")
        ),
        Order.objects.aggregate(amount=Sum("total_amount"), pv=Sum("total_pv")),
    )


@pytest.mark.django_db(transaction=True)
def test_erasure_pseudonymizes_blocks_login_and_keeps_the_books(client):
    make_plan_version()
    cal = build_chain().cal
    old_email = cal.user.email
    customer = CustomerFactory(
        distributor=cal, name="Rita Retail", email="rita@example.net", address="1 Main St"
    )
    buy(cal, "10", paid_at=IN_MARCH, customer=customer)
    Distributor.objects.filter(pk=cal.pk).update(
        payout_method="paypal", payout_account="cal.diaz@pay.example"
    )
    calculate_period(period=MARCH)
    close_period(period=MARCH)
    before_ledger, before_tree = ledger_totals(), stored_numbering()
    staff = UserFactory(is_staff=True)
    request = privacy.erasure_request(user=cal.user, note="Please forget me")

    approved = privacy.erasure_approve(request=request, by=staff, reason="Verified by phone")

    user = cal.user.__class__.objects.get(pk=cal.user_id)
    assert approved.status == ErasureStatus.APPROVED
    assert (approved.decided_by, approved.decision_reason) == (staff, "Verified by phone")
    assert approved.decided_at is not None and approved.pseudonym == f"erased-{user.pk}"
    assert "Cal" not in user.name and user.email == f"erased-{user.pk}@erased.invalid"
    assert not user.is_active and not user.has_usable_password()
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        user.email
    ]
    assert Distributor.objects.filter(pk=cal.pk).values_list(
        "payout_method", "payout_account"
    ).get() == ("", "")
    rita = Customer.objects.get(pk=customer.pk)
    assert (rita.name, rita.email, rita.address) == (f"Erased customer #{rita.pk}", "", "")
    assert not client.login(email=old_email, password=PASSWORD)
    assert ledger_totals() == before_ledger and stored_numbering() == before_tree
    payouts = export_payouts(period=MARCH).decode()
    [cal_row] = [line for line in payouts.splitlines() if line.startswith(f"{cal.number},")]
    assert cal_row.startswith(f"{cal.number},Erased person #{cal.number},")
    assert cal_row.endswith(",USD,bank_transfer,") and "cal.diaz" not in payouts

    again = privacy.erasure_approve(request=request, by=staff, reason="Clicked twice")
    assert again.decision_reason == "Verified by phone"


@pytest.mark.django_db
def test_erased_person_cannot_log_in_with_the_old_password(client):
    person = make_distributor(email="gone@example.com")
    staff = UserFactory(is_staff=True)
    assert client.login(email="gone@example.com", password=PASSWORD)
    client.logout()
    request = privacy.erasure_request(user=person.user)
    privacy.erasure_approve(request=request, by=staff, reason="Identity checked")
    assert not client.login(email="gone@example.com", password=PASSWORD)
    assert not client.login(email=f"erased-{person.user_id}@erased.invalid", password=PASSWORD)


@pytest.mark.django_db
def test_staff_approve_in_the_admin_with_a_reason(client):
    person = make_distributor(name="Zed Zero")
    request = privacy.erasure_request(user=person.user)
    admin = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, admin)
    url = reverse("admin:compliance_erasurerequest_change", args=[request.pk])

    refused = client.post(url, {"decision": "approve", "reason": ""})
    assert refused.status_code == 200  # the form asks for a reason
    client.post(url, {"decision": "approve", "reason": "Request verified"})

    request.refresh_from_db()
    assert (request.status, request.decided_by) == (ErasureStatus.APPROVED, admin)
    person.user.refresh_from_db()
    assert "Zed" not in person.user.name
