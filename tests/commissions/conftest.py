"""Shared set-up for the commission service tests: the worked example as real people and orders.

Ann → Ben → Cal → Dee → Eve (each sponsors the next, under the house). PV = CV: Ann 100, Ben 0
(inactive), Cal 120, Dee 100, Eve 200, all paid in March 2026. The test plan needs 100 PV to be
active and pays 5 %, 5 %, 10 % on three levels.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from core.periods import Period
from genealogy.models import Distributor
from tests.factories import buy, make_distributor, make_plan_version

PERIOD = Period(2026, 3)
PAID_AT = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)


@dataclass
class Chain:
    ann: Distributor
    ben: Distributor
    cal: Distributor
    dee: Distributor
    eve: Distributor

    @property
    def people(self) -> list[Distributor]:
        return [self.ann, self.ben, self.cal, self.dee, self.eve]


def build_chain() -> Chain:
    people = []
    sponsor = None
    for name in ("Ann Avery", "Ben Ortiz", "Cal Diaz", "Dee Brown", "Eve Stone"):
        sponsor = make_distributor(sponsor=sponsor, name=name)
        people.append(sponsor)
    chain = Chain(*people)
    for person, volume in (
        (chain.ann, "100"),
        (chain.cal, "120"),
        (chain.dee, "100"),
        (chain.eve, "200"),
    ):
        buy(person, volume, paid_at=PAID_AT)
    return chain


@pytest.fixture
def chain(db) -> Chain:
    return build_chain()


@pytest.fixture
def plan_version(db):
    return make_plan_version()
