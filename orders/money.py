"""Money and volume arithmetic for orders: the one place where amounts are rounded.

Money is `Decimal` in the company's one currency (`settings.LADDER_CURRENCY`), quantized to
`MONEY_QUANTUM` (0.01) with `ROUNDING` (ROUND_HALF_UP: ties away from zero). PV and CV are
decimals with the same two places. Catalog prices and volumes are stored already quantized, so
a line amount (unit × quantity) is exact; rounding happens only where a rate is applied (a
buy-back percentage), once per refund line. The commission engine takes integer cents: `to_cents`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings

MONEY_QUANTUM = Decimal("0.01")
VOLUME_QUANTUM = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
ZERO = Decimal("0.00")


def quantize_money(value: Decimal | int | str) -> Decimal:
    """`value` as money: two places, ROUND_HALF_UP. Floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise TypeError("money is never a float; pass a Decimal, an int or a string")
    try:
        return Decimal(value).quantize(MONEY_QUANTUM, rounding=ROUNDING)
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error


def quantize_volume(value: Decimal | int | str) -> Decimal:
    """PV or CV: two places, the same rounding as money."""
    if isinstance(value, float):
        raise TypeError("volume is never a float; pass a Decimal, an int or a string")
    try:
        return Decimal(value).quantize(VOLUME_QUANTUM, rounding=ROUNDING)
    except InvalidOperation as error:
        raise ValueError(f"not a volume: {value!r}") from error


def to_cents(value: Decimal) -> int:
    """An amount or volume already on the 0.01 grid as integer cents (exact, no rounding)."""
    cents = Decimal(value) * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{value} is not on the 0.01 grid")
    return int(cents)


def currency() -> str:
    return settings.LADDER_CURRENCY


def format_money(value: Decimal) -> str:
    return f"{quantize_money(value):,.2f} {currency()}"
