"""Exact money arithmetic for the commission engine: the one place where money is rounded.

Units
-----
* Volumes (PV, CV) and money are ``int64`` numbers of **cents** (hundredths of the currency).
* Rates are integer **rate units of 1e-8 of 1** (``RATE_UNITS_PER_PERCENT`` = 1_000_000 per
  percent, ``RATE_ONE`` = 100_000_000 for 100 %): 5 % is ``5_000_000``, 3.333333 % is
  ``3_333_333``. A plan percent may therefore carry at most six decimals; the plan validator
  refuses anything finer, so no rate is ever rounded. (Engines before 1.2.0 kept rates in
  parts per million of 1, at most four decimals of a percent; ledger lines they wrote keep
  that unit, ``LEGACY_RATE_UNITS_PER_PPM`` converts it.)
* A **raw amount** is ``cents × rate``: an exact integer in units of 1e-8 cent (1e-10 of the
  currency). ``RAW_PER_CENT`` (100_000_000) raw units make one cent. A single line's raw amount
  is kept as ``raw_parts``: its whole cents (floor) and the fraction of a cent left in raw units
  (0 ≤ fraction < ``RAW_PER_CENT``), computed without ever forming the product, so no base is
  too large for ``int64`` (an ``int64`` raw amount would hold a single base of only 922 million
  currency units at 100 %). Sums of raw amounts over many lines (breakage, an earner's total) add
  the cents and the fractions separately and are Python ints, exact at any size.

The rounding rule
-----------------
A raw amount becomes cents **once**, with the plan's rounding mode, in ``round_parts``
(``round_raw`` for a raw amount given whole, ``round_product`` for a base and a rate):

* ``half_up``     - to the nearest cent, ties away from zero (``Decimal.ROUND_HALF_UP``);
* ``half_even``   - to the nearest cent, ties to the even cent (banker's rounding);
* ``toward_zero`` - drop the fraction (``Decimal.ROUND_DOWN``);
* ``away_from_zero`` - any fraction makes a whole cent more (``Decimal.ROUND_UP``): 1e-8
  cent becomes 1 cent.

For example 3.333333 % of 123.45 CV is 12345 × 3_333_333 = 41_149_995_885 raw units, i.e.
411.49995885 cents, which is 4.11 with ``half_up``.

Negative raw amounts round symmetrically (the magnitude is rounded, the sign kept), so
``-1.005`` with ``half_up`` is ``-1.01``, exactly as ``Decimal`` does.

Where rounding happens is the plan option ``rounding_point``:

* ``line``: every result line is rounded on its own (its raw amount rounded);
* ``earner_kind_total``: the raw amounts of one earner's lines of one kind are summed, that
  total is rounded once, and the rounded total is split back over those lines with the
  largest-remainder method (``split_rounded_parts``): each line first gets its raw amount
  rounded down (floor) to the cent, and the cents still missing to reach the rounded total go
  one each to the lines with the largest dropped fractions; equal fractions are broken by line
  order (earlier line first). Lines are then whole cents and add up exactly to the total.

Pools are split the same way (``split_pro_rata``): the payout cap scales lines to a target
with floor shares plus largest remainders, so the parts always add up exactly to the target.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

RAW_PER_CENT = 100_000_000
"""Raw units (1e-8 cent) per cent."""

RATE_ONE = 100_000_000
"""Rate units (1e-8 of 1) in a rate of 100 %."""

RATE_UNITS_PER_PERCENT = 1_000_000
"""Rate units (1e-8 of 1) in one percent."""

PERCENT_DECIMALS = 6
"""Decimals a plan percent may carry (1 rate unit = 0.000001 %)."""

LEGACY_RATE_UNITS_PER_PPM = 100
"""Rate units in one part per million of 1: the rate unit of ledger lines written by engines
before 1.2.0 (``CommissionLine.rate``)."""

ROUNDING_MODES = ("half_up", "half_even", "toward_zero", "away_from_zero")

# Sums of |a × b| up to this bound fit in int64; above it split_pro_rata switches to Python ints.
_INT64_SAFE_PRODUCT = 2**63 - 1

Int64Array = npt.NDArray[np.int64]


def raw_parts(base: npt.ArrayLike, rate: npt.ArrayLike) -> tuple[Int64Array, Int64Array]:
    """The raw amounts ``base × rate`` (cents × rate units) as whole cents (floor) and the
    fraction left in raw units (0 ≤ fraction < ``RAW_PER_CENT``), exactly, element by element.

    The product is never formed: with base = q × RAW_PER_CENT + r (0 ≤ r < RAW_PER_CENT),
    base × rate / RAW_PER_CENT = q × rate + r × rate / RAW_PER_CENT, where r × rate stays
    below 2.2e17 for any int32 rate and q × rate is a number of cents. So it is exact for any
    int64 base (of either sign) and any rate 0 ≤ rate < 2**31 whose cents fit in int64.
    """
    base = np.asarray(base, dtype=np.int64)
    rate = np.asarray(rate, dtype=np.int64)
    high, low = _divmod(base, RAW_PER_CENT)
    small = low * rate
    carry, fraction = _divmod(small, RAW_PER_CENT)
    return high * rate + carry, fraction


def round_parts(cents: npt.ArrayLike, fraction: npt.ArrayLike, mode: str) -> Int64Array:
    """Round raw amounts given as whole cents (floor) + a fraction in raw units
    (0 ≤ fraction < ``RAW_PER_CENT``) to whole cents with ``mode``; vectorized, integer-only,
    symmetric for negative amounts (the magnitude is rounded, the sign kept)."""
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    cents = np.asarray(cents, dtype=np.int64)
    fraction = np.asarray(fraction, dtype=np.int64)
    negative = cents < 0
    # The magnitude's whole cents and fraction: -(c + f) = (-c - 1) + (R - f) when f > 0.
    has_fraction = fraction > 0
    magnitude = np.where(negative, np.where(has_fraction, -cents - 1, -cents), cents)
    remainder = np.where(negative & has_fraction, RAW_PER_CENT - fraction, fraction)
    if mode == "half_up":
        magnitude = magnitude + (2 * remainder >= RAW_PER_CENT)
    elif mode == "half_even":
        magnitude = magnitude + (
            (2 * remainder > RAW_PER_CENT)
            | ((2 * remainder == RAW_PER_CENT) & (magnitude % 2 == 1))
        )
    elif mode == "away_from_zero":
        magnitude = magnitude + (remainder > 0)
    return np.where(negative, -magnitude, magnitude).astype(np.int64)


def round_product(base: npt.ArrayLike, rate: npt.ArrayLike, mode: str) -> Int64Array:
    """Round ``base × rate`` (cents × rate units) to whole cents with ``mode``, exactly and
    without forming the product (``raw_parts``)."""
    cents, fraction = raw_parts(base, rate)
    return round_parts(cents, fraction, mode)


def raw_total(base: npt.ArrayLike, rate: npt.ArrayLike) -> int:
    """The exact sum of ``base × rate`` (raw units) over all elements, as a Python int: the
    whole cents and the fractions are summed apart (each fits in int64), then joined."""
    cents, fraction = raw_parts(base, rate)
    return int(cents.sum()) * RAW_PER_CENT + int(fraction.sum())


def apply_rate_floor(values: npt.ArrayLike, rate: int) -> Int64Array:
    """``floor(values × rate / RATE_ONE)``: a rate of cents, rounded down, exactly for any
    int64 ``values`` (e.g. a leg cap of a huge GV), without forming the product."""
    high, low = _divmod(np.asarray(values, dtype=np.int64), RATE_ONE)
    return high * rate + low * rate // RATE_ONE


def round_raw(raw: npt.ArrayLike, mode: str) -> Int64Array:
    """Round raw amounts (1e-8 cent, ``int64``) to whole cents with ``mode``; vectorized."""
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    cents, fraction = _divmod(np.asarray(raw, dtype=np.int64), RAW_PER_CENT)
    return round_parts(cents, fraction, mode)


def round_raw_total(raw: int, mode: str) -> int:
    """Round one raw amount (a Python int, e.g. a sum of raw amounts) to cents with ``mode``."""
    if abs(raw) < 2**62:
        return int(round_raw(np.array([raw], dtype=np.int64), mode)[0])
    # Only reachable for absurd totals; Decimal gives the same answer without int64 limits.
    decimal_mode = {
        "half_up": "ROUND_HALF_UP",
        "half_even": "ROUND_HALF_EVEN",
        "toward_zero": "ROUND_DOWN",
        "away_from_zero": "ROUND_UP",
    }[mode]
    return int((Decimal(raw) / RAW_PER_CENT).quantize(Decimal(1), rounding=decimal_mode))


def round_fraction(value: Fraction | int, mode: str) -> int:
    """Round an exact amount of cents (a ``Fraction``, e.g. a share of a line) to whole cents
    with ``mode``, symmetrically like ``round_raw``. Used where a rule takes a part of a paid
    amount (clawbacks), so it rounds exactly as the engine's own lines do."""
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    value = Fraction(value)
    cents, remainder = divmod(abs(value.numerator), value.denominator)
    if mode == "half_up":
        cents += 2 * remainder >= value.denominator
    elif mode == "half_even":
        cents += 2 * remainder > value.denominator or (
            2 * remainder == value.denominator and cents % 2 == 1
        )
    elif mode == "away_from_zero":
        cents += remainder > 0
    return -cents if value < 0 else cents


