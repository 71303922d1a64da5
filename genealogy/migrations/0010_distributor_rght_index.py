from django.db import migrations, models

UNIVERSE = 1 << 62  # genealogy.labels.UNIVERSE (a migration keeps its own copy)


def spread_dense_labels(apps, schema_editor):
    """The old numbering used 1..2n; gapped labels want room between neighbours. Multiplying
    every label by one step keeps the nesting exactly and spreads it over the universe."""
    Distributor = apps.get_model("genealogy", "Distributor")
    placed = Distributor.objects.filter(tree_id=1)
    count = placed.count()
    highest = placed.aggregate(models.Max("rght"))["rght__max"] or 0
    if count == 0 or highest > 4 * count:  # already gapped
        return
    step = (UNIVERSE - 1) // (highest + 1)
    placed.update(lft=models.F("lft") * step, rght=models.F("rght") * step)


class Migration(migrations.Migration):
    dependencies = [
        ("genealogy", "0009_placement_tree_and_history"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="distributor",
            index=models.Index(fields=["tree_id", "rght"], name="distributor_tree_rght_idx"),
        ),
        migrations.RunPython(spread_dense_labels, migrations.RunPython.noop),
    ]
