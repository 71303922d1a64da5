"""Staff rank overrides: a distributor paid as at least a rank in an open month, with a reason
on their statement; append-only, newest wins, closed months refused, admin for staff with MFA.

Engine rule (``engine/rank_grace.py``): paid-as = max(qualified, override), active people only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from commissions.engine import run_engine
from commissions.errors import CommissionError
from commissions.models import RankOverride
from commissions.selectors import statement
from commissions.services.periods import period_row
from commissions.services.rank_overrides import rank_override_create
from commissions.services.runs import calculate_period
from tests.clock import Clock
from tests.commissions.engine.builders import make_inputs, make_plan
from tests.commissions.month_ends import (
    FEBRUARY,
    JANUARY,
    calculate_and_close,
    mid_month,
    result_of,
)
from tests.factories import UserFactory, buy, log_in_with_mfa, make_distributor, make_plan_version

RANKS = [
    {"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 1},
    {
        "code": "silver",
        "name": "Silver",
        "personal_pv": "100",
        "group_volume": "300",
        "unilevel_levels": 2,
    },
    {
        "code": "gold",
        "name": "Gold",
        "personal_pv": "100",
        "group_volume": "1000",
        "unilevel_levels": 3,
    },
]
PLAN = {
    "name": "Override plan",
    "activity": {"personal_pv": "100"},
    "ranks": RANKS,
    "unilevel": {"percents": ["5", "5", "10"]},
}


def engine_paid_as(override: list[int], pv: list[str], parent: list[int] | None = None):
    plan = make_plan(ranks=RANKS)
    inputs = dataclasses.replace(
        make_inputs(parent or [-1] * len(pv), pv),
        rank_override=np.array(override, dtype=np.int16),
    )
    return [int(rank) for rank in run_engine(plan, inputs).paid_as_rank]


def test_an_override_lifts_the_paid_as_rank_to_at_least_its_rank():
    # PV 100 alone qualifies Member (1); override Gold (3): paid as Gold.
    assert engine_paid_as([3], ["100"]) == [3]


def test_an_override_below_the_qualified_rank_changes_nothing():
    # GV 1,000 qualifies Gold; an override to Member does not lower it ("at least").
    assert engine_paid_as([1], ["1000"]) == [3]


def test_an_override_does_not_make_an_inactive_person_hold_a_rank():
    # PV 50 < 100: not active, so no rank whatever staff decided.
    assert engine_paid_as([3], ["50"]) == [0]


def test_an_override_rank_pays_that_ranks_levels():
    # Ann → Bob → Cat → Dan, PV 100, 100, 0, 100. Ann's GV 300 is Silver (2 levels); override
    # Gold unlocks level 3: Dan's 100.00 CV pays Ann 10 % = 10.00 there.
    plan = make_plan(ranks=RANKS)
    base = make_inputs([-1, 0, 1, 2], ["100", "100", "0", "100"])
    result = run_engine(
        plan, dataclasses.replace(base, rank_override=np.array([3, 0, 0, 0], dtype=np.int16))
    )
    level_three = [line for line in result.lines.as_tuples() if line[0] == 0 and line[2] == 3]
    assert [(line[3], line[8]) for line in level_three] == [(3, 1000)]
    plain = run_engine(plan, base)
    assert not [line for line in plain.lines.as_tuples() if line[0] == 0 and line[2] == 3]


# --- Through the services ----------------------------------------------------------------------

pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
def test_an_override_in_an_open_month_is_paid_and_explained(monkeypatch):
    # Given Ann alone with 100 PV in February (Member), staff override her to Gold
    make_plan_version(PLAN, effective_from=dt.date(2026, 1, 1))
    clock = Clock(monkeypatch, mid_month(FEBRUARY))
    staff = UserFactory(is_staff=True)
    ann = make_distributor(name="Ann Override")
    buy(ann, "100", paid_at=mid_month(FEBRUARY))
    rank_override_create(
        distributor=ann, period=FEBRUARY, rank_code="gold", reason="Leadership award", by=staff
    )
    # When February is calculated at its end
    clock.set(FEBRUARY.end + dt.timedelta(days=1))
    calculate_period(period=FEBRUARY)
    # Then she is paid as Gold and her statement says why
    assert result_of(FEBRUARY, ann).paid_as_rank == 3
    data = statement(ann, period_row(FEBRUARY))
    assert data.paid_as_rank == "Gold"
    assert data.paid_as_note == "paid as Gold by staff decision: Leadership award"


@pytestmark_db
def test_the_newest_override_wins_and_an_empty_rank_withdraws_it(monkeypatch):
    make_plan_version(PLAN, effective_from=dt.date(2026, 1, 1))
    clock = Clock(monkeypatch, mid_month(FEBRUARY))
    ann = make_distributor(name="Ann Newest")
    buy(ann, "100", paid_at=mid_month(FEBRUARY))
    clock.set(FEBRUARY.end + dt.timedelta(days=1))
    rank_override_create(distributor=ann, period=FEBRUARY, rank_code="gold", reason="a", by=None)
    rank_override_create(distributor=ann, period=FEBRUARY, rank_code="silver", reason="b", by=None)
    calculate_period(period=FEBRUARY)
    assert result_of(FEBRUARY, ann).paid_as_rank == 2  # Silver, the newest row
    rank_override_create(distributor=ann, period=FEBRUARY, rank_code="", reason="error", by=None)
    calculate_period(period=FEBRUARY)
    assert result_of(FEBRUARY, ann).paid_as_rank == 1  # withdrawn: Member as qualified
    assert statement(ann, period_row(FEBRUARY)).paid_as_note == ""


@pytestmark_db
def test_overrides_are_append_only():
    make_plan_version(PLAN, effective_from=dt.date(2026, 1, 1))
    ann = make_distributor(name="Ann Append")
    row = rank_override_create(
        distributor=ann, period=FEBRUARY, rank_code="gold", reason="award", by=None
    )
    for change in (
        lambda: RankOverride.objects.filter(pk=row.pk).update(rank_code="silver"),
        lambda: RankOverride.objects.filter(pk=row.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    assert RankOverride.objects.get(pk=row.pk).rank_code == "gold"


@pytestmark_db
def test_a_closed_month_an_unknown_rank_and_a_missing_reason_are_refused(monkeypatch):
    make_plan_version(PLAN, effective_from=dt.date(2026, 1, 1))
    clock = Clock(monkeypatch, mid_month(JANUARY))
    ann = make_distributor(name="Ann Refused")
    buy(ann, "100", paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    with pytest.raises(CommissionError, match="only an open month"):
        rank_override_create(distributor=ann, period=JANUARY, rank_code="gold", reason="x", by=None)
    with pytest.raises(CommissionError, match="not a rank of the plan"):
        rank_override_create(
            distributor=ann, period=FEBRUARY, rank_code="diamond", reason="x", by=None
        )
    with pytest.raises(CommissionError, match="needs a reason"):
        rank_override_create(
            distributor=ann, period=FEBRUARY, rank_code="gold", reason="  ", by=None
        )
    assert not RankOverride.objects.exists()


@pytest.mark.django_db
def test_staff_with_mfa_add_an_override_in_the_admin_and_cannot_edit_it(client):
    make_plan_version(PLAN, effective_from=dt.date(2026, 1, 1))
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    ann = make_distributor(name="Ann Admin")
    response = client.post(
        reverse("admin:commissions_rankoverride_add"),
        {"distributor": ann.pk, "month": "2026-02", "rank_code": "gold", "reason": "award"},
        follow=True,
    )
    assert response.status_code == 200
    row = RankOverride.objects.get()
    assert (row.distributor_id, row.period, row.rank_code, row.by_id) == (
        ann.pk,
        dt.date(2026, 2, 1),
        "gold",
        staff.pk,
    )
    assert f"#{ann.number}" in response.content.decode()
    change = client.post(
        reverse("admin:commissions_rankoverride_change", args=[row.pk]),
        {"distributor": ann.pk, "month": "2026-02", "rank_code": "member", "reason": "edit"},
    )
    assert change.status_code in (302, 403)
    assert RankOverride.objects.get().rank_code == "gold"


@pytest.mark.django_db
def test_staff_without_mfa_cannot_add_an_override(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    ann = make_distributor(name="Ann NoMfa")
    client.post(
        reverse("admin:commissions_rankoverride_add"),
        {"distributor": ann.pk, "month": "2026-02", "rank_code": "gold", "reason": "award"},
    )
    assert not RankOverride.objects.exists()


@pytestmark_db
def test_a_month_before_a_closed_one_without_a_period_is_refused(monkeypatch):
    # January 2026 closes; December 2025 never had a period row: creating one now would leave
    # an open month behind a closed one, so the override is refused and no row is created.
    from commissions.models import CommissionPeriod

    make_plan_version(PLAN, effective_from=dt.date(2020, 1, 1))
    clock = Clock(monkeypatch, mid_month(JANUARY))
    ann = make_distributor(name="Ann Past")
    buy(ann, "100", paid_at=mid_month(JANUARY))
    calculate_and_close(JANUARY, clock)
    december = JANUARY.previous()
    with pytest.raises(CommissionError, match="later months are closed"):
        rank_override_create(
            distributor=ann, period=december, rank_code="gold", reason="x", by=None
        )
    assert not CommissionPeriod.objects.filter(month=december.first_day).exists()
    rank_override_create(distributor=ann, period=FEBRUARY, rank_code="gold", reason="x", by=None)
