from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_backfill_commission_month"),
    ]

    operations = [
        migrations.AlterField(
            model_name="refund",
            name="commission_month",
            field=models.DateField(
                editable=False,
                help_text="First day of the month the refund's negative volume counts in: the "
                "month of refunded_at while it is open, else the first open month after it.",
                verbose_name="commission period",
            ),
        ),
        migrations.AlterField(
            model_name="refundline",
            name="commission_month",
            field=models.DateField(editable=False),
        ),
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(fields=["commission_month"], name="order_line_month_idx"),
        ),
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(
                fields=["distributor", "commission_month"], name="order_line_by_dist_month_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="refundline",
            index=models.Index(fields=["commission_month"], name="refund_line_month_idx"),
        ),
        migrations.AddIndex(
            model_name="refundline",
            index=models.Index(
                fields=["distributor", "commission_month"], name="refund_line_by_dist_month_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("commission_month__isnull", True), ("paid_at__isnull", True)),
                    models.Q(
                        ("commission_month__day", 1),
                        ("commission_month__isnull", False),
                        ("paid_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="order_paid_has_commission_month",
            ),
        ),
        migrations.AddConstraint(
            model_name="orderline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("commission_month__isnull", True), ("paid_at__isnull", True)),
                    models.Q(
                        ("commission_month__day", 1),
                        ("commission_month__isnull", False),
                        ("paid_at__isnull", False),
                    ),
                    _connector="OR",
                ),
                name="order_line_paid_has_commission_month",
            ),
        ),
    ]
