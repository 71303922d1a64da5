import datetime as dt
import zoneinfo
from decimal import Decimal

import numpy as np
import pytest

from core.periods import Period
from orders.models import RefundReason
from orders.services import order_refund
from orders.volume import (
    clawback_refund_lines,
    distributor_volume,
    period_line_arrays,
    period_order_lines,
    period_totals,
)
from tests.factories import CustomerFactory, make_distributor, make_order

pytestmark = pytest.mark.django_db

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)


def test_payment_at_2330_on_the_last_local_day_counts_in_that_month(company_zone, vitamins):
    # Given a payment at 23:30 on 31 March in New York (03:30 on 1 April in UTC)
    person = make_distributor()
    paid_at = local(2026, 3, 31, 23, 30)
    assert paid_at.astimezone(dt.UTC).month == 4
    make_order(distributor=person, items={vitamins: 1}, paid_at=paid_at)

    # When the volume service reads March and April
    march = period_totals(Period(2026, 3))
    april = period_totals(Period(2026, 4))

    # Then the volume is March's
    assert march.for_distributor(person.pk)["pv"] == 2000
    assert april.for_distributor(person.pk)["pv"] == 0
    assert Period.containing(paid_at) == Period(2026, 3)


def test_payment_just_after_local_midnight_counts_in_the_next_month(company_zone, vitamins):
    person = make_distributor()
    make_order(distributor=person, items={vitamins: 1}, paid_at=local(2026, 4, 1, 0, 0))
    assert period_totals(Period(2026, 3)).for_distributor(person.pk)["pv"] == 0
    assert period_totals(Period(2026, 4)).for_distributor(person.pk)["pv"] == 2000


def test_hand_built_period(company_zone, vitamins, shake):
    # Given: Ann buys for herself and sells to a customer in March; Bob's order is unpaid;
    # Carl's is cancelled; a refund in March takes back one unit of a February order.
    ann, bob, carl = make_distributor(), make_distributor(), make_distributor()
    customer = CustomerFactory(distributor=ann)
    february = make_order(distributor=ann, items={vitamins: 2}, paid_at=local(2026, 2, 10, 9))
    make_order(distributor=ann, items={shake: 1}, paid_at=local(2026, 3, 2, 9))
    retail = make_order(
        distributor=ann,
        items={vitamins: 1, shake: 2},
        customer=customer,
        paid_at=local(2026, 3, 15, 9),
    )
    make_order(distributor=bob, items={vitamins: 4}, placed_at=local(2026, 3, 3))
    from orders.services import order_cancel

    order_cancel(order=make_order(distributor=carl, items={vitamins: 1}), reason="no")
    order_refund(
        order=february,
        quantities={february.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=local(2026, 3, 20, 9),
    )
    order_refund(
        order=retail,
        quantities={retail.lines.get(sku="SHK").pk: 1},
        reason=RefundReason.RETURN,
        now=local(2026, 4, 2, 9),
    )

    # When
    march = period_totals(Period(2026, 3))
    figures = march.for_distributor(ann.pk)

    # Then: paid in March minus refunded in March, split by purpose, in cents
    # personal: shake 32.50 PV / 29.25 CV, minus one vitamins 20 / 18 refunded
    # retail:   vitamins 20 + 2 × shake 32.50 = 85 PV; 18 + 58.50 = 76.50 CV
    assert figures == {
        "pv": 3250 - 2000 + 8500,
        "cv": 2925 - 1800 + 7650,
        "personal_pv": 1250,
        "personal_cv": 1125,
        "retail_pv": 8500,
        "retail_cv": 7650,
        "retail_sales": 3200 + 2 * 5249,
        "retail_profit": 800 + 2 * 1250,
    }
    assert bob.pk not in march.distributor_ids  # unpaid
    assert carl.pk not in march.distributor_ids  # cancelled
    assert march.pv.dtype == np.int64
    assert list(march.distributor_ids) == sorted(march.distributor_ids)

    single = distributor_volume(distributor_id=ann.pk, period=Period(2026, 3))
    assert single.pv == Decimal("97.50")
    assert single.retail_profit == Decimal("33.00")

    # The April refund of a March order is a clawback for April, not for March
    assert list(clawback_refund_lines(Period(2026, 3)).values_list("order_id", flat=True)) == [
        february.pk
    ]
    april_clawbacks = list(clawback_refund_lines(Period(2026, 4)))
    assert [(r["order_id"], r["cv"]) for r in april_clawbacks] == [(retail.pk, Decimal("29.25"))]
    assert period_totals(Period(2026, 4)).for_distributor(ann.pk)["retail_profit"] == -1250

    lines = list(period_order_lines(Period(2026, 3)))
    assert {(r["purpose"], r["customer_id"]) for r in lines} == {
        ("personal", None),
        ("retail", customer.pk),
    }
    arrays = period_line_arrays(Period(2026, 3))
    assert len(arrays.line_id) == 3
    assert set(arrays.buyer_id.tolist()) == {ann.pk}
    assert arrays.cv.sum() == 2925 + 1800 + 2 * 2925
    days = {(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))) for d in arrays.paid_day}
    assert days == {dt.date(2026, 3, 2), dt.date(2026, 3, 15)}


def test_empty_period_gives_empty_arrays():
    totals = period_totals(Period(2030, 1))
    assert len(totals) == 0
    assert totals.cv.dtype == np.int64
