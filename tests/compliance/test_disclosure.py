"""The income disclosure statement, on a hand-built year of closed periods."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from compliance import disclosure
from compliance.models import DisclosureStatement
from compliance.tasks import generate_income_disclosure_task
from genealogy.models import Distributor, DistributorStatus, TreeChange
from tests.factories import (
    UserFactory,
    closed_period_with_results,
    log_in_with_mfa,
    make_distributor,
    make_plan_version,
)

pytestmark = pytest.mark.django_db
YEAR = 2025


def joined(person, day: dt.date):
    Distributor.objects.filter(pk=person.pk).update(joined_on=day)


def terminated(person, at: dt.datetime):
    Distributor.objects.filter(pk=person.pk).update(status=DistributorStatus.TERMINATED)
    TreeChange.objects.create(kind="termination", distributor=person, reason="Left", at=at)


@pytest.fixture
def year_of_results():
    """Five participants (two earned nothing), one too new, one terminated the year before.

    Earnings 2025 (cents): Ann 15000 (rank 1, one month at it), Ben 2000 (rank 1, one month),
    Cat 0 (no results), Dan 0, Gus 500 (terminated in February 2025: still a participant).
    """
    version = make_plan_version()
    ann, ben, cat, dan, eli, fay, gus = (make_distributor(name=n) for n in "ABCDEFG")
    joined(ann, dt.date(2024, 6, 1))
    joined(ben, dt.date(2025, 1, 15))
    joined(cat, dt.date(2025, 3, 1))
    joined(dan, dt.date(2023, 1, 1))
    joined(eli, dt.date(2026, 1, 5))
    joined(fay, dt.date(2023, 1, 1))
    joined(gus, dt.date(2024, 1, 1))
    terminated(fay, dt.datetime(2024, 11, 10, 12, tzinfo=dt.UTC))
    terminated(gus, dt.datetime(2025, 2, 10, 12, tzinfo=dt.UTC))
    closed_period_with_results(
        dt.date(2025, 1, 1),
        {ann: (10000, 1, 1), ben: (0, 0, 0), dan: (0, 0, 0), gus: (500, 0, 0), fay: (900, 0, 0)},
        plan_version=version,
    )
    closed_period_with_results(
        dt.date(2025, 2, 1),
        {ann: (5000, 0, 1), ben: (2000, 1, 1), dan: (0, 0, 0)},
        plan_version=version,
        status="paid",
    )
    # Calculated but not closed: left out of the statement.
    closed_period_with_results(
        dt.date(2025, 3, 1), {ann: (999999, 1, 1)}, plan_version=version, status="calculated"
    )
    # Another year: left out.
    closed_period_with_results(dt.date(2024, 12, 1), {ann: (777700, 1, 1)}, plan_version=version)


def test_figures_count_every_participant_with_nearest_rank_percentiles(year_of_results):
    source, figures = disclosure.income_disclosure_figures(YEAR)

    assert source.periods == ["2025-01", "2025-02"]
    assert "2025-03" in source.missing_periods
    assert figures["participants"] == 5
    assert (figures["zero_earners"], figures["zero_percent"]) == (2, "40.00")
    assert figures["mean"] == "35.00"
    assert figures["median"] == "5.00"
    assert figures["percentiles"] == {
        "10": "0.00",
        "25": "0.00",
        "50": "5.00",
        "75": "20.00",
        "90": "150.00",
        "99": "150.00",
    }
    no_rank, member = figures["ranks"]
    assert (no_rank["name"], no_rank["participants"], no_rank["share_percent"]) == (
        "No rank",
        3,
        "60.00",
    )
    assert (no_rank["zero_percent"], no_rank["mean"], no_rank["median"]) == (
        "66.67",
        "1.67",
        "0.00",
    )
    assert no_rank["average_months_at_rank"] is None
    assert (member["name"], member["participants"], member["share_percent"]) == (
        "Member",
        2,
        "40.00",
    )
    assert (member["mean"], member["median"], member["average_months_at_rank"]) == (
        "85.00",
        "20.00",
        "1.0",
    )


def test_percentiles_are_observed_amounts_by_nearest_rank():
    values = np.array([0, 0, 0, 100, 250, 1000, 5000, 5000, 12345, 99999], dtype=np.int64)
    figures = disclosure.compute_figures(
        values, np.zeros(10, dtype=np.int64), np.zeros(10, dtype=np.int64), {0: "No rank"}
    )
    # P25 → the 3rd smallest (ceil(2.5)); P50 → the 5th; P75 → the 8th; P99 → the 10th.
    assert figures["percentiles"]["25"] == "0.00"
    assert figures["percentiles"]["50"] == "2.50"
    assert figures["percentiles"]["75"] == "50.00"
    assert figures["percentiles"]["99"] == "999.99"
    assert figures["mean"] == "123.69"  # 123694 / 10 = 12369.4 cents → 12369


def test_generate_stores_a_snapshot_with_its_source(year_of_results):
    staff = UserFactory(is_staff=True)
    statement = disclosure.generate_income_disclosure(year=YEAR, by=staff)

    assert statement.generated_by == staff
    assert statement.source["periods"] == ["2025-01", "2025-02"]
    assert len(statement.source["run_ids"]) == 2
    assert "2025-01, 2025-02" in statement.source["description"]
    assert disclosure.latest_statement(YEAR) == statement


def test_command_generates_the_statement(year_of_results, capsys):
    call_command("generate_income_disclosure", str(YEAR))
    assert "5 participants" in capsys.readouterr().out
    assert DisclosureStatement.objects.filter(year=YEAR).count() == 1


def table_rows(html: str) -> list[list[str]]:
    body = html.split('<table class="table table-sm table-striped', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        rows.append([re.sub(r"\s*%$", "", c.strip()).replace("–", "") for c in cells])
    return rows


def test_public_page_csv_and_print_show_the_same_figures(client, year_of_results):
    disclosure.generate_income_disclosure(year=YEAR)

    page = client.get(reverse("income_disclosure"))
    by_year = client.get(reverse("disclosure_year", args=[YEAR]))
    printable = client.get(reverse("disclosure_print", args=[YEAR]))
    download = client.get(reverse("disclosure_csv", args=[YEAR]))

    assert page.status_code == by_year.status_code == printable.status_code == 200
    html = page.content.decode()
    assert "gross, before business expenses" in html
    assert "40.00 %</strong> of our 5 participants earned nothing" in html
    lines = download.content.decode().splitlines()
    rows = list(
        csv.reader(
            io.StringIO("\n".join(lines[lines.index(",".join(disclosure.CSV_HEADER)) + 1 :]))
        )
    )
    assert [row[1:] for row in rows] == table_rows(html)
    assert table_rows(printable.content.decode()) == table_rows(html)
    assert "@media print" in printable.content.decode()


def test_page_without_a_statement_explains_and_unknown_year_is_404(client, db):
    assert client.get(reverse("income_disclosure")).status_code == 200
    assert client.get(reverse("disclosure_csv", args=[1999])).status_code == 404


def test_only_staff_generate_and_the_task_publishes(
    client, year_of_results, django_capture_on_commit_callbacks
):
    person = make_distributor()
    client.force_login(person.user)
    assert client.post(reverse("disclosure_generate"), {"year": YEAR}).status_code == 404
    staff = UserFactory(is_staff=True)
    client.force_login(staff)  # staff whose session did not pass MFA: sent to set it up
    refused = client.post(reverse("disclosure_generate"), {"year": YEAR})
    assert refused["Location"] == reverse("mfa_activate_totp")
    log_in_with_mfa(client, staff)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(reverse("disclosure_generate"), {"year": YEAR})
    assert len(callbacks) == 1  # the non-staff post queued nothing
    assert not DisclosureStatement.objects.exists()

    generate_income_disclosure_task(year=YEAR, user_id=staff.pk)

    assert DisclosureStatement.objects.get().generated_by == staff
