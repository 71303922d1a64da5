"""The numpy engine through the service agrees with the naive ORM implementation on small
random companies (every rule of a plan with ranks, leg caps, matching, retail, fast start and
a binding payout cap)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest

from benchmarks.naive import naive_period
from commissions.models import CommissionLine, DistributorResult
from commissions.services.runs import calculate_period
from genealogy.models import Distributor, DistributorStatus
from genealogy.services import place_pending_distributors
from tests.clock import Clock
from tests.commissions.conftest import PERIOD
from tests.factories import CustomerFactory, buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

ORACLE_PLAN = {
    "name": "Oracle plan",
    "activity": {"personal_pv": "40"},
    "ranks": [
        {"code": "member", "personal_pv": "40", "unilevel_levels": 2},
        {
            "code": "bronze",
            "personal_pv": "40",
            "group_volume": "200",
            "leg_cap_percent": "60",
            "personally_enrolled_active": 1,
            "unilevel_levels": 3,
            "matching_generations": 1,
            "advancement_bonus": "5",
        },
        {
            "code": "silver",
            "personal_pv": "60",
            "group_volume": "400",
            "leg_cap_percent": "50",
            "qualified_legs": {"count": 1, "min_rank": "bronze"},
            "personally_enrolled_active": 2,
            "unilevel_levels": 4,
            "matching_generations": 2,
            "advancement_bonus": "20",
        },
    ],
    "unilevel": {"percents": ["5", "4", "3", "7.5"]},
    "matching": {"percents": ["10", "5"]},
    "retail_profit": {"enabled": True},
    "fast_start": {"percent": "10", "days": 20, "basis": "cv"},
    "payout_cap": {
        "percent_of_cv": "22",
        "method": "protect_kinds",
        "protected_kinds": ["retail_profit"],
    },
    "minimum_payout": "3",
}


def random_company(seed: int) -> None:
    rng = random.Random(seed)
    people: list[Distributor] = []
    for _ in range(22):
        sponsor = rng.choice(people) if people and rng.random() < 0.85 else None
        people.append(make_distributor(sponsor=sponsor, place=False))
    place_pending_distributors()
    for person in people:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            paid_at = dt.datetime(2026, 3, rng.randint(1, 28), 15, tzinfo=dt.UTC)
            volume = str(rng.choice([15, 25, 40, 60, 85]))
            if rng.random() < 0.3:
                customer = CustomerFactory(distributor=person)
                buy(
                    person,
                    volume,
                    paid_at=paid_at,
                    customer=customer,
                    profit=str(rng.randint(1, 9)),
                )
            else:
                buy(person, volume, paid_at=paid_at)

    for person in people:
        roll = rng.random()
        status = (
            DistributorStatus.TERMINATED
            if roll < 0.05
            else DistributorStatus.INACTIVE
            if roll < 0.15
            else DistributorStatus.ACTIVE
        )
        joined = dt.date(2026, 3, rng.randint(1, 28)) if rng.random() < 0.3 else dt.date(2025, 1, 1)
        Distributor.objects.filter(pk=person.pk).update(status=status, joined_on=joined)


def engine_view(run) -> tuple[dict, dict]:
    people = {
        r.distributor_id: {
            "paid_as_rank": r.paid_as_rank,
            "period_total": r.period_total,
            "balance": r.balance,
            "payable": r.payable,
        }
        for r in DistributorResult.objects.filter(run=run)
    }
    lines = defaultdict(int)
    for line in CommissionLine.objects.filter(run=run):
        lines[(line.earner_id, line.kind, line.level, line.source_id, line.source_line_id)] += (
            line.amount
        )
    return people, dict(lines)


def naive_view(outcome) -> tuple[dict, dict]:
    lines = defaultdict(int)
    for line in outcome["lines"]:
        source = None if line["kind"] == 0 else line["source"]
        lines[(line["earner"], line["kind"], line["level"], source, line["source_line"])] += line[
            "paid"
        ]
    return outcome["people"], {key: value for key, value in lines.items() if value or key[1] != 0}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("compression", ["dynamic", "none", "skip_inactive"])
def test_engine_service_matches_the_naive_orm_implementation(seed, compression, monkeypatch):
    # The company joined before March (the month is calculated with the tree as of its end)
    clock = Clock(monkeypatch, dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC))
    random_company(seed)
    clock.set(dt.datetime(2026, 4, 2, 12, tzinfo=dt.UTC))
    version = make_plan_version(ORACLE_PLAN, compression=compression)

    run = calculate_period(period=PERIOD)
    expected_people, expected_lines = naive_view(naive_period(PERIOD, version.plan))
    people, lines = engine_view(run)

    assert people == expected_people
    assert {k: v for k, v in lines.items() if v or k[1] != 0} == expected_lines
    assert run.summary["total_cv"] > 0
