"""Gather passes what the engine's rule options read: the house account as the company (it
never earns) and, for an order award, each order line's order and units."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from commissions.gather import gather
from commissions.models import CommissionLine, LineKind
from commissions.services.runs import calculate_period
from orders.models import OrderLine
from tests.commissions.conftest import PAID_AT, PERIOD
from tests.factories import COMMISSION_TEST_PLAN, buy, house, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_house_account_is_the_company(chain, plan_version):
    house()  # (transactional tests flush the migration's copy)
    gathered = gather(PERIOD)
    flags = gathered.inputs.is_company
    assert gathered.ids[flags].tolist() == [house().pk]
    assert not gathered.inputs.line_units.any()  # no order award: the engine's defaults


def test_an_order_award_plan_gets_order_ids_and_units(chain):
    house()
    doc = copy.deepcopy(COMMISSION_TEST_PLAN)
    doc["order_award"] = {"amount": "2", "per": "unit", "to": "sponsor"}
    make_plan_version(doc)
    order = buy(chain.eve, "50", paid_at=PAID_AT)
    gathered = gather(PERIOD)
    line = OrderLine.objects.get(order=order)
    position = int(np.searchsorted(gathered.inputs.line_id, line.pk))
    assert gathered.inputs.line_order_id[position] == order.pk
    assert gathered.inputs.line_units[position] == line.quantity == 1
    run = calculate_period(period=PERIOD)
    # One unit a line, 2.00 each to the buyer's sponsor: Eve's two lines (200 and 50 CV) pay
    # Dee; Dee's pays Cal; Cal's would pay Ben (inactive) and Ann's the house: both breakage,
    # and as the house has no PV it is inactive too, so its 2.00 is "unqualified" before the
    # company rule is reached (engine/settle.py removes lines the company would earn).
    awards = CommissionLine.objects.filter(run=run, kind=LineKind.ORDER_AWARD)
    assert sorted(awards.values_list("earner_id", "amount")) == sorted(
        [(chain.cal.pk, 200), (chain.dee.pk, 200), (chain.dee.pk, 200)]
    )
    assert run.summary["breakage_detail"]["order_award"] == {
        "unqualified": 400,
        "company": 0,
        "rounded_away": 0,
    }
