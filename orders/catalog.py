"""Catalog rules beyond one field: volume in proportion to the price.

A product's PV and CV are points per unit sold. More points than the wholesale price (times
`LADDER_CATALOG_MAX_VOLUME_PER_PRICE`, 1.00 by default) is a typing mistake, or a plan that
pays on volume nobody paid for; `load_catalog` refuses it unless told it is meant
(`--allow-volume-above-price`).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .models import Product


def max_volume_per_price() -> Decimal:
    text = str(settings.LADDER_CATALOG_MAX_VOLUME_PER_PRICE)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(
            f"LADDER_CATALOG_MAX_VOLUME_PER_PRICE must be a number of 0 or more, not {text!r}."
        )
    return value


def volume_above_price(product: Product, *, limit: Decimal | None = None) -> dict[str, str]:
    """{field: message} for the PV and CV of `product` above `limit` × its wholesale price."""
    limit = max_volume_per_price() if limit is None else limit
    ceiling = (product.wholesale_price or Decimal("0")) * limit
    problems = {}
    for field in ("pv", "cv"):
        volume = getattr(product, field) or Decimal("0")
        if volume > ceiling:
            problems[field] = (
                f"{field} {volume} is out of proportion to the wholesale price "
                f"{product.wholesale_price} (at most {limit} per unit of price, "
                f"LADDER_CATALOG_MAX_VOLUME_PER_PRICE; --allow-volume-above-price if meant)"
            )
    return problems