def round_product_ratio(
    a: npt.ArrayLike, b: npt.ArrayLike, denominator: npt.ArrayLike, mode: str
) -> Int64Array:
    """``a × b / denominator`` (non-negative integers, denominator > 0) rounded to an integer
    with ``mode``, element by element, exactly: int64 while the products fit, Python integers
    otherwise. Used where a rule takes the share ``b / denominator`` of a paid amount ``a``
    (binary clawbacks), so it rounds as ``round_fraction`` does, vectorized."""
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    a, b, d = (np.asarray(x, dtype=np.int64) for x in (a, b, denominator))
    if len(a) == 0:
        return np.zeros(0, dtype=np.int64)
    if a.min() < 0 or b.min() < 0 or d.min() <= 0:
        raise ValueError("round_product_ratio takes a, b ≥ 0 and denominator > 0")
    if int(a.max()) * int(b.max()) < 2**62:
        product, divisor = a * b, d
    else:  # beyond any one line's real figures: plain Python ints, element by element
        product, divisor = a.astype(object) * b.astype(object), d.astype(object)
    quotient = product // divisor
    remainder = product - quotient * divisor
    if mode == "half_up":
        quotient = quotient + (2 * remainder >= divisor)
    elif mode == "half_even":
        quotient = quotient + (
            (2 * remainder > divisor) | ((2 * remainder == divisor) & (quotient % 2 == 1))
        )
    elif mode == "away_from_zero":
        quotient = quotient + (remainder > 0)
    return np.asarray(quotient).astype(np.int64)


