"""Which pay week a line counts in (``commissions/services/pay_weeks.py``): the week its money
moved in while that week is open, else the first open week after it, stored on the line when it
is paid or refunded; lines paid before a weekly plan version was stored count in the week they
were paid in, across a daylight-saving change."""

from __future__ import annotations

import copy
import datetime as dt
import json
import zoneinfo

import pytest

from commissions.gather_week import gather_week
from commissions.models import Clawback, CommissionLine, LineKind
from commissions.services.pay_weeks import commission_week_for
from commissions.services.plans import plan_version_create
from commissions.services.weeks import calculate_week, close_week
from core.periods import Week
from genealogy.models import Distributor
from orders.models import OrderLine, RefundLine, RefundReason
from orders.services import order_refund
from tests.factories import COMMISSION_TEST_PLAN, buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
FIRST = Week(dt.date(2026, 3, 2))  # Monday 2 – Sunday 8 March 2026 (DST starts on the 8th)
SECOND = FIRST.next()
AFTER_GRACE = dt.datetime(2026, 4, 20, 12, tzinfo=dt.UTC)


def weekly_document(week_starts: str = "monday") -> dict:
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["fast_start"] = {"percent": "10", "days": 60, "basis": "cv"}
    document["schedules"] = {
        "weekly": {
            "components": ["fast_start"],
            "week_starts": week_starts,
            "minimum_payout": "0",
            "activity_weeks": 4,
        }
    }
    return document


def store(document: dict, effective_from=dt.date(2026, 1, 1)) -> None:
    plan_version_create(source=json.dumps(document), effective_from=effective_from)


def week_of(order) -> dt.date | None:
    return OrderLine.objects.get(order=order).commission_week


@pytest.fixture
def pair():
    ann = make_distributor(name="Ann Avery")
    cal = make_distributor(sponsor=ann, name="Cal Diaz")
    Distributor.objects.filter(pk__in=[ann.pk, cal.pk]).update(joined_on=dt.date(2026, 2, 1))
    return ann, cal


def test_no_week_without_a_weekly_plan(pair):
    make_plan_version()
    order = buy(pair[1], "100", paid_at=dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC))
    assert week_of(order) is None
    assert commission_week_for(dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC)) is None


def test_a_payment_dated_in_a_closed_week_counts_in_the_next_open_week(pair):
    ann, cal = pair
    store(weekly_document())
    buy(ann, "100", paid_at=FIRST.start + dt.timedelta(days=1))
    first_order = buy(cal, "100", paid_at=FIRST.start + dt.timedelta(days=1))
    assert week_of(first_order) == FIRST.first_day
    calculate_week(week=FIRST)
    close_week(week=FIRST, now=AFTER_GRACE)
    # A payment recorded now with a date in the first, closed week (an import, a late bank
    # file) counts in the second week, and is paid there: 10 % fast start to Ann.
    late = buy(cal, "50", paid_at=FIRST.start + dt.timedelta(days=2))
    assert week_of(late) == SECOND.first_day
    second = calculate_week(week=SECOND)
    assert list(
        CommissionLine.objects.filter(run=second, kind=LineKind.FAST_START).values_list(
            "earner_id", "source_line_id", "amount"
        )
    ) == [(ann.pk, late.lines.get().pk, 500)]
    # A refund of the first order dated in the closed week counts in the open one too, and
    # takes back the 10.00 the first week paid on it.
    order_refund(
        order=first_order,
        quantities={first_order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=FIRST.start + dt.timedelta(days=3),
    )
    assert RefundLine.objects.get().commission_week == SECOND.first_day
    calculate_week(week=SECOND)
    assert list(
        Clawback.objects.filter(period__month=SECOND.first_day).values_list("earner_id", "amount")
    ) == [(ann.pk, -1_000)]


def test_lines_paid_before_the_weekly_version_count_in_the_week_they_were_paid_in(pair):
    ann, cal = pair
    make_plan_version(effective_from=dt.date(2026, 1, 1))  # monthly only: no weeks
    moments = [
        dt.datetime(2026, 3, 7, 23, 59, tzinfo=NEW_YORK),  # a Saturday: the week of 1 March
        # Around the DST change of Sunday 8 March 2026 in New York (02:00 → 03:00), and the
        # last minutes of weeks in company time that are already the next day in UTC.
        dt.datetime(2026, 3, 8, 1, 59, tzinfo=NEW_YORK),
        dt.datetime(2026, 3, 8, 3, 0, tzinfo=NEW_YORK),
        dt.datetime(2026, 3, 14, 23, 30, tzinfo=NEW_YORK),
        dt.datetime(2026, 3, 15, 0, 30, tzinfo=NEW_YORK),
    ]
    lines = [buy(cal, "10", paid_at=moment).lines.get().pk for moment in moments]
    assert all(OrderLine.objects.get(pk=line).commission_week is None for line in lines)
    # Sunday weeks from March on, stored after the payments: nothing is rewritten, and each
    # week counts the lines paid in it.
    store(weekly_document("sunday"), effective_from=dt.date(2026, 3, 1))
    assert all(OrderLine.objects.get(pk=line).commission_week is None for line in lines)
    counted = {
        first_day: set(gather_week(Week(first_day)).inputs.line_id.tolist())
        for first_day in (dt.date(2026, 3, 1), dt.date(2026, 3, 8), dt.date(2026, 3, 15))
    }
    assert counted == {
        dt.date(2026, 3, 1): {lines[0]},
        dt.date(2026, 3, 8): {lines[1], lines[2], lines[3]},
        dt.date(2026, 3, 15): {lines[4]},
    }
    # A payment recorded now for the first (open) week is given that week.
    later = buy(ann, "10", paid_at=dt.datetime(2026, 3, 2, 12, tzinfo=NEW_YORK))
    assert week_of(later) == dt.date(2026, 3, 1)
