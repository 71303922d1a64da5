"""A month is calculated with the tree as it stood when it ended, however much later it runs
(gather → engine → results), and ``upline: order_time`` pays the sponsor at order time."""

from __future__ import annotations

import datetime as dt

import pytest

from commissions.gather import gather
from commissions.models import CommissionLine, DistributorResult, LineKind
from commissions.services.runs import calculate_period
from core.periods import Period
from genealogy.services import move_distributor
from tests.clock import Clock
from tests.commissions.conftest import PERIOD, build_chain
from tests.factories import buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

UTC = dt.UTC
APRIL = Period(2026, 4)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch, dt.datetime(2026, 2, 1, 12, tzinfo=UTC))


@pytest.fixture
def company(clock):
    """The worked chain Ann → Ben → Cal → Dee → Eve and Zed (under the house, 100 PV a month)
    joined on February 1; Eve buys 200 in March and in April."""
    chain = build_chain()
    zed = make_distributor(name="Zed Young")
    buy(zed, "100", paid_at=dt.datetime(2026, 3, 12, 15, tzinfo=UTC))
    for person, volume in ((chain.ann, "100"), (chain.cal, "120"), (chain.dee, "100")):
        buy(person, volume, paid_at=dt.datetime(2026, 4, 10, 15, tzinfo=UTC))
    buy(chain.eve, "200", paid_at=dt.datetime(2026, 4, 10, 15, tzinfo=UTC))
    buy(zed, "100", paid_at=dt.datetime(2026, 4, 12, 15, tzinfo=UTC))
    return chain, zed


def figures(run) -> tuple[dict, set]:
    results = {
        r.distributor_id: (r.sponsor_id, r.parent_id, r.pv, r.gv, r.paid_as_rank, r.period_total)
        for r in DistributorResult.objects.filter(run=run)
    }
    lines = set(
        CommissionLine.objects.filter(run=run).values_list(
            "earner_id", "kind", "level", "source_id", "source_line_id", "base", "amount"
        )
    )
    return results, lines


def unilevel(run, earner) -> dict[int, tuple[int, int]]:
    """level -> (base, amount) of ``earner``'s unilevel lines in ``run``."""
    return {
        level: (base, amount)
        for level, base, amount in CommissionLine.objects.filter(
            run=run, earner=earner, kind=LineKind.UNILEVEL
        ).values_list("level", "base", "amount")
    }


def test_a_move_after_the_month_ends_changes_no_figure_of_that_month(clock, company):
    chain, zed = company
    make_plan_version()
    # Given March calculated in April
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=UTC))
    march_before = figures(calculate_period(period=PERIOD))
    assert unilevel(calculate_period(period=PERIOD), chain.dee)  # Dee is paid on Eve's CV
    # When Eve moves under Zed on April 5 and March is calculated again in May
    clock.set(dt.datetime(2026, 4, 5, 12, tzinfo=UTC))
    move_distributor(distributor=chain.eve, new_sponsor=zed, reason="Asked", by=None)
    clock.set(dt.datetime(2026, 5, 3, 12, tzinfo=UTC))
    march = calculate_period(period=PERIOD)
    # Then March's results and lines are exactly what they were (Eve still under Dee)
    assert figures(march) == march_before
    assert march_before[0][chain.eve.pk][0] == chain.dee.pk
    assert not unilevel(march, zed)
    # While April pays Zed, not Dee, on Eve's CV
    april = calculate_period(period=APRIL)
    results, _ = figures(april)
    assert results[chain.eve.pk][0] == zed.pk
    assert unilevel(april, zed)[1][0] == 20_000
    assert 1 not in unilevel(april, chain.dee)


def test_a_recruit_who_joined_after_the_month_end_is_not_in_it(clock, company):
    chain, _ = company
    make_plan_version()
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=UTC))
    before = figures(calculate_period(period=PERIOD))
    # When someone joins under Ann in April and March is calculated again
    clock.set(dt.datetime(2026, 4, 3, 12, tzinfo=UTC))
    newt = make_distributor(sponsor=chain.ann, name="Newt Late")
    after = figures(calculate_period(period=PERIOD))
    # Then March knows nothing of them, and nothing else changed
    assert newt.pk not in after[0]
    assert after == before
    # But April, still running, has them
    assert newt.pk in set(gather(APRIL).ids.tolist())


def test_the_input_hash_of_an_ended_month_ignores_later_moves(clock, company):
    chain, zed = company
    make_plan_version()
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=UTC))
    march, april = gather(PERIOD).input_hash, gather(APRIL).input_hash
    move_distributor(distributor=chain.eve, new_sponsor=zed, reason="Asked", by=None)
    assert gather(PERIOD).input_hash == march
    assert gather(APRIL).input_hash != april


@pytest.mark.parametrize("upline", ["order_time", "period_close"])
def test_order_time_pays_the_sponsor_when_the_order_was_paid(clock, company, upline):
    chain, zed = company
    make_plan_version(upline=upline)
    # Given Eve's March order paid under Dee, then Eve moved under Zed on March 20
    clock.set(dt.datetime(2026, 3, 20, 12, tzinfo=UTC))
    move_distributor(distributor=chain.eve, new_sponsor=zed, reason="Asked", by=None)
    # When March is calculated in April
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=UTC))
    run = calculate_period(period=PERIOD)
    # Then with order_time the first step up from Eve's order is Dee, her sponsor then;
    # with period_close it is Zed, her sponsor when the month ended
    first_step, other = (chain.dee, zed) if upline == "order_time" else (zed, chain.dee)
    assert unilevel(run, first_step)[1][0] == 20_000
    assert 1 not in unilevel(run, other)
    assert DistributorResult.objects.get(run=run, distributor=chain.eve).sponsor_id == zed.pk


def test_someone_the_month_names_before_they_joined_is_a_leaf_under_their_sponsor(clock, company):
    chain, _ = company
    make_plan_version()
    # Given Newt, who joined under Cal in April, with an order recorded as paid on March 30
    # (migrated data)
    clock.set(dt.datetime(2026, 4, 3, 12, tzinfo=UTC))
    newt = make_distributor(sponsor=chain.cal, name="Newt Early")
    buy(newt, "80", paid_at=dt.datetime(2026, 3, 30, 15, tzinfo=UTC))
    # When March is calculated
    run = calculate_period(period=PERIOD)
    # Then Newt is in March, a leaf under Cal, and Cal's group counts the order
    results, _ = figures(run)
    assert results[newt.pk][0] == chain.cal.pk
    assert results[newt.pk][2] == 8_000
    assert results[chain.cal.pk][3] == results[chain.dee.pk][3] + 12_000 + 8_000
