"""Exact money arithmetic for the commission engine: the one place where money is rounded.

Units
-----
* Volumes (PV, CV) and money are ``int64`` numbers of **cents** (hundredths of the currency).
* Rates are integer **parts per million of 1** (``ppm``): 5 % is ``50_000``, 2.5 % is ``25_000``.
  A plan percent may therefore carry at most four decimals (``"3.3333"``); the plan validator
  refuses anything finer, so no rate is ever rounded.
* A **raw amount** is ``cents × rate_ppm``: an exact ``int64`` in units of 1e-6 cent
  (1e-8 of the currency). ``RAW_PER_CENT`` raw units make one cent. ``int64`` holds raw amounts
  up to about 9.2e18, i.e. a single base of 92 billion currency units at a 100 % rate.

The rounding rule
-----------------
A raw amount becomes cents **once**, with the plan's rounding mode, in ``round_raw``:

* ``half_up``     - to the nearest cent, ties away from zero (``Decimal.ROUND_HALF_UP``);
* ``half_even``   - to the nearest cent, ties to the even cent (banker's rounding);
* ``toward_zero`` - drop the fraction (``Decimal.ROUND_DOWN``);
* ``away_from_zero`` - any fraction makes a whole cent more (``Decimal.ROUND_UP``): 0.000001
  cent becomes 1 cent.

Negative raw amounts round symmetrically (the magnitude is rounded, the sign kept), so
``-1.005`` with ``half_up`` is ``-1.01``, exactly as ``Decimal`` does.

Where rounding happens is the plan option ``rounding_point``:

* ``line``: every result line is rounded on its own (``round_raw`` of its raw amount);
* ``earner_kind_total``: the raw amounts of one earner's lines of one kind are summed, that
  total is rounded once, and the rounded total is split back over those lines with the
  largest-remainder method (``split_rounded_totals``): each line first gets its raw amount
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

RAW_PER_CENT = 1_000_000
"""Raw units (1e-6 cent) per cent; also the ppm value of a 100 % rate."""

PPM_PER_PERCENT = 10_000
"""Parts per million of 1 in one percent."""

ROUNDING_MODES = ("half_up", "half_even", "toward_zero", "away_from_zero")

# Sums of |a × b| up to this bound fit in int64; above it split_pro_rata switches to Python ints.
_INT64_SAFE_PRODUCT = 2**63 - 1

Int64Array = npt.NDArray[np.int64]


def round_raw(raw: npt.ArrayLike, mode: str) -> Int64Array:
    """Round raw amounts (1e-6 cent) to whole cents with ``mode``; vectorized, integer-only."""
    if mode not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding mode {mode!r}")
    values = np.asarray(raw, dtype=np.int64)
    magnitude = np.abs(values)
    cents, remainder = _divmod(magnitude, RAW_PER_CENT)
    if mode == "half_up":
        cents += 2 * remainder >= RAW_PER_CENT
    elif mode == "half_even":
        cents += (2 * remainder > RAW_PER_CENT) | (
            (2 * remainder == RAW_PER_CENT) & (cents % 2 == 1)
        )
    elif mode == "away_from_zero":
        cents += remainder > 0
    return np.where(values < 0, -cents, cents)


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


def percent_to_ppm(percent: Decimal) -> int:
    """Convert a percent (``Decimal("2.5")``) to integer ppm of 1; it must be exact."""
    ppm = percent * PPM_PER_PERCENT
    if ppm != ppm.to_integral_value():
        raise ValueError(f"{percent} % has more than 4 decimals")
    return int(ppm)


def ppm_to_percent(ppm: int) -> Decimal:
    """Convert integer ppm of 1 back to a percent ``Decimal`` (exact)."""
    return Decimal(ppm) / PPM_PER_PERCENT


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
    """Round each earner's raw total once and split it over their lines (largest remainder).

    ``raw`` and ``earner`` are in line order, sorted by earner (one call per kind). Returns
    whole cents per line whose sum per earner is exactly ``round_raw(sum of that earner's raw)``.
    """
    if len(raw) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = group_starts(earner)
    floors, remainders = _divmod(raw, RAW_PER_CENT)
    totals = round_raw(np.add.reduceat(raw, starts), mode)
    extra = totals - np.add.reduceat(floors, starts)
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
