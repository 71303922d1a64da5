"""How figures read in the statement's words for a line: one formatter each, for every component.

Money and volume are integer cents; rates integer rate units of 1e-8 of 1
(``money.RATE_UNITS_PER_PERCENT``).
"""

from __future__ import annotations

from .money import rate_to_percent


def money(cents: int) -> str:
    """12345 → "123.45", 123456789 → "1,234,567.89" (always two decimals)."""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{'-' if int(cents) < 0 else ''}{whole:,}.{part:02d}"


def volume(cents: int) -> str:
    """Volume as people read it: 120000 → "1,200", 120050 → "1,200.50"."""
    text = money(cents)
    return text[:-3] if text.endswith(".00") else text


def percent(rate: int) -> str:
    """A rate in rate units as a percent with every decimal it has and no trailing zeros (no
    % sign): 5_000_000 → "5", 3_333_333 → "3.333333", 25_000 → "0.025"."""
    return f"{rate_to_percent(int(rate)).normalize():f}"
