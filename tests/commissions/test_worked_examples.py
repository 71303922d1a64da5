"""The engine's hand-worked examples, end to end: real people, real orders, the whole service."""

from __future__ import annotations

import pytest

from commissions.models import CommissionLine, DistributorResult, LineKind, PeriodStatus
from commissions.services.periods import period_row
from commissions.services.runs import calculate_period
from tests.commissions.conftest import PERIOD
from tests.factories import make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)


def totals_by_person(run, chain) -> list[int]:
    totals = dict(
        DistributorResult.objects.filter(run=run).values_list("distributor_id", "period_total")
    )
    return [totals[p.pk] for p in chain.people]


def test_dynamic_compression_pays_56_with_ben_skipped(chain):
    make_plan_version(compression="dynamic")

    run = calculate_period(period=PERIOD)

    assert run.summary["total_paid"] == 5600
    assert totals_by_person(run, chain) == [3100, 0, 1500, 1000, 0]
    assert period_row(PERIOD).status == PeriodStatus.CALCULATED
    ann_level_three = CommissionLine.objects.get(
        run=run, earner=chain.ann, kind=LineKind.UNILEVEL, level=3
    )
    assert (ann_level_three.base, ann_level_three.amount) == (20000, 2000)


def test_no_compression_pays_41_and_bens_levels_are_breakage(chain):
    make_plan_version(compression="none")

    run = calculate_period(period=PERIOD)

    assert run.summary["total_paid"] == 4100
    assert totals_by_person(run, chain) == [1600, 0, 1500, 1000, 0]
