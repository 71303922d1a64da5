"""The binary carry queue and figures of a final run are immutable like its results and lines:
on PostgreSQL the same statement triggers (``commissions_refuse_final_run_rows``, migration
0002) refuse UPDATE and DELETE of a final run's rows. SQLite (`make run`) skips them."""

from django.db import migrations

TABLES = ("commissions_binarycarry", "commissions_binarylegfigures")

GUARDS_SQL = "\n".join(
    f"""
CREATE TRIGGER {table}_final_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();
CREATE TRIGGER {table}_final_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION commissions_refuse_final_run_rows();
"""
    for table in TABLES
)
DROP_GUARDS_SQL = "\n".join(
    f"DROP TRIGGER IF EXISTS {table}_final_update ON {table};\n"
    f"DROP TRIGGER IF EXISTS {table}_final_delete ON {table};"
    for table in TABLES
)


def add_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARDS_SQL, params=None)


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GUARDS_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("commissions", "0006_rank_grace_and_overrides"),
    ]

    operations = [migrations.RunPython(add_guards, drop_guards)]
