import csv
import io
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts.models import User
from genealogy.imports import EXPORT_COLUMNS, import_genealogy, rows_for_export
from genealogy.models import Distributor, DistributorStatus, TreeChange, TreeChangeKind
from tests.factories import assert_tree_matches_sponsor_links, house, make_chain, make_distributor

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "genealogy-import-example.csv"
HEADER = "number,sponsor_number,name,email,joined,status\n"


def run(text: str, **options):
    return import_genealogy(io.StringIO(text), **options)


def by_number(number: int) -> Distributor:
    return Distributor.objects.select_related("user", "sponsor").get(number=number)


def test_the_example_file_imports_everyone_placed_under_their_sponsors(capsys):
    house()
    call_command("import_genealogy", str(EXAMPLE))
    assert "Imported 10 distributors" in capsys.readouterr().out
    assert Distributor.objects.count() == 11
    # A sponsor listed after their recruits, and the house by number or by an empty cell
    assert by_number(20000003).sponsor.number == 20000001
    assert by_number(20000001).sponsor.is_house and by_number(20000002).sponsor.is_house
    assert by_number(20000009).level == 5
    assert by_number(20000006).status == DistributorStatus.TERMINATED
    assert not Distributor.objects.filter(placed_at__isnull=True).exists()
    assert_tree_matches_sponsor_links()
    # Imported people cannot log in until they reset their password; emails are unverified
    user = by_number(20000001).user
    assert not user.has_usable_password()
    assert not EmailAddress.objects.get(user=user).verified
    assert TreeChange.objects.filter(kind=TreeChangeKind.IMPORT).count() == 10
    assert len(set(Distributor.objects.values_list("referral_code", flat=True))) == 11


def test_siblings_are_ordered_by_joining_date_whatever_the_file_order():
    house()
    run(
        HEADER + "30000002,,Late Joiner,late@example.org,2025-06-01,active\n"
        "30000001,,Early Joiner,early@example.org,2025-01-01,active\n"
    )
    assert by_number(30000001).lft < by_number(30000002).lft


def test_a_dry_run_checks_and_writes_nothing(capsys):
    house()
    call_command("import_genealogy", str(EXAMPLE), dry_run=True)
    assert "10 rows are good" in capsys.readouterr().out
    assert Distributor.objects.count() == 1
    assert not TreeChange.objects.filter(kind=TreeChangeKind.IMPORT).exists()


def test_every_bad_row_is_reported_with_its_line_and_nothing_is_written():
    # Given a file with one problem of each kind (and a good row between them)
    make_distributor(email="taken@example.org")
    existing_number = Distributor.objects.exclude(is_house=True).get().number
    text = (
        HEADER
        + "40000001,,Good Person,good@example.org,2025-01-01,active\n"  # line 2
        + "40000002,99999999,Lost Sponsor,lost@example.org,2025-01-01,active\n"  # 3
        + "40000003,40000004,Loop A,loopa@example.org,2025-01-01,active\n"  # 4
        + "40000004,40000003,Loop B,loopb@example.org,2025-01-01,active\n"  # 5
        + "40000005,40000003,Below Loop,below@example.org,2025-01-01,active\n"  # 6
        + "40000006,,Twin One,twin1@example.org,2025-01-01,active\n"  # 7
        + "40000006,,Twin Two,twin2@example.org,2025-01-01,active\n"  # 8
        + "40000008,,Same Mail,good@EXAMPLE.org,2025-01-01,active\n"  # 9
        + f"{existing_number},,Number Taken,numtaken@example.org,2025-01-01,active\n"  # 10
        + "40000010,,Mail Taken,taken@example.org,2025-01-01,active\n"  # 11
        + "40000011,,Bad Date,baddate@example.org,2025-02-30,active\n"  # 12
        + "40000012,,Bad Status,badstatus@example.org,2025-01-01,retired\n"  # 13
        + "40000013,,,noname@example.org,2025-01-01,active\n"  # 14
        + "40000014,,No Mail,,2025-01-01,active\n"  # 15
        + "abc,,Bad Number,badnumber@example.org,2025-01-01,active\n"  # 16
        + "40000016,,Bad Mail,not-an-email,2025-01-01,active\n"  # 17
        + "40000017,40000017,Own Sponsor,own@example.org,2025-01-01,active\n"  # 18
        + "40000018,,Short Row\n"  # 19
    )
    users_before = User.objects.count()
    # When it is imported
    report = run(text)
    # Then each problem is reported on its line, and nothing is written
    assert {e.line for e in report.errors} == set(range(2, 20))  # line 2 has a twin email
    messages = "\n".join(f"{e.line}: {e.reason}" for e in report.errors)
    for expected in [
        "3: unknown sponsor_number 99999999",
        "4: sponsor loop",
        "5: sponsor loop",
        "6: the sponsor chain leads into a sponsor loop",
        "7: duplicate number 40000006",
        "8: duplicate number 40000006 (also on line 7)",
        "9: duplicate email good@example.org (also on line 2)",
        f"10: number {existing_number} already belongs",
        "11: email taken@example.org already belongs",
        "12: bad joined date",
        "13: bad status 'retired'",
        "14: missing name",
        "15: missing email",
        "16: bad number 'abc'",
        "17: bad email",
        "18: sponsor loop",
        "19: missing email",
    ]:
        assert expected in messages
    assert report.created == 0
    assert User.objects.count() == users_before
    assert Distributor.objects.count() == 2  # the house and the person made above


