"""Compliance flags show their evidence in words, and staff decide many with one reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from commissions.models import Hold
from compliance import services
from compliance.evidence import evidence_in_words
from compliance.models import ComplianceFlag, FlagKind, FlagStatus
from core.periods import Period
from tests.factories import UserFactory, buy, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db

MARCH = Period(2026, 3)
IN_MARCH = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, user)
    return user


@pytest.fixture
def flagged(settings):
    """Two people who buy only for themselves: 150 PV and 90 PV, no retail customer."""
    settings.LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS = "0"
    settings.LADDER_COMPLIANCE_MIN_RETAIL_CUSTOMERS = 1
    settings.LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT = "70"
    pat = make_distributor(name="Pat Personal")
    buy(pat, "150", paid_at=IN_MARCH)
    quinn = make_distributor(name="Quinn Quiet")
    buy(quinn, "90", paid_at=IN_MARCH)
    services.compute_compliance_flags(period=MARCH)
    return pat, quinn


def test_each_rule_has_its_evidence_in_words():
    assert (
        evidence_in_words(
            FlagKind.PERSONAL_USE_SHARE,
            {"personal_pv": "144.00", "retail_pv": "6.00", "personal_percent": "96.00"},
            {"max_personal_percent": "70"},
        )
        == "personal use 96 % of 150 PV (at most 70 % allowed)"
    )
    assert (
        evidence_in_words(
            FlagKind.FEW_RETAIL_CUSTOMERS,
            {"personal_pv": "144.00", "retail_pv": "6.00", "retail_customers": 0},
            {"min_retail_customers": 2},
        )
        == "0 retail customers on 150 PV (at least 2 needed)"
    )
    loading = evidence_in_words(
        FlagKind.LOADING_AMOUNT, {"personal_purchases": "1500.00"}, {"max_monthly": "1000.00"}
    )
    assert "1,500.00" in loading and "limit 1,000.00" in loading
    spike = evidence_in_words(
        FlagKind.LOADING_SPIKE,
        {"personal_purchases": "150.00", "trailing_average": "33.33"},
        {"spike_factor": "3", "history_months": 6},
    )
    assert "150.00" in spike and "33.33" in spike and "6 months" in spike and "3 ×" in spike
    recruiting = evidence_in_words(
        FlagKind.RECRUITING_WITHOUT_SELLING,
        {"enrollees_joined_in_period": 5, "active_enrollees": 4, "retail_pv": "0.00"},
        {"min_enrollees": 5, "min_retail_pv": "50"},
    )
    assert "5 personal enrollees joined" in recruiting and "retail 0 PV" in recruiting
    # A row without the expected values still reads, never an error.
    assert evidence_in_words(FlagKind.LOADING_SPIKE, {"odd": 1}, {}) == "odd 1"


def test_the_staff_list_and_the_admin_show_the_evidence_in_words(client, staff, flagged):
    pat, _ = flagged
    staff_page = client.get(reverse("compliance_flags"), {"q": str(pat.number)}).content.decode()
    assert "personal use 100 % of 150 PV" in staff_page
    assert "0 retail customers on 150 PV" in staff_page
    assert "personal_percent" not in staff_page  # no raw keys

    admin_list = client.get(reverse("admin:compliance_complianceflag_changelist"))
    assert "personal use 100 % of 150 PV" in admin_list.content.decode()
    flag = ComplianceFlag.objects.get(distributor=pat, kind=FlagKind.PERSONAL_USE_SHARE)
    detail = client.get(reverse("admin:compliance_complianceflag_change", args=[flag.pk]))
    assert "personal use 100 % of 150 PV (at most 70 % allowed)" in detail.content.decode()


def test_flags_are_dismissed_in_bulk_with_one_reason(client, staff, flagged):
    flags = list(ComplianceFlag.objects.order_by("id"))
    assert len(flags) == 4  # two rules for each of the two people
    url = reverse("admin:compliance_complianceflag_changelist")
    selected = {"action": "dismiss_selected", "_selected_action": [f.pk for f in flags]}

    # Given staff choose the action, they are asked for the reason first
    ask = client.post(url, selected)
    assert ask.status_code == 200 and "reason" in ask.context["form"].fields
    assert not ComplianceFlag.objects.exclude(status=FlagStatus.OPEN).exists()
    # An empty reason is refused on that form, and nothing is decided
    empty = client.post(url, {**selected, "apply": "1", "reason": "  "})
    assert empty.status_code == 200 and empty.context["form"].errors["reason"]
    assert not ComplianceFlag.objects.exclude(status=FlagStatus.OPEN).exists()
    # When they give one, every selected flag is dismissed with it, audited with their name
    done = client.post(url, {**selected, "apply": "1", "reason": "Launch month"}, follow=True)
    assert "4 of 4 flag(s) dismissed" in done.content.decode()
    assert set(ComplianceFlag.objects.values_list("status", "reason", "reviewed_by")) == {
        (FlagStatus.DISMISSED, "Launch month", staff.pk)
    }


def test_bulk_decisions_report_refused_rows_and_decide_the_others(client, staff, flagged):
    pat, quinn = flagged
    already = ComplianceFlag.objects.filter(distributor=pat).order_by("id").first()
    services.flag_dismiss(flag=already, reason="seen", by=staff)
    url = reverse("admin:compliance_complianceflag_changelist")
    selected = [f.pk for f in ComplianceFlag.objects.all()]

    response = client.post(
        url,
        {
            "action": "hold_selected",
            "_selected_action": selected,
            "apply": "1",
            "reason": "Loading pattern",
        },
        follow=True,
    )

    text = response.content.decode()
    assert f"Flag #{already.pk}" in text and "already dismissed" in text
    assert "3 of 4 flag(s) turned into payout holds" in text
    already.refresh_from_db()
    assert (already.status, already.reason) == (FlagStatus.DISMISSED, "seen")
    assert ComplianceFlag.objects.filter(status=FlagStatus.HOLD).count() == 3
    assert Hold.objects.filter(distributor__in=[pat, quinn]).count() == 2  # one per person
