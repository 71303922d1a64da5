"""Rates with six decimals of a percent (engine 1.2.0): ledger lines get ``rate_units`` (1e-8 of
1, 100 % = 100,000,000), written by new runs; ``rate_ppm`` (parts per million of 1) becomes
nullable and stays as it is on every line already posted (no data is rewritten: a final run's
lines are immutable, migration 0002). A line has exactly one of the two
(``line_rate_in_one_unit``).

Every step is instant on a large ledger: a nullable column without a default and DROP NOT NULL
change only the catalog, and on PostgreSQL the check constraint is added NOT VALID (new and
updated rows are checked; existing rows, which all have rate_ppm and no rate_units, are not
scanned under the table lock). SQLite (`make run`) adds it the ordinary way.
"""

from django.db import migrations, models

CONSTRAINT = models.CheckConstraint(
    condition=models.Q(rate_ppm__isnull=True, rate_units__isnull=False)
    | models.Q(rate_ppm__isnull=False, rate_units__isnull=True),
    name="line_rate_in_one_unit",
)
POSTGRES_ADD = """
ALTER TABLE commissions_commissionline ADD CONSTRAINT line_rate_in_one_unit CHECK (
    (rate_ppm IS NULL AND rate_units IS NOT NULL) OR (rate_ppm IS NOT NULL AND rate_units IS NULL)
) NOT VALID;
"""
POSTGRES_DROP = "ALTER TABLE commissions_commissionline DROP CONSTRAINT line_rate_in_one_unit;"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_ADD)
    else:
        schema_editor.add_constraint(apps.get_model("commissions", "CommissionLine"), CONSTRAINT)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    else:
        schema_editor.remove_constraint(apps.get_model("commissions", "CommissionLine"), CONSTRAINT)


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0009_binary_pairing_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="commissionline",
            name="rate_units",
            field=models.IntegerField(
                help_text="Rate in 1e-8 of 1, 100 % = 100,000,000 (lines from engine 1.2.0), "
                "else empty.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="commissionline",
            name="rate_ppm",
            field=models.IntegerField(
                help_text="Rate in parts per million of 1 (lines of runs before engine 1.2.0), "
                "else empty.",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="binarylegfigures",
            name="paid",
            field=models.BigIntegerField(
                help_text="Pay before the payout cap: cents from engine 1.2.0 (raw 1e-6 cent "
                "before)."
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(model_name="commissionline", constraint=CONSTRAINT)
            ],
            database_operations=[migrations.RunPython(add_constraint, drop_constraint)],
        ),
    ]
