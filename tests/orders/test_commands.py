import datetime as dt
import zoneinfo
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.periods import Period
from orders.models import Order, OrderStatus, Product
from orders.volume import period_totals
from tests.factories import CustomerFactory, make_distributor

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[2] / "docs"
HEADER = "external_number,distributor_number,customer_email,sku,quantity,paid_at,purpose\n"


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_load_catalog_example_file_creates_then_updates(tmp_path):
    call_command("load_catalog", str(DOCS / "catalog-example.csv"))
    assert Product.objects.count() == 4
    assert Product.objects.get(sku="KIT-001").pv == 0
    changed = (DOCS / "catalog-example.csv").read_text().replace("24.00,32.00", "25.00,33.00")
    call_command("load_catalog", write(tmp_path, "c.csv", changed))
    assert Product.objects.get(sku="VIT-100").wholesale_price == Decimal("25.00")
    assert Product.objects.count() == 4


def test_load_catalog_reports_every_bad_row_and_loads_nothing(tmp_path):
    text = (
        "sku,name,kind,wholesale_price,retail_price,pv,cv,is_active\n"
        "A-1,Good,product,1.00,2.00,1,1,true\n"
        "A-2,Kit with volume,starter_kit,1.00,2.00,5,5,true\n"
        "A-3,Bad price,product,abc,2.00,1,1,true\n"
        "A-4,Negative,product,-1.00,2.00,1,1,true\n"
        "A-1,Duplicate,product,1.00,2.00,1,1,true\n"
        "A-5,Bad kind,gadget,1.00,2.00,1,1,maybe\n"
        ",No sku,product,1.00,2.00,1,1,true\n"
        "A-6,Three decimals,product,1.005,2.00,1,1,true\n"
    )
    with pytest.raises(CommandError) as error:
        call_command("load_catalog", write(tmp_path, "bad.csv", text))
    message = str(error.value)
    for expected in [
        "line 3 (A-2)",
        "no volume",
        "line 4 (A-3)",
        "not a number",
        "line 5 (A-4)",
        "negative",
        "line 6: SKU A-1 already on line 2",
        "line 7 (A-5)",
        "kind must be one of",
        "is_active",
        "line 8: the SKU is empty",
        "line 9 (A-6)",
        "two decimals",
    ]:
        assert expected in message
    assert not Product.objects.exists()


def test_load_catalog_dry_run_writes_nothing(tmp_path):
    call_command("load_catalog", str(DOCS / "catalog-example.csv"), dry_run=True)
    assert not Product.objects.exists()


@pytest.fixture
def import_world(company_zone):
    call_command("load_catalog", str(DOCS / "catalog-example.csv"))
    person = make_distributor()
    CustomerFactory(distributor=person, email="carla@example.net")
    return person


def example_for(person) -> str:
    return (DOCS / "orders-import-example.csv").read_text().replace("10000001", str(person.number))


def test_import_is_idempotent_and_counts_volume_in_the_paid_month(tmp_path, import_world):
    path = write(tmp_path, "orders.csv", example_for(import_world))

    call_command("import_orders", path)
    call_command("import_orders", path)

    assert Order.objects.count() == 2
    first = Order.objects.get(external_number="SHOP-1001")
    assert first.status == OrderStatus.PAID
    assert first.lines.count() == 2
    assert first.payment_reference == "SHOP-1001"
    zone = zoneinfo.ZoneInfo("America/New_York")
    assert first.paid_at == dt.datetime(2026, 3, 31, 23, 30, tzinfo=zone)
    march = period_totals(Period(2026, 3)).for_distributor(import_world.pk)
    assert march["personal_pv"] == 2 * 2000 + 2400
    retail = Order.objects.get(external_number="SHOP-1002")
    assert retail.customer.email == "carla@example.net"
    assert retail.paid_at == dt.datetime(2026, 4, 2, 10, 15, tzinfo=zone)


def test_import_dry_run_writes_nothing(tmp_path, import_world):
    call_command("import_orders", write(tmp_path, "o.csv", example_for(import_world)), dry_run=True)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",{n},,VIT-100,1,2026-03-01T10:00,personal", "line 3: external_number is empty"),
        ("X-2,99999999,,VIT-100,1,2026-03-01T10:00,personal", "no distributor has the number"),
        ("X-2,abc,,VIT-100,1,2026-03-01T10:00,personal", "is not a number"),
        ("X-2,{n},,NOPE,1,2026-03-01T10:00,personal", "no product has the SKU"),
        ("X-2,{n},,VIT-100,zero,2026-03-01T10:00,personal", "not a whole number"),
        ("X-2,{n},,VIT-100,0,2026-03-01T10:00,personal", "between 1 and 100"),
        ("X-2,{n},,VIT-100,101,2026-03-01T10:00,personal", "between 1 and 100"),
        ("X-2,{n},,VIT-100,1,yesterday,personal", "not an ISO 8601"),
        ("X-2,{n},,VIT-100,1,2999-01-01T10:00,personal", "in the future"),
        ("X-2,{n},,VIT-100,1,2026-03-01T10:00,gift", "purpose must be"),
        ("X-2,{n},,VIT-100,1,2026-03-01T10:00,retail", "needs the customer's email"),
        ("X-2,{n},carla@example.net,VIT-100,1,2026-03-01T10:00,personal", "has no customer_email"),
        ("X-2,{n},ghost@example.net,VIT-100,1,2026-03-01T10:00,retail", "has no customer"),
        ("X-1,{n},,OMG-200,1,2026-03-02T10:00,personal", "paid_at differs from line 2"),
        ("X-1,{n},,VIT-100,1,2026-03-01T10:00,personal", "appears twice"),
    ],
)
def test_import_bad_rows_are_reported_by_line_and_nothing_is_written(
    tmp_path, import_world, row, message
):
    good = f"X-1,{import_world.number},,VIT-100,1,2026-03-01T10:00,personal\n"
    text = HEADER + good + row.format(n=import_world.number) + "\n"
    with pytest.raises(CommandError, match=message):
        call_command("import_orders", write(tmp_path, "bad.csv", text))
    assert not Order.objects.exists()


def test_import_refuses_a_terminated_distributor_and_an_inactive_product(tmp_path, import_world):
    Product.objects.filter(sku="OMG-200").update(is_active=False)
    text = HEADER + f"X-1,{import_world.number},,OMG-200,1,2026-03-01T10:00,personal\n"
    with pytest.raises(CommandError, match="line 2 .order X-1.: .*no longer sold"):
        call_command("import_orders", write(tmp_path, "bad.csv", text))
    terminated = make_distributor(status="terminated")
    text = HEADER + f"X-1,{terminated.number},,VIT-100,1,2026-03-01T10:00,personal\n"
    with pytest.raises(CommandError, match="terminated"):
        call_command("import_orders", write(tmp_path, "bad2.csv", text))


def test_seed_orders_builds_consistent_volume(company_zone):
    from orders.demo import seed_orders
    from orders.models import OrderLine, RefundLine
    from tests.factories import make_chain

    make_chain(30)
    now = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
    result = seed_orders(months=2, lines_per_distributor=3, seed=3, now=now)
    assert result["lines"] > 0
    for order in Order.objects.prefetch_related("lines")[:50]:
        assert order.total_amount == sum(line.amount for line in order.lines.all())
    paid_lines = OrderLine.objects.filter(paid_at__isnull=False)
    assert paid_lines.count() > 0
    assert not OrderLine.objects.filter(kind="starter_kit", pv__gt=0).exists()
    totals = period_totals(Period(2026, 3))
    assert totals.pv.sum() > 0
    assert RefundLine.objects.count() == result["refunds"]
