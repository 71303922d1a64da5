"""The distributor dashboard: this month so far, rank progress, earnings, charts and lists.

The hand-built example (plan `DASHBOARD_PLAN`, every order paid this month):

    Ann (60 PV) ─┬─ Ben (100 PV) ── Cal (500 PV)
                 └─ Dee (100 PV)

Ann is active (50 PV needed) and paid as Member. Bronze needs 100 PV (40 missing), 1,000 GV
with at most 40 % of it (400) from one leg, and two active people she enrolled. Her GV is
60 + 600 + 100 = 760, of which 60 + 400 + 100 = 560 counts: 440 GV missing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from commissions.services.close import close_period
from commissions.services.runs import calculate_period, refresh_projection
from core.periods import Period
from genealogy.models import Distributor
from tests.factories import (
    CustomerFactory,
    UserFactory,
    buy,
    make_distributor,
    make_plan_version,
)

DASHBOARD_PLAN = {
    "name": "Dashboard plan",
    "activity": {"personal_pv": "50"},
    "ranks": [
        {"code": "member", "name": "Member", "personal_pv": "50", "unilevel_levels": 1},
        {
            "code": "bronze",
            "name": "Bronze",
            "personal_pv": "100",
            "group_volume": "1000",
            "leg_cap_percent": "40",
            "personally_enrolled_active": 2,
            "unilevel_levels": 2,
        },
        {
            "code": "silver",
            "name": "Silver",
            "personal_pv": "100",
            "group_volume": "3000",
            "leg_cap_percent": "40",
            "qualified_legs": {"count": 2, "min_rank": "bronze"},
            "personally_enrolled_active": 2,
            "unilevel_levels": 2,
        },
    ],
    "unilevel": {"percents": ["5", "5"]},
}


def _page(client, name: str) -> str:
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def _build_example(paid_at: dt.datetime):
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    cal = make_distributor(sponsor=ben, name="Cal Diaz")
    dee = make_distributor(sponsor=ann, name="Dee Brown")
    for person, volume in ((ann, "60"), (ben, "100"), (cal, "500"), (dee, "100")):
        buy(person, volume, paid_at=paid_at)
    return ann


def _assert_example_progress(html: str) -> None:
    assert 'data-testid="pv">60<' in html
    assert 'data-testid="gv">760<' in html
    assert "Member" in html
    assert "Progress to Bronze" in html
    assert "needs 40 more PV" in html
    assert "560 of your 760 GV counts: at most 40% from one leg" in html
    assert "needs 440 more GV" in html
    assert "People you enrolled who qualified this month: <strong>2</strong> of 2" in html


@pytest.mark.django_db
def test_live_figures_show_pv_gv_rank_progress_and_the_leg_cap(client):
    ann = _build_example(timezone.now())
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    _assert_example_progress(html)
    assert "Live figures as of" in html
    assert "You have the 50 PV you need to qualify this month" in html
    assert "No projection for" in html


@pytest.mark.django_db(transaction=True)
def test_projection_gives_the_same_progress_and_the_projected_earnings(client):
    ann = _build_example(timezone.now())
    run = refresh_projection()
    assert run is not None
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    _assert_example_progress(html)
    assert "Projected as of" in html
    # Member unlocks one level: 5 % of Ben's 100 CV and Dee's 100 CV.
    assert 'data-testid="projected-earnings">10.00 USD<' in html


@pytest.mark.django_db
def test_a_distributor_short_of_activity_is_told_how_much_pv_is_missing(client):
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor()
    buy(ann, "10", paid_at=timezone.now())
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    assert "Needs 40 more PV to qualify this month" in html
    assert "No rank yet" in html
    assert "Progress to Member" in html


def _build_bronze_with_one_bronze_leg():
    """Ann (100 PV) enrolls Ben (100 PV, with three recruits of 400 PV: Ben is Bronze) and two
    people of 500 PV. Ann's GV is 2,400 and she is Bronze; Silver needs two Bronze legs."""
    make_plan_version(DASHBOARD_PLAN)
    now = timezone.now()
    ann = make_distributor(name="Ann Avery")
    buy(ann, "100", paid_at=now)
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    buy(ben, "100", paid_at=now)
    for _ in range(3):
        buy(make_distributor(sponsor=ben), "400", paid_at=now)
    for _ in range(2):
        buy(make_distributor(sponsor=ann), "500", paid_at=now)
    return ann


