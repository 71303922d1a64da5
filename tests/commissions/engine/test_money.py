"""The one rounding helper and the exact splits."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissions.engine.money import (
    RAW_PER_CENT,
    percent_to_rate,
    rate_to_percent,
    round_raw,
    round_raw_total,
    split_pro_rata,
    split_rounded_totals,
)

HALF = RAW_PER_CENT // 2
DECIMAL_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "toward_zero": ROUND_DOWN,
    "away_from_zero": ROUND_UP,
}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("half_up", [1, 2, 3, -1, -2, -3]),
        ("half_even", [0, 2, 2, 0, -2, -2]),
        ("toward_zero", [0, 1, 2, 0, -1, -2]),
    ],
)
def test_ties_round_per_mode_and_negative_amounts_mirror_positive_ones(mode, expected):
    # 0.5, 1.5, 2.5 cents and their negatives.
    raw = np.array([HALF, 3 * HALF, 5 * HALF, -HALF, -3 * HALF, -5 * HALF])

    assert round_raw(raw, mode).tolist() == expected


def test_just_below_and_above_half_round_to_the_nearest_cent():
    raw = np.array([HALF - 1, HALF + 1, -(HALF + 1)])

    assert round_raw(raw, "half_up").tolist() == [0, 1, -1]
    assert round_raw(raw, "half_even").tolist() == [0, 1, -1]
    assert round_raw(raw, "toward_zero").tolist() == [0, 0, 0]


@given(st.integers(-(2**62), 2**62), st.sampled_from(sorted(DECIMAL_MODES)))
def test_round_raw_agrees_with_decimal(raw, mode):
    expected = int((Decimal(raw) / RAW_PER_CENT).quantize(Decimal(1), DECIMAL_MODES[mode]))

    assert round_raw(np.array([raw]), mode).tolist() == [expected]
    assert round_raw_total(raw, mode) == expected


def test_percent_to_rate_is_exact_to_six_decimals_and_refuses_finer_rates():
    assert percent_to_rate(Decimal("5")) == 5_000_000
    assert percent_to_rate(Decimal("2.5")) == 2_500_000
    assert percent_to_rate(Decimal("3.333333")) == 3_333_333
    assert percent_to_rate(Decimal("0.000001")) == 1
    assert percent_to_rate(Decimal("100")) == 100_000_000
    assert rate_to_percent(3_333_333) == Decimal("3.333333")
    with pytest.raises(ValueError, match="more than 6 decimals"):
        percent_to_rate(Decimal("0.0000001"))


def test_split_rounded_totals_gives_the_extra_cent_to_the_largest_remainder_then_line_order():
    # Earner 0: 0.6 + 0.6 + 0.3 = 1.5 → 2 cents, to the two 0.6 lines.
    # Earner 1: 0.5 + 0.5 = 1.0 → 1 cent, to the first line (tie).
    raw = np.array([60_000_000, 60_000_000, 30_000_000, 50_000_000, 50_000_000])  # 1e-8 cent
    earner = np.array([0, 0, 0, 1, 1])

    assert split_rounded_totals(raw, earner, "half_up").tolist() == [1, 1, 0, 1, 0]


@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10**9)), max_size=40),
    st.sampled_from(sorted(DECIMAL_MODES)),
)
def test_split_rounded_totals_adds_up_to_each_rounded_total(pairs, mode):
    pairs.sort(key=lambda p: p[0])
    earner = np.array([p[0] for p in pairs], dtype=np.int64)
    raw = np.array([p[1] for p in pairs], dtype=np.int64)

    cents = split_rounded_totals(raw, earner, mode)

    for who in set(earner.tolist()):
        mine = earner == who
        assert cents[mine].sum() == round_raw_total(int(raw[mine].sum()), mode)
        # Each line is its own amount rounded down or up.
        assert np.all(np.abs(cents[mine] * RAW_PER_CENT - raw[mine]) < RAW_PER_CENT)


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=30), st.data())
def test_split_pro_rata_is_exact_and_hits_the_target(amounts, data):
    total = sum(amounts)
    target = data.draw(st.integers(0, total))

    shares = split_pro_rata(np.array(amounts, dtype=np.int64), target)

    assert int(shares.sum()) == target
    for amount, share in zip(amounts, shares.tolist(), strict=True):
        exact = Fraction(amount * target, total) if total else Fraction(0)
        assert abs(share - exact) < 1


def test_split_pro_rata_with_products_beyond_int64_matches_python_integers():
    amounts = np.array([4_000_000_000_000, 3_000_000_000_001, 2_999_999_999_999, 7])
    target = 9_000_000_000_000

    shares = split_pro_rata(amounts, target)

    total = int(amounts.sum())
    floors = [int(a) * target // total for a in amounts]
    assert shares.sum() == target
    assert all(
        share - floor in (0, 1) for share, floor in zip(shares.tolist(), floors, strict=True)
    )
