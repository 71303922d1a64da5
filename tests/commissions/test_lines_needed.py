"""A run reads only the order lines its plan's rules read (``gather.lines_needed``): with
retail profit and fast start, the lines with profit and those of recent joiners; the engine's
results are the same as from every line of the month."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from commissions import gather as gather_module
from commissions.engine import run_engine
from commissions.gather import gather, lines_needed
from commissions.services.plans import plan_version_for
from orders.models import OrderLine
from orders.volume import period_line_arrays
from tests.clock import Clock
from tests.commissions.conftest import PERIOD
from tests.commissions.test_oracle import ORACLE_PLAN, random_company
from tests.factories import make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("seed", [3, 11])
def test_the_lines_read_pay_exactly_what_every_line_pays(monkeypatch, seed):
    make_plan_version(ORACLE_PLAN)
    Clock(monkeypatch, PERIOD.end)
    random_company(seed)
    plan = plan_version_for(PERIOD).plan
    assert lines_needed(plan)["only"] is True

    read = gather(PERIOD)
    monkeypatch.setattr(gather_module, "lines_needed", lambda plan: {})
    every = gather(PERIOD)

    month = OrderLine.objects.filter(commission_month=PERIOD.first_day)
    assert every.inputs.m == month.count()
    assert 0 < read.inputs.m < every.inputs.m  # old members' own orders are not read
    kept = set(read.inputs.line_id.tolist())
    assert kept == {
        line.pk
        for line in month.select_related("distributor")
        if line.retail_profit > 0
        or (line.paid_at.date() - line.distributor.joined_on).days < plan.fast_start_days
    }
    assert np.array_equal(read.ids, every.ids)
    ours, theirs = run_engine(plan, read.inputs), run_engine(plan, every.inputs)
    assert ours.lines.as_tuples() == theirs.lines.as_tuples()
    assert ours.period_total.tolist() == theirs.period_total.tolist()
    assert ours.breakage == theirs.breakage


def test_the_order_time_upline_and_order_awards_read_every_line():
    plan = make_plan_version(ORACLE_PLAN).plan
    order_time = dataclasses.replace(
        plan, options=dataclasses.replace(plan.options, upline="order_time")
    )
    with_award = dataclasses.replace(plan, components={**plan.components, "order_award": object()})
    assert lines_needed(order_time) == {}
    assert lines_needed(with_award) == {}
    no_line_rules = dataclasses.replace(
        plan, retail_profit_enabled=False, fast_start_ppm=0, fast_start_generations_ppm=()
    )
    assert lines_needed(no_line_rules) == {
        "only": True,
        "retail_profit": False,
        "joined_within": None,
    }


def test_a_plan_with_no_line_rules_reads_no_lines_yet_the_volumes(chain, plan_version):
    assert period_line_arrays(PERIOD).line_id.size == 4
    assert period_line_arrays(PERIOD, only=True).line_id.size == 0
    # The run's volumes come from the summaries, not from the lines.
    gathered = gather(PERIOD)
    assert gathered.inputs.cv[list(gathered.ids).index(chain.eve.pk)] == 20000
