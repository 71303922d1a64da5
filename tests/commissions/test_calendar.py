"""The shared commission calendar: read once, and never older than the rows it comes from."""

from __future__ import annotations

import pytest
from django.utils import timezone

from commissions.calendar import commission_calendar
from commissions.models import CommissionRun
from commissions.services.close import close_period
from commissions.services.runs import calculate_period, refresh_projection
from core.periods import Period
from tests.commissions.conftest import PAID_AT, PERIOD, build_chain
from tests.factories import buy, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

NOW = PAID_AT.replace(month=4)  # the open month is April 2026; March can be closed


def test_the_calendar_is_read_once_then_served_from_the_cache(django_assert_num_queries):
    make_plan_version()
    first = commission_calendar(NOW)

    with django_assert_num_queries(0):
        again = commission_calendar(NOW)

    assert again == first
    assert first.period == Period(2026, 4) and first.plan is not None
    assert first.locked_periods == () and first.projection_run is None


def test_closing_a_month_shows_in_the_calendar_at_once():
    build_chain()
    make_plan_version()
    assert commission_calendar(NOW).locked_periods == ()

    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    (month, status, run_id) = commission_calendar(NOW).locked_periods[0]
    assert (month, status) == (PERIOD.first_day, "closed")
    assert CommissionRun.objects.get(pk=run_id).is_final


def test_a_projection_refresh_moves_the_calendar_even_with_unchanged_inputs():
    chain = build_chain()
    make_plan_version()
    buy(chain.ann, "100", paid_at=timezone.now())
    run = refresh_projection()
    assert commission_calendar().projection_run == run

    again = refresh_projection()  # same inputs: only the run's "as of" time moves

    assert again.pk == run.pk
    seen = commission_calendar().projection_run
    assert seen.as_of == CommissionRun.objects.get(pk=run.pk).as_of
    assert seen.as_of > run.as_of
