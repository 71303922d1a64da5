"""'Highest rank reached' has one definition (commissions.selectors.highest_ranks): the
``highest_rank`` of the latest closed period's final run, which the engine carries from run to
run. Training audiences and messaging read it from there."""

from __future__ import annotations

import datetime as dt

import pytest

from commissions.selectors import highest_ranks, latest_closed_run_id
from messaging.selectors import highest_rank_of
from tests.factories import closed_period_with_results, make_distributor
from training.selectors import items_for_distributor

pytestmark = pytest.mark.django_db


def test_highest_rank_is_the_latest_closed_runs_figure_not_an_older_one():
    person, other = make_distributor(), make_distributor()
    closed_period_with_results(dt.date(2025, 1, 1), {person: (0, 2, 2), other: (0, 1, 1)})
    # February's run carried a lower highest rank (e.g. a plan with fewer ranks capped it).
    february = closed_period_with_results(
        dt.date(2025, 2, 1), {person: (0, 1, 1), other: (0, 1, 1)}
    )
    # A month calculated but not closed is not official yet.
    closed_period_with_results(dt.date(2025, 3, 1), {person: (0, 3, 3)}, status="calculated")

    assert latest_closed_run_id() == february.current_run_id
    assert highest_ranks([person.pk, other.pk]) == {person.pk: 1, other.pk: 1}


def test_training_and_messaging_read_the_same_highest_rank():
    person = make_distributor()
    assert highest_ranks([person.pk]) == {}
    assert highest_rank_of(person) == 0

    closed_period_with_results(dt.date(2025, 1, 1), {person: (0, 2, 2)})
    closed_period_with_results(dt.date(2025, 2, 1), {person: (0, 1, 1)})

    assert highest_rank_of(person) == highest_ranks([person.pk])[person.pk] == 1


def test_a_training_item_for_a_rank_follows_the_one_definition():
    from tests.factories import TrainingItemFactory, make_plan_version
    from tests.training.test_library import RANKED_PLAN

    make_plan_version(RANKED_PLAN)
    person = make_distributor()
    gold = TrainingItemFactory(title="Gold leadership", min_rank_code="gold")
    closed_period_with_results(dt.date(2025, 1, 1), {person: (0, 2, 2)})
    assert gold in items_for_distributor(person)

    closed_period_with_results(dt.date(2025, 2, 1), {person: (0, 1, 1)})

    assert gold not in items_for_distributor(person)
