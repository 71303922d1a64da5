"""Dashboards say one thing once: no statements before a person joined, membership status and
this month's activity in different words, one "active" count and one CV on the staff page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from core.periods import Period
from genealogy.models import Distributor, DistributorStatus
from orders.models import RefundReason
from orders.services import order_refund
from portal.dashboard import earnings_overview, monthly_history
from tests.factories import (
    UserFactory,
    buy,
    closed_period_with_results,
    log_in_with_mfa,
    make_distributor,
    make_plan_version,
)
from tests.portal.test_dashboard import DASHBOARD_PLAN


def _page(client, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


# --- No statements before a person joined -----------------------------------------------------


@pytest.mark.django_db
def test_a_new_persons_dashboard_shows_no_statement_for_months_before_they_joined(client):
    veteran = make_distributor()
    newcomer = make_distributor()
    this_month = Period.current()
    Distributor.objects.filter(pk=veteran.pk).update(joined_on=this_month.shifted(-3).first_day)
    veteran.refresh_from_db()
    # Last month's run lists everyone in today's tree, the newcomer included, with nothing.
    last_month = this_month.previous()
    closed_period_with_results(last_month.first_day, {veteran: (1500, 1, 1), newcomer: (0, 0, 0)})

    assert [s.period for s in earnings_overview(veteran).statements] == [last_month]
    assert earnings_overview(newcomer).statements == []
    history = {month.period: month for month in monthly_history(newcomer)}
    assert history[last_month].earned is None
    client.force_login(newcomer.user)
    html = _page(client, "dashboard")
    assert 'data-testid="no-statements"' in html
    assert last_month.label not in _page(client, "earnings_home")


# --- Membership status and this month's activity ----------------------------------------------


@pytest.mark.django_db
def test_membership_status_and_monthly_qualification_use_different_words(client):
    make_plan_version(DASHBOARD_PLAN)  # 50 PV to qualify for the month
    ann = make_distributor()
    buy(ann, "10", paid_at=timezone.now())
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    assert 'data-testid="membership-status">Active<' in html
    assert "Not qualified yet" in html
    assert "Needs 40 more PV to qualify this month" in html
    assert "Not active yet" not in html
    assert "to be active" not in html


@pytest.mark.django_db
def test_a_qualified_month_and_an_inactive_membership_are_told_apart(client):
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor()
    buy(ann, "60", paid_at=timezone.now())
    dee = make_distributor(status=DistributorStatus.INACTIVE)

    client.force_login(ann.user)
    qualified = _page(client, "dashboard")
    client.force_login(dee.user)
    inactive = _page(client, "dashboard")

    assert "Qualified this month" in qualified
    assert "Membership inactive" in inactive
    assert "Qualified this month" not in inactive


# --- The staff overview: one "active" count, one CV -------------------------------------------


def _cells(html: str, testid: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(rf'data-testid="{testid}">(.*?)</td>', html, re.S)
    ]


def _payout_row_cv(html: str, period: Period) -> str:
    table = html[html.index('data-testid="payout-table"') :]
    row = re.search(rf"<td>{period.label}</td><td[^>]*>([^<]+)</td>", table)
    return row[1].strip()


@pytest.mark.django_db(transaction=True)
def test_the_staff_overview_shows_one_cv_per_month_and_one_active_count(client, settings):
    settings.LADDER_CLOSE_GRACE_HOURS = 0
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor()
    ben = make_distributor(sponsor=ann)
    this_month = Period.current()
    before, last = this_month.shifted(-2), this_month.previous()
    order = buy(ben, "200", paid_at=before.start + dt.timedelta(days=3))
    buy(ann, "100", paid_at=last.start + dt.timedelta(days=3))
    calculate_period(period=before)
    close_period(period=before)
    # Last month, a refund of an order from the closed month before: a clawback settles it.
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=last.start + dt.timedelta(days=5),
    )
    calculate_period(period=last)
    close_period(period=last)
    log_in_with_mfa(client, UserFactory(is_staff=True))

    html = _page(client, "staff_overview")

    # The volume table's CV for last month is the payout table's (the CV commissions were
    # paid on), not a second, paid-less-refunded figure.
    last_month_cv = _cells(html, "commission-cv")[0]
    assert last_month_cv == _payout_row_cv(html, last) == "100.00"
    assert "Active members" in html and 'data-testid="count-active">2<' in html
    assert "Qualified (PV minimum met)" in html
    assert re.search(r">\s*Active\s*<", html) is None