@pytest.mark.django_db
def test_qualified_legs_are_unknown_until_the_month_is_projected(client):
    ann = _build_bronze_with_one_bronze_leg()
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    assert 'data-testid="paid-as">Bronze<' in html and "Progress to Silver" in html
    assert "Legs with a Bronze or higher" in html
    assert "known once this month&#x27;s commissions are projected" in html


@pytest.mark.django_db(transaction=True)
def test_qualified_legs_are_counted_from_the_projection(client):
    ann = _build_bronze_with_one_bronze_leg()
    refresh_projection()
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    assert 'data-testid="paid-as">Bronze<' in html and "Progress to Silver" in html
    assert "Legs with a Bronze or higher: <strong>1</strong> of 2" in html
    assert "needs 1 more leg" in html
    # Silver's cap is 40 % of 3,000: Ben's leg of 1,300 counts 1,200.
    assert "2,300 of your 2,400 GV counts: at most 40% from one leg" in html


@pytest.mark.django_db
def test_new_distributor_with_nothing_sees_empty_states(client):
    make_plan_version(DASHBOARD_PLAN)
    newcomer = make_distributor()
    client.force_login(newcomer.user)

    html = _page(client, "dashboard")
    charts = _page(client, "dashboard_charts")
    lists = _page(client, "dashboard_lists")

    assert 'data-testid="pv">0<' in html
    assert "Needs 50 more PV" in html
    assert "No statements yet" in html
    assert newcomer.referral_code in html  # the share card
    assert "<svg" in html
    assert "Nobody has joined your team yet" in lists
    assert "No customer orders yet" in lists
    assert 'data-testid="earnings-table"' in charts
    assert "—" in charts


@pytest.mark.django_db
def test_without_a_plan_the_dashboard_shows_volume_only(client):
    newcomer = make_distributor()
    client.force_login(newcomer.user)

    html = _page(client, "dashboard")

    assert "once the company has loaded its compensation plan" in html


@pytest.mark.django_db
def test_lists_show_new_recruits_of_the_downline_and_customer_orders(client):
    ann = make_distributor()
    ben = make_distributor(sponsor=ann, name="Ben Ortiz")
    make_distributor(sponsor=ben, name="Cal Diaz")
    outsider = make_distributor(name="Olga Outside")
    customer = CustomerFactory(distributor=ann, name="Carla Customer")
    buy(ann, "30", paid_at=timezone.now(), customer=customer, profit="5")
    client.force_login(ann.user)

    lists = _page(client, "dashboard_lists")

    assert "Ben Ortiz" in lists and "Cal Diaz" in lists
    assert outsider.display_name not in lists
    assert "Carla Customer" in lists


@pytest.mark.django_db
def test_dashboard_loads_charts_and_lists_as_htmx_fragments(client):
    ann = make_distributor()
    client.force_login(ann.user)

    html = _page(client, "dashboard")

    assert f'hx-get="{reverse("dashboard_charts")}" hx-trigger="load"' in html
    assert f'hx-get="{reverse("dashboard_lists")}" hx-trigger="load"' in html


@pytest.mark.django_db(transaction=True)
def test_closed_statements_are_linked_and_charted(client, settings):
    settings.LADDER_CLOSE_GRACE_HOURS = 0  # last month closes as soon as it ends, any day
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor(name="Ann Avery")
    ben = make_distributor(sponsor=ann)
    last_month = Period.current().previous()
    # Both joined before last month: a statement starts with the month one joined.
    Distributor.objects.filter(pk__in=[ann.pk, ben.pk]).update(joined_on=last_month.first_day)
    paid_at = last_month.start + dt.timedelta(days=10)
    buy(ann, "60", paid_at=paid_at)
    buy(ben, "200", paid_at=paid_at)
    calculate_period(period=last_month)
    close_period(period=last_month)
    client.force_login(ann.user)

    html = _page(client, "dashboard")
    charts = _page(client, "dashboard_charts")

    assert reverse("earnings_statement", args=[str(last_month)]) in html
    assert last_month.label in html
    assert "10.00 USD" in html  # 5 % of Ben's 200 CV
    assert "10.00 USD" in charts
    assert 'data-testid="volume-table"' in charts and "260.00" in charts  # Ann's GV
    assert 'id="dashboard-chart-data"' in charts


