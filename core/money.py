"""Money: the one quantizer, and cents in and out.

The rule: money is a ``Decimal`` in the company's one currency, quantized to ``CENT`` (0.01)
with ``ROUNDING``, ``ROUND_HALF_UP`` (to the nearest cent, ties away from zero, so ``2.675``
is ``2.68`` and ``-2.675`` is ``-2.68``), once, where a ledger line or an order amount is
written. PV and CV use the same grid and rule. Floats are refused: they are not exact.

The commission engine computes in integer cents and rounds with the plan's own mode
(``half_up``, ``half_even``, ``toward_zero`` or ``away_from_zero``) in
``commissions/engine/money.py``; it stays
free of everything outside itself. ``quantize`` takes the same mode names, and the tests hold
the two to the same answers for every mode.

Pure Python: no Django, no project app.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ROUNDING = ROUND_HALF_UP
ZERO = Decimal("0.00")

MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "toward_zero": ROUND_DOWN,
    "away_from_zero": ROUND_UP,
}
"""The engine's rounding mode names → ``decimal`` rounding constants."""


def quantize(
    value: Decimal | int | str, quantum: Decimal = CENT, *, mode: str = "half_up"
) -> Decimal:
    """``value`` on the ``quantum`` grid (default 0.01) with ``mode`` (default half up).

    Floats and anything that is not a number are refused with a clear error."""
    if isinstance(value, float):
        raise TypeError("money is never a float; pass a Decimal, an int or a string")
    if mode not in MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    try:
        return Decimal(value).quantize(quantum, rounding=MODES[mode])
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error


def to_cents(value: Decimal | int | str) -> int:
    """An amount on the 0.01 grid → integer cents, exactly; refuses more than 2 decimals."""
    if isinstance(value, float):
        raise TypeError("money is never a float; pass a Decimal, an int or a string")
    try:
        cents = Decimal(str(value)) * 100
    except InvalidOperation as error:
        raise ValueError(f"not an amount: {value!r}") from error
    if not cents.is_finite() or cents != cents.to_integral_value():
        raise ValueError(f"{value} has more than 2 decimals")
    return int(cents)


def cents_to_decimal(cents: int | None) -> Decimal:
    """Integer cents → ``Decimal`` currency units (exact, two places)."""
    return quantize(Decimal(int(cents or 0)) / 100)
