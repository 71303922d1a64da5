"""Imports refuse what the forms refuse: a terminated sponsor (import_genealogy), a retail price
below wholesale and volume out of proportion to the price (load_catalog), and a file that is not
UTF-8 (every import), each with the line it is on, all or nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from core.csv import first_undecodable
from genealogy.imports import import_genealogy
from genealogy.models import Distributor, DistributorStatus
from orders.models import Product
from tests.factories import ProductFactory, house, make_distributor

pytestmark = pytest.mark.django_db

GENEALOGY_HEADER = "number,sponsor_number,name,email,joined,status\n"
CATALOG_HEADER = "sku,name,kind,wholesale_price,retail_price,pv,cv\n"


def write(tmp_path, text: str | bytes, name: str = "file.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


# --- import_genealogy: terminated sponsors ---------------------------------------------------


def test_a_sponsor_terminated_in_the_database_is_refused_and_nothing_is_imported():
    house()
    gone = make_distributor(status=DistributorStatus.TERMINATED)
    before = Distributor.objects.count()

    report = import_genealogy(
        io.StringIO(
            GENEALOGY_HEADER + "40000001,,Fine Person,fine@example.org,2025-01-01,active\n"
            f"40000002,{gone.number},Late Recruit,late@example.org,2025-02-01,active\n"
        )
    )

    assert [(e.line, e.reason) for e in report.errors] == [
        (
            3,
            f"sponsor_number {gone.number} is terminated (the database): a terminated "
            "distributor cannot sponsor anyone; give the row an active sponsor (or the house)",
        )
    ]
    assert Distributor.objects.count() == before


def test_a_sponsor_terminated_in_the_same_file_is_refused_on_the_recruits_line(tmp_path):
    house()
    path = write(
        tmp_path,
        GENEALOGY_HEADER + "40000003,40000001,Their Recruit,recruit@example.org,2025-03-01,active\n"
        "40000001,,Gone Sponsor,gone@example.org,2025-01-01,terminated\n",
    )

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_genealogy", path)

    assert not Distributor.objects.filter(number__in=[40000001, 40000003]).exists()
    report = import_genealogy(open(path, encoding="utf-8"), dry_run=True)  # noqa: SIM115
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (2, "sponsor_number 40000001 is terminated (line 3)")
    ]


def test_active_and_inactive_sponsors_still_import():
    house()
    inactive = make_distributor(status=DistributorStatus.INACTIVE)

    report = import_genealogy(
        io.StringIO(
            GENEALOGY_HEADER
            + f"40000005,{inactive.number},Under Inactive,ui@example.org,2025-01-01,active\n"
        )
    )

    assert report.errors == [] and report.created == 1


# --- load_catalog: prices and volume ----------------------------------------------------------


def test_retail_below_wholesale_is_refused_by_the_import_and_the_model(tmp_path):
    path = write(
        tmp_path,
        CATALOG_HEADER + "OK-1,Fine,product,20.00,30.00,10,10\n"
        "LOW-1,Cheap retail,product,30.00,29.99,10,10\n",
    )

    with pytest.raises(CommandError) as error:
        call_command("load_catalog", path)

    assert "line 3 (LOW-1)" in str(error.value)
    assert "retail price (29.99) is below the wholesale price (30.00)" in str(error.value)
    assert not Product.objects.exists()
    product = ProductFactory.build(wholesale_price=Decimal("30.00"), retail_price=Decimal("29.99"))
    with pytest.raises(ValidationError, match="below the wholesale price"):
        product.full_clean()


def test_volume_out_of_proportion_to_price_is_refused_unless_allowed(tmp_path):
    path = write(
        tmp_path,
        CATALOG_HEADER + "OK-1,Fine,product,20.00,30.00,20,18\n"
        "PV-1,Typo in PV,product,20.00,30.00,200,18\n"
        "CV-1,Typo in CV,product,20.00,30.00,20,20.01\n",
    )

    with pytest.raises(CommandError) as error:
        call_command("load_catalog", path)

    message = str(error.value)
    assert "line 3 (PV-1): pv 200 is out of proportion to the wholesale price 20.00" in message
    assert "line 4 (CV-1): cv 20.01 is out of proportion" in message
    assert "line 2" not in message
    assert not Product.objects.exists()

    call_command("load_catalog", path, "--allow-volume-above-price")

    assert Product.objects.get(sku="PV-1").pv == Decimal("200")


def test_the_volume_ceiling_is_a_setting(tmp_path, settings):
    path = write(tmp_path, CATALOG_HEADER + "PV-2,Double points,product,20.00,30.00,40,40\n")
    settings.LADDER_CATALOG_MAX_VOLUME_PER_PRICE = "2.00"

    call_command("load_catalog", path)

    assert Product.objects.get(sku="PV-2").cv == Decimal("40")
    settings.LADDER_CATALOG_MAX_VOLUME_PER_PRICE = "lots"
    with pytest.raises(ImproperlyConfigured, match="LADDER_CATALOG_MAX_VOLUME_PER_PRICE"):
        call_command("load_catalog", path)


# --- Files that are not UTF-8 -----------------------------------------------------------------


def test_a_file_that_turns_out_not_to_be_utf8_deep_inside_loads_nothing(tmp_path):
    good = "".join(f"SKU-{i:04d},Product {i},product,20.00,30.00,10,10\n" for i in range(2000))
    data = (CATALOG_HEADER + good).encode() + "BAD-1,Crème,product,20.00,30.00,10,10\n".encode(
        "cp1252"
    )
    path = write(tmp_path, data)

    with pytest.raises(CommandError) as error:
        call_command("load_catalog", path)

    assert "is not UTF-8: line 2002, byte 9 of the line" in str(error.value)
    assert "0xe8" in str(error.value)
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ("a,b\nd\u00e9j\u00e0,ok\n".encode(), None),  # UTF-8 accents are fine
        ("\ufeffa,b\n".encode() + b"ok,\xff\n", (2, 4, 11, 0xFF)),  # after a byte-order mark
        ("é,b\n".encode() + b"x\xc3\n", (2, 2, 7, 0xC3)),  # a sequence cut short
    ],
)
def test_the_first_undecodable_byte_is_found_by_line_and_position(tmp_path, data, found):
    assert first_undecodable(write(tmp_path, data)) == found
