from django.db import migrations, models


class Migration(migrations.Migration):
    """The commission period each order, order line, refund and refund line counts in
    (nullable here; 0005 fills existing rows, 0006 makes the refund columns required)."""

    dependencies = [
        ("orders", "0003_customer_phone_e164_name_email_hygiene"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="commission_month",
            field=models.DateField(
                blank=True,
                editable=False,
                help_text="First day of the month the volume counts in, set at payment: the month "
                "of paid_at while it is open, else the first open month after it.",
                null=True,
                verbose_name="commission period",
            ),
        ),
        migrations.AddField(
            model_name="orderline",
            name="commission_month",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="refund",
            name="commission_month",
            field=models.DateField(
                editable=False,
                help_text="First day of the month the refund's negative volume counts in: the "
                "month of refunded_at while it is open, else the first open month after it.",
                null=True,
                verbose_name="commission period",
            ),
        ),
        migrations.AddField(
            model_name="refundline",
            name="commission_month",
            field=models.DateField(editable=False, null=True),
        ),
    ]
