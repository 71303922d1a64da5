"""Room on every page of both trees' tables, so that the stored downline counts a placement adds
to each upline are written as heap-only tuples (no index entry rewritten: `descendants` and
`child_count` are in no index). Applies to pages written from now on (the bulk
builders' COPY included); `VACUUM FULL` rewrites existing pages with it."""

from django.db import migrations

TABLES = ("genealogy_placement", "genealogy_distributor")


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("genealogy", "0010_distributor_rght_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
