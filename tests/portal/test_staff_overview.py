"""The staff overview: staff with MFA only, company counts, volumes, payouts and run progress."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from commissions.models import CommissionRun, RunStatus
from commissions.services.close import close_period
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from core.periods import Period
from genealogy.models import DistributorStatus
from portal.staff import compliance_flags_waiting
from tests.factories import (
    CustomerFactory,
    UserFactory,
    buy,
    log_in_with_mfa,
    make_distributor,
    make_plan_version,
)


def _log_in_staff(client):
    log_in_with_mfa(client, UserFactory(is_staff=True))


@pytest.mark.django_db
def test_distributors_get_a_404(client):
    client.force_login(make_distributor().user)
    assert client.get(reverse("staff_overview")).status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("staff_overview"))
    assert response.status_code == 302
    assert reverse("account_login") in response.url


@pytest.mark.django_db
def test_staff_without_mfa_are_sent_to_set_it_up(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("staff_overview"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_overview_shows_counts_volumes_and_the_compliance_card(client):
    ann = make_distributor()
    make_distributor(sponsor=ann)
    make_distributor(status=DistributorStatus.INACTIVE)
    buy(ann, "100", paid_at=timezone.now())
    buy(ann, "50", paid_at=timezone.now(), customer=CustomerFactory(distributor=ann))
    _log_in_staff(client)

    html = client.get(reverse("staff_overview")).content.decode()

    assert 'data-testid="count-total">3<' in html
    assert 'data-testid="count-active">2<' in html
    assert 'data-testid="count-new">3<' in html
    assert "150.00" in html  # PV this month
    assert "(33.3 %)" in html  # retail share of PV
    assert compliance_flags_waiting() == 0
    assert 'data-testid="compliance-card"' in html
    assert "No closed period yet" in html


@pytest.mark.django_db
def test_a_running_calculation_shows_a_polled_progress_bar_that_stops_when_done(client):
    run = CommissionRun.objects.create(
        period=period_row(Period.current()),
        status=RunStatus.RUNNING,
        progress=55,
        phase="Writing results",
    )
    _log_in_staff(client)
    fragment_url = reverse("staff_run_progress", args=[run.pk])

    page = client.get(reverse("staff_overview")).content.decode()
    running = client.get(fragment_url).content.decode()
    CommissionRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, progress=100, phase="Done"
    )
    done = client.get(fragment_url).content.decode()

    assert f'hx-get="{fragment_url}" hx-trigger="every 2s"' in page
    assert "Writing results: 55 %" in running and 'hx-trigger="every 2s"' in running
    assert 'aria-valuenow="55"' in running
    assert "hx-trigger" not in done and "Succeeded" in done


@pytest.mark.django_db(transaction=True)
def test_closed_periods_give_payout_percent_ranks_and_the_last_run(client, settings):
    settings.LADDER_CLOSE_GRACE_HOURS = 0  # last month closes as soon as it ends, any day
    make_plan_version()  # 100 PV to be active; unilevel 5 / 5 / 10 %
    ann = make_distributor()
    ben = make_distributor(sponsor=ann)
    last_month = Period.current().previous()
    paid_at = last_month.start + dt.timedelta(days=3)
    buy(ann, "100", paid_at=paid_at)
    buy(ben, "200", paid_at=paid_at)
    calculate_period(period=last_month)
    close_period(period=last_month)
    _log_in_staff(client)

    html = client.get(reverse("staff_overview")).content.decode()

    assert 'data-testid="payout-table"' in html
    assert "3.33 %" in html  # 5 % of Ben's 200 CV = 10.00 of 300 CV
    assert 'id="payout-chart-data"' in html
    assert 'data-testid="ranks-table"' in html and "Member" in html
    assert 'data-testid="last-run"' in html


@pytest.mark.django_db
def test_staff_page_query_count_is_bounded(client, django_assert_max_num_queries):
    for _ in range(5):
        buy(make_distributor(), "20", paid_at=timezone.now())
    _log_in_staff(client)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("staff_overview")).status_code == 200


@pytest.mark.django_db
def test_a_months_volume_is_read_once_then_kept(django_assert_num_queries):
    from decimal import Decimal

    from portal.staff import month_volume

    now = timezone.now()
    last_month = Period.current(now).previous()
    buy(make_distributor(), "100", paid_at=last_month.start + dt.timedelta(days=3))

    first = month_volume(last_month, now=now)
    with django_assert_num_queries(0):
        again = month_volume(last_month, now=now)

    assert first.pv == again.pv == Decimal("100") and again.as_of == now
