"""Paid minus refunded volume has one home, `orders.volume`: the staff overview's month figures,
the dashboard's live legs and the compliance measurements give the volume service's figures,
refunds of an earlier month's order included."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from commissions.progress import _legs_live
from compliance.services import Thresholds, measure_period
from core.periods import Period
from genealogy.models import COMPANY_TREE_ID, Distributor
from orders.models import RefundReason
from orders.services import order_refund
from orders.volume import company_volume, distributor_volume, period_totals
from portal.staff import month_volume
from tests.factories import CustomerFactory, buy, make_distributor

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
MARCH, APRIL = Period(2026, 3), Period(2026, 4)
LATER = dt.datetime(2026, 6, 1, tzinfo=NEW_YORK)  # both months are over


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


def refund_all(order, when: dt.datetime) -> None:
    order_refund(
        order=order,
        quantities={line.pk: line.quantity for line in order.lines.all()},
        reason=RefundReason.RETURN,
        now=when,
    )


@pytest.fixture
def team(settings):
    """Ann enrolls Ben (who enrolls Cal) and Dee; personal and retail orders in March, a refund
    in March of a March order and a refund in April of another March order."""
    settings.TIME_ZONE = "America/New_York"
    ann = make_distributor()
    ben = make_distributor(sponsor=ann)
    cal = make_distributor(sponsor=ben)
    dee = make_distributor(sponsor=ann)
    buy(ann, "60", paid_at=local(2026, 3, 2, 9))
    buy(ann, "40", paid_at=local(2026, 3, 3, 9), customer=CustomerFactory(distributor=ann))
    buy(ben, "100", paid_at=local(2026, 3, 4, 9))
    refund_all(buy(ben, "30", paid_at=local(2026, 3, 5, 9)), local(2026, 3, 20, 9))
    refund_all(buy(cal, "500", paid_at=local(2026, 3, 6, 9)), local(2026, 4, 3, 9))
    buy(cal, "70", paid_at=local(2026, 3, 7, 9), customer=CustomerFactory(distributor=cal))
    buy(dee, "100", paid_at=local(2026, 4, 8, 9))
    return ann, ben, cal, dee


def test_the_staff_overviews_month_figures_are_the_volume_services(team):
    for period in (MARCH, APRIL):
        shown = month_volume(period, now=LATER)
        company = company_volume(period=period)
        totals = period_totals(period)
        assert (shown.pv, shown.cv, shown.personal_pv, shown.retail_pv) == (
            company.pv,
            company.cv,
            company.personal_pv,
            company.retail_pv,
        )
        assert shown.pv * 100 == int(totals.pv.sum())
        assert shown.retail_pv * 100 == int(totals.retail_pv.sum())
    assert month_volume(APRIL, now=LATER).pv == Decimal("-400.00")  # Cal's refund, plus Dee


def test_the_dashboards_live_legs_are_the_volume_services(team):
    ann = team[0]
    for period in (MARCH, APRIL):
        totals = period_totals(period)
        legs = {leg.distributor_id: leg for leg in _legs_live(ann, period, activity_pv=5000)}
        recruits = Distributor.objects.filter(sponsor=ann)
        assert set(legs) == {recruit.pk for recruit in recruits}
        for recruit in recruits:
            members = Distributor.objects.filter(
                tree_id=COMPANY_TREE_ID, lft__gte=recruit.lft, lft__lt=recruit.rght
            ).values_list("pk", flat=True)
            expected = sum(totals.for_distributor(member)["pv"] for member in members)
            assert legs[recruit.pk].gv == expected, (period, recruit)
            own = totals.for_distributor(recruit.pk)["pv"]
            assert legs[recruit.pk].is_active == (own >= 5000)
    ben = team[1]
    assert {leg.distributor_id: leg.gv for leg in _legs_live(ann, MARCH, 5000)}[ben.pk] == (
        100_00 + 500_00 + 70_00
    )


def test_compliance_measures_the_volume_services_figures(team):
    everyone = Thresholds(
        personal_use_max_percent=Decimal("0"),
        min_retail_customers=0,
        loading_max_monthly=Decimal("1000000"),
        loading_spike_factor=Decimal("1000"),
        loading_history_months=6,
        recruiting_min_enrollees=1000,
        recruiting_min_retail_pv=Decimal("0"),
        retail_rules_min_earnings=Decimal("0"),
    )
    for period in (MARCH, APRIL):
        measured = {
            person: values
            for person, kind, values, _ in measure_period(period, everyone)
            if kind == "personal_use_share"
        }
        assert measured, period
        for person, values in measured.items():
            volume = distributor_volume(distributor_id=person, period=period)
            assert Decimal(values["personal_pv"]) == volume.personal_pv
            assert Decimal(values["retail_pv"]) == volume.retail_pv


def test_compliance_loading_is_net_of_refunds_over_the_history_months(team, settings):
    ann, ben = team[0], team[1]
    buy(ben, "90", paid_at=local(2026, 5, 4, 9))
    spike = Thresholds(
        personal_use_max_percent=Decimal("100"),
        min_retail_customers=0,
        loading_max_monthly=Decimal("1000000"),
        loading_spike_factor=Decimal("0"),
        loading_history_months=3,
        recruiting_min_enrollees=1000,
        recruiting_min_retail_pv=Decimal("0"),
    )
    found = {
        person: values
        for person, kind, values, _ in measure_period(Period(2026, 5), spike)
        if kind == "loading_spike"
    }
    # Ben's trailing personal purchases, paid minus refunded over February to April: 100 of
    # March (the 30 bought and refunded in March counts nothing), averaged over 3 months
    history = sum(
        distributor_volume(distributor_id=ben.pk, period=p).personal_pv
        for p in (Period(2026, 2), MARCH, APRIL)
    )
    assert found[ben.pk]["trailing_average"] == str((history / 3).quantize(Decimal("0.01")))
    assert ann.pk not in found  # nothing bought in May
