"""bench_disclosure: a full year of closed months built from one, the statement timed, undone."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from commissions.models import CommissionPeriod, CommissionRun, DistributorResult
from compliance import disclosure
from compliance.models import DisclosureStatement
from genealogy.models import Distributor
from tests.factories import closed_period_with_results, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db
YEAR = 2025


def bench(*args: str) -> str:
    out = io.StringIO()
    call_command("bench_disclosure", *args, stdout=out)
    return out.getvalue()


def row_counts() -> tuple[int, int, int, int]:
    return (
        CommissionPeriod.objects.count(),
        CommissionRun.objects.count(),
        DistributorResult.objects.count(),
        DisclosureStatement.objects.count(),
    )


@pytest.fixture
def one_closed_month():
    """June 2025 paid with four participants (Cat and Dan earned nothing), September 2025
    calculated but not closed, December 2024 closed. Returns June's period."""
    version = make_plan_version()
    ann, ben, cat, dan = (make_distributor(name=name) for name in ("Ann", "Ben", "Cat", "Dan"))
    Distributor.objects.filter(is_house=False).update(joined_on=dt.date(2024, 1, 1))
    june = closed_period_with_results(
        dt.date(2025, 6, 1),
        {ann: (40000, 1, 1), ben: (12345, 1, 1), cat: (0, 0, 0), dan: (0, 0, 1)},
        plan_version=version,
        status="paid",
    )
    closed_period_with_results(
        dt.date(2025, 9, 1), {ann: (999999, 1, 1)}, plan_version=version, status="calculated"
    )
    closed_period_with_results(dt.date(2024, 12, 1), {ann: (777700, 1, 1)}, plan_version=version)
    return june


def test_prints_the_figures_of_a_full_year_from_one_closed_month_and_changes_nothing(
    one_closed_month,
):
    before = row_counts()

    out = bench()

    assert "synthetic year 2025: 11 month(s) copied from 2025-06" in out
    assert "its 12 closed months hold 48 result rows" in out
    assert "income disclosure 2025: 4 participants, 12 months included" in out
    assert "earned $0: 50.00 %" in out
    assert "peak RSS" in out
    assert "rolled back" in out
    assert row_counts() == before
    assert CommissionPeriod.objects.get(month=dt.date(2025, 9, 1)).status == "calculated"
    assert disclosure.disclosure_source(YEAR).periods == ["2025-06"]


def test_keep_leaves_twelve_final_months_whose_figures_vary_consistently(one_closed_month):
    june_results = list(
        DistributorResult.objects.filter(run_id=one_closed_month.current_run_id).values()
    )

    out = bench("--keep")

    source, figures = disclosure.income_disclosure_figures(YEAR)
    assert len(source.periods) == 12
    assert not source.missing_periods
    assert CommissionRun.objects.filter(pk__in=source.run_ids, is_final=True).count() == 11
    assert "4 participants, 12 months included" in out
    assert f"median {figures['median']}, mean {figures['mean']}" in out
    assert not DisclosureStatement.objects.exists()  # the timed statement is never published
    results = list(DistributorResult.objects.filter(run_id__in=source.run_ids).values())
    assert len(results) == 48
    assert [r for r in results if r["run_id"] == one_closed_month.current_run_id] == june_results
    for result in results:
        assert 0 <= result["paid_as_rank"] <= result["highest_rank"]
        assert result["balance"] == result["carried_in"] + result["period_total"]
        assert result["payable"] + result["carried_out"] == result["balance"]
    totals: dict[int, set[int]] = {}
    for result in results:
        totals.setdefault(result["distributor_id"], set()).add(result["period_total"])
    earners = {r["distributor_id"] for r in june_results if r["period_total"] > 0}
    for distributor_id, amounts in totals.items():
        if distributor_id in earners:
            assert len(amounts) > 6, "a year of twelve identical months"
            assert all(0 < amount < 2 * 40000 for amount in amounts)
        else:
            assert amounts == {0}


def test_another_year_is_built_from_the_latest_closed_month(one_closed_month):
    out = bench("--year", "2026")

    assert "synthetic year 2026: 12 month(s) copied from 2025-06" in out
    assert "income disclosure 2026: 4 participants, 12 months included" in out


def test_refuses_without_a_closed_month_to_copy(db):
    closed_period_with_results(
        dt.date(2025, 3, 1), {make_distributor(): (5000, 1, 1)}, status="calculated"
    )

    with pytest.raises(CommandError, match="No closed commission period to copy from"):
        bench()
