"""The statement's figures: one formatter each for money, volume and rates."""

from __future__ import annotations

import pytest

from commissions.engine import words


@pytest.mark.parametrize(
    ("cents", "money", "volume"),
    [
        (0, "0.00", "0"),
        (5, "0.05", "0.05"),
        (12345, "123.45", "123.45"),
        (120000, "1,200.00", "1,200"),
        (123456789, "1,234,567.89", "1,234,567.89"),
        (-150, "-1.50", "-1.50"),
    ],
)
def test_money_has_two_decimals_and_volume_drops_whole_cents(cents, money, volume):
    assert words.money(cents) == money
    assert words.volume(cents) == volume


@pytest.mark.parametrize(
    ("ppm", "text"), [(50_000, "5"), (12_345, "1.2345"), (2_500, "0.25"), (1_000_000, "100")]
)
def test_percent_has_no_trailing_zeros(ppm, text):
    assert words.percent(ppm) == text
