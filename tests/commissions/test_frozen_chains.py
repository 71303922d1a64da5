"""The frozen uplines of a run, for several people in one query (a refund batch's buyers)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions.selectors import frozen_chain, frozen_chains
from commissions.services.runs import calculate_period
from tests.commissions.conftest import PERIOD

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_chain_in_one_query_nearest_first(chain, plan_version):
    run = calculate_period(period=PERIOD)
    plan = run.plan_version.plan
    people = [chain.eve, chain.cal, chain.ann]

    with CaptureQueriesContext(connection) as queries:
        chains = frozen_chains(run.pk, [p.pk for p in people], plan)

    assert len(queries) == 1
    eve_uplines = [upline.distributor_id for upline in chains[chain.eve.pk]]
    assert eve_uplines[:4] == [chain.dee.pk, chain.cal.pk, chain.ben.pk, chain.ann.pk]
    for person in people:
        assert chains[person.pk] == frozen_chain(run.pk, person.pk, plan)
    assert frozen_chains(run.pk, [], plan) == {}
