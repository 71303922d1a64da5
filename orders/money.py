"""Money and volume arithmetic for orders (rounded by ``core.money``, the one quantizer).

Money is `Decimal` in the company's one currency (`settings.LADDER_CURRENCY`), quantized to
`MONEY_QUANTUM` (0.01) with `ROUNDING` (ROUND_HALF_UP: ties away from zero). PV and CV are
decimals with the same two places. Catalog prices and volumes are stored already quantized, so
a line amount (unit × quantity) is exact; rounding happens only where a rate is applied (a
buy-back percentage), once per refund line. The commission engine takes integer cents: `to_cents`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from core.money import CENT, ROUNDING, ZERO, quantize, to_cents

MONEY_QUANTUM = CENT
VOLUME_QUANTUM = CENT
__all__ = [
    "MONEY_QUANTUM",
    "ROUNDING",
    "VOLUME_QUANTUM",
    "ZERO",
    "currency",
    "format_money",
    "quantize_money",
    "quantize_volume",
    "to_cents",
]


def quantize_money(value: Decimal | int | str) -> Decimal:
    """`value` as money: two places, ROUND_HALF_UP (``core.money.quantize``). Floats are refused."""
    return quantize(value)


def quantize_volume(value: Decimal | int | str) -> Decimal:
    """PV or CV: two places, the same rounding as money (``core.money.quantize``)."""
    return quantize(value, VOLUME_QUANTUM)


def currency() -> str:
    return settings.LADDER_CURRENCY


def format_money(value: Decimal) -> str:
    return f"{quantize_money(value):,.2f} {currency()}"
