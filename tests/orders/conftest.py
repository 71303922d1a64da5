import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import ProductFactory, make_distributor


@pytest.fixture
def company_zone(settings):
    """A company far from UTC, so that local month ends are not UTC month ends."""
    settings.TIME_ZONE = "America/New_York"
    return dt.timezone(dt.timedelta(hours=-5))


@pytest.fixture
def vitamins():
    return ProductFactory(
        sku="VIT",
        name="Vitamins",
        wholesale_price=Decimal("24.00"),
        retail_price=Decimal("32.00"),
        pv=Decimal("20.00"),
        cv=Decimal("18.00"),
    )


@pytest.fixture
def shake():
    return ProductFactory(
        sku="SHK",
        name="Shake",
        wholesale_price=Decimal("39.99"),
        retail_price=Decimal("52.49"),
        pv=Decimal("32.50"),
        cv=Decimal("29.25"),
    )


@pytest.fixture
def starter_kit():
    return ProductFactory(
        sku="KIT",
        name="Starter kit",
        kind="starter_kit",
        wholesale_price=Decimal("49.00"),
        retail_price=Decimal("49.00"),
        pv=Decimal("0"),
        cv=Decimal("0"),
    )


@pytest.fixture
def distributor():
    return make_distributor(email="ann@example.com")


@pytest.fixture
def other_distributor():
    return make_distributor(email="bob@example.com")
