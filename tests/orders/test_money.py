from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.money import quantize_money, to_cents
from orders.services import Quote, QuoteLine


def test_quantize_rounds_half_up_once():
    assert quantize_money(Decimal("2.675")) == Decimal("2.68")
    assert quantize_money(Decimal("-2.675")) == Decimal("-2.68")
    assert quantize_money("0.004") == Decimal("0.00")


def test_floats_are_refused():
    with pytest.raises(TypeError):
        quantize_money(0.1)


def test_to_cents_is_exact_and_refuses_off_grid_values():
    assert to_cents(Decimal("1234.56")) == 123456
    with pytest.raises(ValueError):
        to_cents(Decimal("0.001"))


prices = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(prices, st.integers(min_value=1, max_value=100)), max_size=20))
def test_order_total_is_the_exact_sum_of_its_lines(lines):
    quote = Quote(
        purpose="personal",
        lines=[
            QuoteLine(
                product=None,
                quantity=q,
                unit_price=p,
                unit_pv=p,
                unit_cv=p,
                retail_profit=Decimal("0.00"),
            )
            for p, q in lines
        ],
    )
    expected_cents = sum(int(p * 100) * q for p, q in lines)
    assert to_cents(quote.total_amount) == expected_cents
    assert to_cents(quote.total_pv) == expected_cents