def split_fractions(values: list[Fraction], mode: str) -> list[int]:
    """Round the total of non-negative exact amounts once with ``mode`` and split it over
    them like ``split_rounded_totals``: floors first, the missing cents one each to the largest
    dropped fractions, earlier first on ties. The parts add up exactly to the rounded total."""
    if any(value < 0 for value in values):
        raise ValueError("split_fractions takes non-negative amounts")
    floors = [value.numerator // value.denominator for value in values]
    extra = round_fraction(sum(values, Fraction(0)), mode) - sum(floors)
    by_remainder = sorted(range(len(values)), key=lambda i: (-(values[i] - floors[i]), i))
    for position in by_remainder[:extra]:
        floors[position] += 1
    return floors


def _divmod(values: Int64Array, divisor: int) -> tuple[Int64Array, Int64Array]:
    """Floor quotient and remainder by a positive scalar (much faster than ``np.divmod``)."""
    quotient = values // divisor
    return quotient, values - quotient * divisor


def _multiply_divide(
    amounts: Int64Array,
    factor: int,
    divisor: int,
) -> tuple[Int64Array, Int64Array]:
    """Exact ``divmod(amounts × factor, divisor)`` for 0 ≤ amounts, factor ≤ divisor,
    when the products overflow int64.

    The quotient is first estimated in float64 (off by at most a few units), then the exact
    remainder ``amounts × factor - quotient × divisor`` is computed in int64 arithmetic that
    wraps modulo 2**64: the true remainder lies well inside the int64 range, so the wrapped
    result is exact, and the estimate is corrected until 0 ≤ remainder < divisor. Below 2**50
    the estimate is within a unit or two; larger divisors (over 10 trillion currency units)
    fall back to Python integers.
    """
    if divisor >= 2**50:
        products = amounts.astype(object) * factor  # beyond any real payout; plain Python ints
        return (products // divisor).astype(np.int64), (products % divisor).astype(np.int64)
    quotient = np.floor(amounts.astype(np.float64) * (factor / divisor)).astype(np.int64)
    with np.errstate(over="ignore"):
        remainder = amounts * np.int64(factor) - quotient * np.int64(divisor)
    for _ in range(8):
        low, high = remainder < 0, remainder >= divisor
        if not (low.any() or high.any()):
            return quotient, remainder
        quotient += high.astype(np.int64) - low.astype(np.int64)
        remainder += (low.astype(np.int64) - high.astype(np.int64)) * divisor
    raise ArithmeticError("multiply-divide estimate did not converge")


def percent_to_rate(percent: Decimal) -> int:
    """Convert a percent (``Decimal("2.5")``) to integer rate units; it must be exact (at most
    ``PERCENT_DECIMALS`` decimals)."""
    rate = percent * RATE_UNITS_PER_PERCENT
    if rate != rate.to_integral_value():
        raise ValueError(f"{percent} % has more than {PERCENT_DECIMALS} decimals")
    return int(rate)


def rate_to_percent(rate: int) -> Decimal:
    """Convert integer rate units back to a percent ``Decimal`` (exact)."""
    return Decimal(int(rate)) / RATE_UNITS_PER_PERCENT


def rate_from_ppm(ppm: int) -> int:
    """A rate in parts per million of 1 (ledger lines of engines before 1.2.0) in rate units."""
    return int(ppm) * LEGACY_RATE_UNITS_PER_PPM


def group_starts(sorted_keys: npt.NDArray[np.integer]) -> Int64Array:
    """Start positions of the runs of equal values in an array sorted by group."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    changes = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    return np.concatenate(([0], changes)).astype(np.int64)


def _award_largest_remainders(
    remainders: Int64Array, starts: npt.NDArray[np.intp], extra: Int64Array, remainder_bound: int
) -> Int64Array:
    """1 for the ``extra[g]`` lines of each group g with the largest remainders, else 0.

    Lines are in line order with each group contiguous (group g starts at ``starts[g]``);
    remainders lie in ``[0, remainder_bound)``. Equal remainders go to the earlier line. Each
    line becomes one int64 key (group, descending remainder, position in group) that is sorted
    directly; when the key would not fit, ``np.lexsort`` does the same job more slowly.
    """
    size = len(remainders)
    counts = np.diff(np.append(starts, size))
    positions = int(counts.max()) if size else 1
    awarded = np.zeros(size, dtype=np.int64)
    if len(starts) * (remainder_bound + 1) * positions < 2**63:
        # key = (group × (bound + 1) + bound - remainder) × positions + position in group,
        # built in place to spare memory.
        key = np.repeat(np.arange(len(starts), dtype=np.int64) * (remainder_bound + 1), counts)
        key += remainder_bound
        key -= remainders
        key *= positions
        key += np.arange(size, dtype=np.int64)
        key -= np.repeat(starts, counts)
        key.sort()
        ranked_group = key // ((remainder_bound + 1) * positions)
        key %= positions
        key += starts[ranked_group]
        ranked_line = key
    else:
        group = np.repeat(np.arange(len(starts), dtype=np.int64), counts)
        position = np.arange(size, dtype=np.int64) - np.repeat(starts, counts)
        order = np.lexsort((position, remainder_bound - remainders, group))
        ranked_group, ranked_line = group[order], order
    rank_in_group = np.arange(size) - starts[ranked_group]
    awarded[ranked_line[rank_in_group < extra[ranked_group]]] = 1
    return awarded


def split_rounded_totals(raw: Int64Array, earner: npt.NDArray[np.int64], mode: str) -> Int64Array:
    """``split_rounded_parts`` of raw amounts given whole (``int64`` raw units)."""
    floors, remainders = _divmod(np.asarray(raw, dtype=np.int64), RAW_PER_CENT)
    return split_rounded_parts(floors, remainders, earner, mode)


def split_rounded_parts(
    floors: Int64Array, remainders: Int64Array, earner: npt.NDArray[np.int64], mode: str
) -> Int64Array:
    """Round each earner's raw total once and split it over their lines (largest remainder).

    The lines' raw amounts are given as ``raw_parts``: whole cents (floor) and the fraction in
    raw units. They are in line order, sorted by earner (one call per kind). Returns whole
    cents per line whose sum per earner is exactly the rounded sum of that earner's raw
    amounts. The total is summed as cents plus fractions (the fractions' carry added to the
    cents), so it never overflows however large an earner's total is.
    """
    if len(floors) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = group_starts(earner)
    carry, fraction = _divmod(np.add.reduceat(remainders, starts), RAW_PER_CENT)
    floor_totals = np.add.reduceat(floors, starts)
    totals = round_parts(floor_totals + carry, fraction, mode)
    extra = totals - floor_totals
    return floors + _award_largest_remainders(remainders, starts, extra, RAW_PER_CENT)


def split_pro_rata(amounts: Int64Array, target: int) -> Int64Array:
    """Scale non-negative cent ``amounts`` to add up exactly to ``target`` (largest remainder).

    Each line gets ``floor(amount × target / total)``; the cents still missing go one each to
    the lines with the largest remainders, earlier line first on ties. Exact for any size:
    int64 when the products fit, Python integers otherwise.
    """
    amounts = np.asarray(amounts, dtype=np.int64)
    total = int(amounts.sum())
    if total == 0 or len(amounts) == 0:
        return np.zeros(len(amounts), dtype=np.int64)
    if target < 0 or target > total:
        raise ValueError("target must be between 0 and the total of the amounts")
    if total <= _INT64_SAFE_PRODUCT // max(target, 1):
        shares, remainders = _divmod(amounts * target, total)
    else:
        shares, remainders = _multiply_divide(amounts, target, total)
    extra = np.array([target - int(shares.sum())], dtype=np.int64)
    starts = np.zeros(1, dtype=np.int64)
    return shares + _award_largest_remainders(remainders, starts, extra, total)
