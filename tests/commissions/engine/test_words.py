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
    ("rate", "text"),
    [
        (5_000_000, "5"),
        (1_234_500, "1.2345"),
        (250_000, "0.25"),
        (100_000_000, "100"),
        (3_333_333, "3.333333"),
        (1, "0.000001"),
        (2_500_010, "2.50001"),
    ],
)
def test_percent_has_every_decimal_and_no_trailing_zeros(rate, text):
    assert words.percent(rate) == text
