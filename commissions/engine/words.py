"""How figures read in the statement's words for a line: one formatter each, for every component.

Money and volume are integer cents; rates integer ppm of 1 (``money.PPM_PER_PERCENT``).
"""

from __future__ import annotations

from .money import ppm_to_percent


def money(cents: int) -> str:
    """12345 → "123.45", 123456789 → "1,234,567.89" (always two decimals)."""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{'-' if int(cents) < 0 else ''}{whole:,}.{part:02d}"


def volume(cents: int) -> str:
    """Volume as people read it: 120000 → "1,200", 120050 → "1,200.50"."""
    text = money(cents)
    return text[:-3] if text.endswith(".00") else text


def percent(ppm: int) -> str:
    """50000 → "5", 12345 → "1.2345" (no trailing zeros; no % sign)."""
    return f"{ppm_to_percent(int(ppm)).normalize():f}"
