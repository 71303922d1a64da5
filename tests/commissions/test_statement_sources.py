"""A statement line's explanation lists every source (paged) and its sums add up as shown;
the statement CSV has one row per source."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from commissions.models import CommissionLine, DistributorResult, LineKind
from commissions.selectors import EXPLAINED_SOURCES
from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from tests.commissions.conftest import PAID_AT, PERIOD
from tests.factories import buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)


def close_the_month() -> None:
    make_plan_version()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)


def level_one(person) -> CommissionLine:
    return CommissionLine.objects.get(earner=person, kind=LineKind.UNILEVEL, level=1)


def explain(client, line, **query) -> str:
    url = reverse("earnings_line", args=[str(PERIOD), line.pk])
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def statement_rows(client) -> list[dict[str, str]]:
    response = client.get(reverse("earnings_statement_csv", args=[str(PERIOD)]))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def rounding_team(db):
    """Ann (active) with two recruits of 100.10 CV each: 5 % of each is 5.005, so 5.01 each,
    10.02 in all, where 5 % of the 200.20 total would be 10.01."""
    ann = make_distributor(name="Ann Avery")
    buy(ann, "100", paid_at=PAID_AT)
    recruits = [make_distributor(sponsor=ann, name=f"Rex Recruit{i}") for i in range(2)]
    for recruit in recruits:
        buy(recruit, "100.10", paid_at=PAID_AT)
    close_the_month()
    return ann, recruits


def test_the_explanation_adds_up_and_says_each_source_was_rounded(client, rounding_team):
    ann, recruits = rounding_team
    client.force_login(ann.user)
    line = level_one(ann)
    assert line.amount == 1002  # the engine's per-source rounding

    html = explain(client, line)

    assert html.count("5 % of 100.10 CV from Rex Recruit") == 2
    assert html.count("= 5.01 USD") == 2
    assert "All 2 sources: 200.20 CV, 10.02 USD</strong> = the line's 10.02 USD" in html
    assert "rounded to the cent on its own before summing" in html
    statement = client.get(reverse("earnings_statement", args=[str(PERIOD)])).content.decode()
    assert "each source rounded to the cent before summing" in statement


def test_the_statement_csv_has_one_row_per_source_and_adds_up(client, rounding_team):
    ann, recruits = rounding_team
    client.force_login(ann.user)

    rows = statement_rows(client)

    unilevel = [r for r in rows if r["kind"] == "Unilevel"]
    assert sorted(int(r["source_number"]) for r in unilevel) == sorted(r.number for r in recruits)
    assert {r["amount"] for r in unilevel} == {"5.01"}
    assert {r["rate_percent"] for r in unilevel} == {"5"}
    total = DistributorResult.objects.get(distributor=ann, run__period__month=PERIOD.first_day)
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(total.period_total) / 100


def test_every_source_is_shown_page_by_page(client, db):
    # Given a line with more sources than one page holds
    ann = make_distributor(name="Ann Avery")
    buy(ann, "100", paid_at=PAID_AT)
    count = EXPLAINED_SOURCES + 3
    for i in range(count):
        buy(make_distributor(sponsor=ann, name=f"Sid Source{i:03d}"), "10", paid_at=PAID_AT)
    close_the_month()
    client.force_login(ann.user)
    line = level_one(ann)

    # When the person reads the first and the second page
    first = explain(client, line)
    second = explain(client, line, page=2)

    # Then every source appears once over the pages, and the sums cover all of them
    shown = [
        first.count(f"Sid Source{i:03d} (#") + second.count(f"Sid Source{i:03d} (#")
        for i in range(count)
    ]
    assert shown == [1] * count
    assert f"All {count} sources: {count * 10:.2f} CV, {count * Decimal('0.5'):.2f} USD" in first
    assert "page=2" in first and "Page 1 of 2" in first and "Page 2 of 2" in second
    assert len([r for r in statement_rows(client) if r["kind"] == "Unilevel"]) == count
