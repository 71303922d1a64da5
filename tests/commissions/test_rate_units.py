"""Ledger lines keep the rate unit they were posted in: lines of runs before engine 1.2.0 have
``rate_ppm`` (parts per million of 1) and are never rewritten; new runs write ``rate_units``
(1e-8 of 1, six decimals of a percent). Statements, the CSV and the privacy export read both."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from commissions.models import CommissionLine, LineKind
from commissions.services.close import close_period
from commissions.services.runs import calculate_period
from portal.privacy import personal_data
from tests.commissions.conftest import PERIOD, build_chain
from tests.factories import (
    COMMISSION_TEST_PLAN,
    PASSWORD,
    closed_period_with_results,
    make_plan_version,
)

pytestmark = pytest.mark.django_db(transaction=True)

OLD_MONTH = dt.date(2026, 2, 1)  # a month "posted by engine 1.1": its line is in ppm


def login(client, distributor) -> None:
    assert client.login(email=distributor.user.email, password=PASSWORD)


@pytest.fixture
def ledger(db):
    """February posted in the old unit (2.5 % as 25,000 ppm), March run by this engine with a
    level 1 of 3.333333 %."""
    chain = build_chain()
    doc = copy.deepcopy(COMMISSION_TEST_PLAN)
    doc["unilevel"] = {"percents": ["3.333333", "5", "10"]}
    version = make_plan_version(doc)
    old = closed_period_with_results(OLD_MONTH, {chain.dee: (500, 0, 0)}, plan_version=version)
    CommissionLine.objects.create(
        run=old.current_run,
        earner=chain.dee,
        kind=LineKind.UNILEVEL,
        level=1,
        source=chain.eve,
        base=20_000,
        rate_ppm=25_000,
        amount_before_cap=500,
        amount=500,
        position=0,
    )
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    return chain


def test_new_lines_carry_the_new_unit_and_old_lines_keep_theirs(ledger):
    new = CommissionLine.objects.get(earner=ledger.dee, run__period__month=PERIOD.first_day)
    old = CommissionLine.objects.get(earner=ledger.dee, run__period__month=OLD_MONTH)

    assert (new.rate_ppm, new.rate_units) == (None, 3_333_333)
    assert str(new.rate_percent) == "3.333333"
    # Eve's 200 CV at 3.333333 % = 6.666666 → 6.67 (half up).
    assert (new.base, new.amount) == (20_000, 667)
    assert (old.rate_ppm, old.rate_units) == (25_000, None)
    assert (old.rate, str(old.rate_percent)) == (2_500_000, "2.5")


def test_statement_pages_show_the_six_decimals_and_the_old_rate(client, ledger):
    login(client, ledger.dee)

    march = client.get(reverse("earnings_statement", args=[str(PERIOD)])).content.decode()
    february = client.get(reverse("earnings_statement", args=["2026-02"])).content.decode()

    assert "3.333333 %" in march
    assert "2.5 %" in february
    assert "0.025 %" not in february  # not read as if it were in the new unit


def test_the_csv_and_the_privacy_export_give_both_rates(client, ledger):
    login(client, ledger.dee)
    csv = client.get(reverse("earnings_statement_csv", args=[str(PERIOD)])).content.decode()
    assert "3.333333" in csv

    rates = {
        (line["period"], line["rate_percent"])
        for line in json.loads(json.dumps(personal_data(ledger.dee.user), default=str))[
            "statement_lines"
        ]
    }
    assert ("2026-02", "2.5") in rates
    assert ("2026-03", "3.333333") in rates


def test_a_line_has_exactly_one_rate_unit(ledger):
    run = CommissionLine.objects.filter(earner=ledger.dee).first().run
    for rates in ({"rate_ppm": 50_000, "rate_units": 5_000_000}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            CommissionLine.objects.create(
                run_id=run.pk,
                earner=ledger.dee,
                kind=LineKind.UNILEVEL,
                level=1,
                base=1,
                amount_before_cap=0,
                amount=0,
                position=99,
                **rates,
            )