@pytest.mark.django_db
def test_staff_without_a_distributor_go_to_the_staff_overview(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response.url == reverse("staff_overview")


def _count_queries(client, name: str) -> int:
    from django.core.cache import cache

    cache.clear()  # team stats are cached: count the cold page
    with CaptureQueriesContext(connection) as context:
        assert client.get(reverse(name)).status_code == 200
    return len(context.captured_queries)


@pytest.mark.django_db
def test_query_count_does_not_grow_with_the_team_or_history(client, django_assert_max_num_queries):
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor()
    ben = make_distributor(sponsor=ann)
    buy(ann, "60", paid_at=timezone.now())
    buy(ben, "60", paid_at=timezone.now())
    client.force_login(ann.user)
    names = ("dashboard", "dashboard_charts", "dashboard_lists")
    small = {name: _count_queries(client, name) for name in names}

    sponsor = ben
    for index in range(12):
        sponsor = make_distributor(sponsor=ann if index % 3 == 0 else sponsor)
        buy(sponsor, "70", paid_at=timezone.now())
        CustomerFactory(distributor=ann)
    customer = CustomerFactory(distributor=ann)
    for _ in range(6):
        buy(ann, "10", paid_at=timezone.now(), customer=customer)
    large = {name: _count_queries(client, name) for name in names}

    assert large == small
    with django_assert_max_num_queries(16):
        client.get(reverse("dashboard"))


@pytest.mark.django_db(transaction=True)
def test_query_count_does_not_grow_with_closed_months(client, settings):
    settings.LADDER_CLOSE_GRACE_HOURS = 0  # last month closes as soon as it ends, any day
    make_plan_version(DASHBOARD_PLAN)
    ann = make_distributor()
    ben = make_distributor(sponsor=ann)
    client.force_login(ann.user)
    names = ("dashboard", "dashboard_charts")
    month = Period.current().previous().previous()
    paid_at = month.start + dt.timedelta(days=5)
    buy(ann, "60", paid_at=paid_at)
    buy(ben, "60", paid_at=paid_at)
    calculate_period(period=month)
    close_period(period=month)
    refresh_projection()  # both counts read the open month from a projection
    one_month = {name: _count_queries(client, name) for name in names}

    for later in (month.next(), Period.current()):
        buy(ben, "80", paid_at=later.start + dt.timedelta(hours=12))
    calculate_period(period=month.next())
    close_period(period=month.next())
    refresh_projection()
    more_months = {name: _count_queries(client, name) for name in names}

    assert more_months == one_month


@pytest.mark.django_db(transaction=True)
def test_month_cards_are_cached_per_projection_and_follow_each_change(client):
    """The cards come from the cache while nothing they show has changed; a new projection,
    a hold or a renamed recruit shows at once."""
    from commissions.services.adjustments import hold_place
    from genealogy.models import Distributor

    ann = _build_example(timezone.now())
    dee = Distributor.objects.get(user__name="Dee Brown")
    refresh_projection()
    client.force_login(ann.user)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as context:
            _page(client, "dashboard")
        counts.append(len(context.captured_queries))
    assert counts[1] < counts[0]  # the second time, month progress and earnings are not read

    buy(dee, "100", paid_at=timezone.now())
    assert 'data-testid="projected-earnings">10.00 USD<' in _page(client, "dashboard")
    refresh_projection()
    assert 'data-testid="projected-earnings">15.00 USD<' in _page(client, "dashboard")

    hold_place(distributor=ann, reason="Review", by=UserFactory(is_staff=True))
    assert "Your earnings are on hold" in _page(client, "dashboard")

    dee.user.name = "Dee Renamed"
    dee.user.save()
    html = _page(client, "dashboard")
    assert "Dee Renamed" in html and "Dee Brown" not in html
