"""The one money quantizer (core/money.py): half up to the cent, exact cents, and the same
answers as the commission engine's own integer rounding in every mode."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissions.engine.money import RAW_PER_CENT, ROUNDING_MODES, round_fraction, round_raw
from core.money import cents_to_decimal, quantize, to_cents


def test_money_rounds_half_up_to_the_cent_symmetrically():
    assert quantize(Decimal("2.675")) == Decimal("2.68")
    assert quantize(Decimal("-2.675")) == Decimal("-2.68")
    assert quantize("2.665") == Decimal("2.67")
    assert quantize(3) == Decimal("3.00")


def test_other_modes_and_quanta_on_request():
    assert quantize(Decimal("2.665"), mode="half_even") == Decimal("2.66")
    assert quantize(Decimal("2.669"), mode="toward_zero") == Decimal("2.66")
    assert quantize(Decimal("12.35"), Decimal("0.1")) == Decimal("12.4")


@pytest.mark.parametrize("bad", [0.1, "abc", "1,00", None])
def test_floats_and_non_numbers_are_refused_with_a_clear_error(bad):
    with pytest.raises((TypeError, ValueError)):
        quantize(bad)


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown rounding mode"):
        quantize("1", mode="up")


def test_to_cents_is_exact_and_refuses_fractions_of_a_cent():
    assert to_cents(Decimal("12.34")) == 1234
    assert to_cents("-0.05") == -5
    assert to_cents(7) == 700
    for bad in ("0.001", "NaN", "Infinity", "abc"):
        with pytest.raises(ValueError):
            to_cents(bad)
    with pytest.raises(TypeError):
        to_cents(0.1)


def test_cents_to_decimal_is_exact_with_two_places():
    assert cents_to_decimal(1234) == Decimal("12.34")
    assert str(cents_to_decimal(None)) == "0.00"
    assert cents_to_decimal(-5) == Decimal("-0.05")


@given(raw=st.integers(min_value=-(2**61), max_value=2**61))
def test_quantize_agrees_with_the_engines_rounding_in_every_mode(raw):
    # raw is in 1e-8 cent: as currency units it is raw / (RAW_PER_CENT * 100).
    amount = Decimal(raw) / (RAW_PER_CENT * 100)
    for mode in ROUNDING_MODES:
        cents = int(round_raw(np.array([raw], dtype=np.int64), mode)[0])
        assert quantize(amount, mode=mode) == Decimal(cents) / 100
        assert round_fraction(Fraction(raw, RAW_PER_CENT), mode) == cents


def test_shares_shown_on_pages_round_ties_half_up_like_money():
    # Shares were quantized with the decimal context's default (half even): 6.25 % showed 6.2.
    import datetime as dt

    from core.periods import Period
    from portal.staff import MonthVolume

    month = MonthVolume(
        period=Period(2026, 1),
        pv=Decimal("16"),
        cv=Decimal("16"),
        personal_pv=Decimal("15"),
        retail_pv=Decimal("1"),
        as_of=dt.datetime(2026, 1, 31, tzinfo=dt.UTC),
    )

    assert month.retail_share == Decimal("6.3")