def test_a_file_without_the_required_header_is_refused(tmp_path):
    house()
    report = run("number,name\n1,Someone\n")
    assert [(e.line, e.reason) for e in report.errors] == [
        (1, "the header lacks the column(s) sponsor_number, email, joined, status")
    ]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_genealogy", str(empty))


def test_people_can_be_imported_under_distributors_already_in_the_company():
    chain = make_chain(2)
    report = run(
        HEADER + f"50000001,{chain[1].number},New Person,new@example.org,2025-01-01,active\n"
    )
    assert report.created == 1
    assert by_number(50000001).parent_id == chain[1].pk
    assert_tree_matches_sponsor_links()


def test_an_export_reads_back_into_an_empty_company_unchanged():
    # Given a company with a few levels, exported with the team-list CSV rows
    people = make_chain(3)
    make_distributor(sponsor=people[0], email="Mixed.Case@Example.org")
    make_distributor(sponsor=people[1], status=DistributorStatus.INACTIVE)
    exported = Distributor.objects.exclude(is_house=True).order_by("lft")
    before = sorted(rows_for_export(exported))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(before)
    # When the company is emptied (to the house) and the file is imported back
    ids = list(exported.values_list("id", "user_id"))
    with connection.cursor() as cursor:
        # Their history goes too (the append-only trigger is lifted for this emptying only).
        postgresql = connection.vendor == "postgresql"
        trigger = "genealogy_treechange_append_only"
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks, then ALTER
            cursor.execute(f"ALTER TABLE genealogy_treechange DISABLE TRIGGER {trigger}")
        cursor.execute(
            "DELETE FROM genealogy_treechange WHERE distributor_id IN"
            " (SELECT id FROM genealogy_distributor WHERE NOT is_house)"
        )
        cursor.execute("DELETE FROM genealogy_distributor WHERE NOT is_house")
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE genealogy_treechange ENABLE TRIGGER {trigger}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    EmailAddress.objects.filter(user_id__in=[u for _, u in ids]).delete()
    User.objects.filter(id__in=[u for _, u in ids]).delete()
    report = run(buffer.getvalue())
    # Then the same people, sponsors, statuses and levels come back
    assert report.is_valid, report.errors
    after = sorted(rows_for_export(Distributor.objects.exclude(is_house=True)))
    lowercase_emails = [[*row[:3], row[3].lower(), *row[4:]] for row in before]
    assert after == sorted(lowercase_emails)
    assert_tree_matches_sponsor_links()
