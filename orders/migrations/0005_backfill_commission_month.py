"""Existing orders and refunds keep their own month: the company-time-zone month of `paid_at`
(`refunded_at`), set-based on PostgreSQL (one UPDATE per table)."""

from django.conf import settings
from django.db import migrations

TABLES = (
    ("orders_order", "paid_at"),
    ("orders_orderline", "paid_at"),
    ("orders_refund", "refunded_at"),
    ("orders_refundline", "refunded_at"),
)
MODELS = (("Order", "paid_at"), ("OrderLine", "paid_at"), ("Refund", "refunded_at"))
MODELS += (("RefundLine", "refunded_at"),)


def own_month(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table, moment in TABLES:
                cursor.execute(
                    f"UPDATE {table} SET commission_month = "  # noqa: S608 (fixed names)
                    f"date_trunc('month', {moment} AT TIME ZONE %s)::date "
                    f"WHERE {moment} IS NOT NULL AND commission_month IS NULL",
                    [settings.TIME_ZONE],
                )
        return
    # Portable path (SQLite in `make run`): small databases, in Python.
    import zoneinfo

    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    for name, moment in MODELS:
        model = apps.get_model("orders", name)
        rows = model.objects.filter(**{f"{moment}__isnull": False, "commission_month": None})
        batch = []
        for row in rows.only("pk", moment).iterator(chunk_size=2000):
            row.commission_month = getattr(row, moment).astimezone(zone).date().replace(day=1)
            batch.append(row)
            if len(batch) >= 2000:
                model.objects.bulk_update(batch, ["commission_month"])
                batch = []
        model.objects.bulk_update(batch, ["commission_month"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_commission_month"),
    ]

    operations = [
        migrations.RunPython(own_month, migrations.RunPython.noop, elidable=True),
    ]
