"""The company's root ("house") distributor: everyone without another sponsor sits under it."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations
from django.utils import timezone

HOUSE_EMAIL = "house@ladder.invalid"
HOUSE_NUMBER = 10_000_000
HOUSE_CODE = "HOUSE"


def create_house(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Distributor = apps.get_model("genealogy", "Distributor")
    if Distributor.objects.filter(is_house=True).exists():
        return
    user = User.objects.create(
        email=HOUSE_EMAIL,
        name=settings.LADDER_COMPANY_NAME,
        password=make_password(None),
        is_active=False,
    )
    Distributor.objects.create(
        user=user,
        number=HOUSE_NUMBER,
        referral_code=HOUSE_CODE,
        sponsor=None,
        parent=None,
        is_house=True,
        lft=1,
        rght=2,
        tree_id=1,
        level=0,
        placed_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("genealogy", "0001_initial"),
        ("accounts", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_house, migrations.RunPython.noop)]
