"""Beat's outbox relay every 30 seconds (editable in the admin), and the database table the
rate limits count in while Redis is down (Django's DatabaseCache, so `migrate` is enough)."""

from django.core.management import call_command
from django.db import migrations

TASK = "outbox.relay"
CACHE_TABLE = "ladder_cache_fallback"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30_seconds, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Publish tasks waiting in the outbox",
        defaults={"task": TASK, "interval": every_30_seconds, "enabled": True},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    quoted = schema_editor.quote_name(CACHE_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {quoted}")


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_outbox_task"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
