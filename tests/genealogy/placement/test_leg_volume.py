"""The weaker leg by volume with the orders app's reader: this period's paid PV of each leg."""

from __future__ import annotations

import pytest
from django.utils import timezone

from genealogy.policy import leg_volumes
from tests.factories import buy, house

from .helpers import join, node, spot

pytestmark = pytest.mark.django_db


def test_the_orders_reader_sums_this_periods_pv_of_each_leg_and_the_rule_uses_it(
    placement_plan,
):
    placement_plan(kind="binary", rule="weaker_leg_volume")
    top = house()
    left, right = join(top), join(top)
    below_left = join(top)  # a tie in people goes left: under the left leg's outside
    assert spot(below_left) == (left.pk, 0)
    now = timezone.now()
    buy(right, "80.00", paid_at=now)
    buy(below_left, "30.00", paid_at=now)
    buy(left, "20.00", paid_at=now)
    legs = [(node(left).lft, node(left).rght), (node(right).lft, node(right).rght)]
    assert leg_volumes(legs, at=now) == [50, 80]
    # The left leg has more people (2 vs 1) but less volume: by volume, the recruit goes left.
    recruit = join(top)
    assert spot(recruit) == (below_left.pk, 0)
