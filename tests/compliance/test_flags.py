"""Compliance flags on hand-built March 2026 data: each rule, idempotence, review, holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from commissions.models import DistributorResult, Hold, HoldStatus
from commissions.services.close import close_period, export_payouts
from commissions.services.runs import calculate_period
from compliance import selectors, services
from compliance.models import ComplianceFlag, FlagKind, FlagStatus
from core.periods import Period
from tests.factories import CustomerFactory, UserFactory, buy, log_in_with_mfa, make_distributor

MARCH = Period(2026, 3)
IN_MARCH = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


def kinds_of(person) -> set[str]:
    return set(
        ComplianceFlag.objects.filter(distributor=person, period=MARCH.first_day).values_list(
            "kind", flat=True
        )
    )


@pytest.fixture
def people(db, settings):
    settings.LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS = "0"  # no run here: check everyone
    seller = make_distributor(name="Sally Seller")  # 60 % personal, 2 customers: clean
    buy(seller, "60", paid_at=IN_MARCH)
    for _ in range(2):
        buy(seller, "20", paid_at=IN_MARCH, customer=CustomerFactory(distributor=seller))
    heavy = make_distributor(name="Hal Heavy")  # 100 / 120 = 83 % personal, one customer
    buy(heavy, "100", paid_at=IN_MARCH)
    buy(heavy, "20", paid_at=IN_MARCH, customer=CustomerFactory(distributor=heavy))
    loader = make_distributor(name="Lou Loader")  # 1,500.00 of personal purchases
    buy(loader, "1500", paid_at=IN_MARCH)
    spiker = make_distributor(name="Sam Spike")  # 150 after 100 + 100 in Jan and Feb
    buy(spiker, "100", paid_at=dt.datetime(2026, 1, 10, 15, tzinfo=dt.UTC))
    buy(spiker, "100", paid_at=dt.datetime(2026, 2, 10, 15, tzinfo=dt.UTC))
    buy(spiker, "150", paid_at=IN_MARCH)
    recruiter = make_distributor(name="Rita Recruiter")  # five active enrollees, no retail
    for _ in range(5):
        make_distributor(sponsor=recruiter)
    return {
        "seller": seller,
        "heavy": heavy,
        "loader": loader,
        "spiker": spiker,
        "recruiter": recruiter,
    }


def test_each_rule_flags_the_person_who_trips_it(people):
    services.compute_compliance_flags(period=MARCH)

    assert kinds_of(people["seller"]) == set()
    assert kinds_of(people["heavy"]) == {FlagKind.PERSONAL_USE_SHARE}
    assert kinds_of(people["loader"]) == {
        FlagKind.PERSONAL_USE_SHARE,
        FlagKind.FEW_RETAIL_CUSTOMERS,
        FlagKind.LOADING_AMOUNT,
    }
    assert FlagKind.LOADING_SPIKE in kinds_of(people["spiker"])
    assert FlagKind.LOADING_SPIKE not in kinds_of(people["loader"])  # no history: no spike
    assert kinds_of(people["recruiter"]) == {FlagKind.RECRUITING_WITHOUT_SELLING}
    heavy = ComplianceFlag.objects.get(distributor=people["heavy"])
    assert heavy.measured["personal_percent"] == "83.33"
    assert heavy.threshold == {"max_personal_percent": "70"}
    spike = ComplianceFlag.objects.get(distributor=people["spiker"], kind=FlagKind.LOADING_SPIKE)
    assert spike.measured == {"personal_purchases": "150.00", "trailing_average": "33.33"}


def test_thresholds_come_from_settings(people, settings):
    settings.LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT = "90"
    settings.LADDER_COMPLIANCE_RECRUITING_MIN_ENROLLEES = 6
    services.compute_compliance_flags(period=MARCH)
    assert kinds_of(people["heavy"]) == set()
    assert kinds_of(people["recruiter"]) == set()


def test_recompute_is_idempotent_and_keeps_reviews(people):
    staff = UserFactory(is_staff=True)
    services.compute_compliance_flags(period=MARCH)
    first = ComplianceFlag.objects.count()
    flag = ComplianceFlag.objects.get(distributor=people["heavy"])
    services.flag_dismiss(flag=flag, reason="Family pack, checked by phone", by=staff)

    again = services.compute_compliance_flags(period=MARCH)

    assert ComplianceFlag.objects.count() == first and again.created == 0
    flag.refresh_from_db()
    assert (flag.status, flag.reason, flag.reviewed_by) == (
        FlagStatus.DISMISSED,
        "Family pack, checked by phone",
        staff,
    )
    assert selectors.open_flag_count() == first - 1


def test_an_open_flag_that_no_longer_applies_is_removed(people, settings):
    services.compute_compliance_flags(period=MARCH)
    settings.LADDER_COMPLIANCE_LOADING_MAX_MONTHLY = "5000.00"
    counts = services.compute_compliance_flags(period=MARCH)
    assert counts.removed == 1
    assert FlagKind.LOADING_AMOUNT not in kinds_of(people["loader"])


def test_dismiss_and_hold_need_a_reason(people):
    services.compute_compliance_flags(period=MARCH)
    flag = ComplianceFlag.objects.get(distributor=people["heavy"])
    with pytest.raises(services.ComplianceError):
        services.flag_dismiss(flag=flag, reason=" ", by=None)
    with pytest.raises(services.ComplianceError):
        services.flag_hold(flag=flag, reason="", by=None)


def test_command_and_daily_schedule(people, capsys):
    call_command("compute_compliance_flags", "2026-03")
    assert "2026-03:" in capsys.readouterr().out
    assert ComplianceFlag.objects.filter(period=MARCH.first_day).exists()
    task = PeriodicTask.objects.get(task="compliance.compute_recent_flags")
    assert task.crontab.hour == "3" and task.crontab.day_of_month == "*"


@pytest.mark.django_db(transaction=True)
def test_retail_rules_look_at_people_the_month_paid(chain, plan_version):
    services.compute_compliance_flags(period=MARCH)
    assert not ComplianceFlag.objects.filter(kind=FlagKind.PERSONAL_USE_SHARE).exists()

    run = calculate_period(period=MARCH)
    services.compute_compliance_flags(period=MARCH)

    earners = set(
        DistributorResult.objects.filter(run=run, period_total__gt=0).values_list(
            "distributor_id", flat=True
        )
    )
    flagged = set(
        ComplianceFlag.objects.filter(kind=FlagKind.PERSONAL_USE_SHARE).values_list(
            "distributor_id", flat=True
        )
    )
    bought = {chain.ann.pk, chain.cal.pk, chain.dee.pk, chain.eve.pk}  # all for personal use
    assert earners and flagged == earners & bought
    assert chain.eve.pk not in flagged  # bought 200 PV for herself, earned nothing: a customer


@pytest.mark.django_db(transaction=True)
def test_hold_from_a_flag_keeps_the_payout_unpaid(chain, plan_version):
    staff = UserFactory(is_staff=True)
    calculate_period(period=MARCH)  # staff review the calculated month
    services.compute_compliance_flags(period=MARCH)
    flag = ComplianceFlag.objects.get(distributor=chain.cal, kind=FlagKind.FEW_RETAIL_CUSTOMERS)

    held = services.flag_hold(flag=flag, reason="Asked for customer receipts", by=staff)
    run = calculate_period(period=MARCH)
    close_period(period=MARCH)

    hold = Hold.objects.get(distributor=chain.cal)
    assert held.status == FlagStatus.HOLD and held.hold == hold
    assert hold.status == HoldStatus.ACTIVE and "Asked for customer receipts" in hold.reason
    cal = DistributorResult.objects.get(run=run, distributor=chain.cal)
    assert (cal.on_hold, cal.payable, cal.carried_out) == (True, 0, 1500)
    assert "Cal Diaz" not in export_payouts(period=MARCH).decode()
    # A second flag of the same person reuses the active hold.
    other = ComplianceFlag.objects.get(distributor=chain.cal, kind=FlagKind.PERSONAL_USE_SHARE)
    assert services.flag_hold(flag=other, reason="Same review", by=staff).hold == hold


def staff_with_mfa(client):
    user = UserFactory(is_staff=True)
    log_in_with_mfa(client, user)
    return user


def test_flag_page_is_staff_only(client, people):
    services.compute_compliance_flags(period=MARCH)
    url = reverse("compliance_flags")
    assert client.get(url).status_code == 302  # to the login
    client.force_login(people["heavy"].user)
    assert client.get(url).status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url)["Location"].startswith(reverse("mfa_activate_totp"))


def test_staff_filter_and_dismiss_on_the_page(client, people, django_assert_max_num_queries):
    services.compute_compliance_flags(period=MARCH)
    staff = staff_with_mfa(client)
    url = reverse("compliance_flags")

    with django_assert_max_num_queries(12):
        page = client.get(url, {"period": "2026-03", "kind": FlagKind.LOADING_AMOUNT})
    assert "Lou Loader" in page.content.decode() and "Hal Heavy" not in page.content.decode()
    flag = ComplianceFlag.objects.get(distributor=people["heavy"])
    client.post(
        reverse("compliance_flag_review", args=[flag.pk]),
        {"decision": "dismiss", "reason": "Seasonal gift buying"},
    )

    flag.refresh_from_db()
    assert (flag.status, flag.reviewed_by) == (FlagStatus.DISMISSED, staff)
    dismissed = client.get(url, {"status": "dismissed"}).content.decode()
    assert "Seasonal gift buying" in dismissed


def test_admin_lists_flags_with_filters(client, people):
    services.compute_compliance_flags(period=MARCH)
    user = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, user)
    response = client.get(
        reverse("admin:compliance_complianceflag_changelist"), {"status__exact": "open"}
    )
    assert response.status_code == 200
    flag = ComplianceFlag.objects.get(distributor=people["heavy"])
    client.post(
        reverse("admin:compliance_complianceflag_change", args=[flag.pk]),
        {"decision": "hold", "review_reason": "Loading pattern"},
    )
    flag.refresh_from_db()
    assert flag.status == FlagStatus.HOLD and flag.hold.status == HoldStatus.ACTIVE
