import datetime as dt
import zoneinfo
from decimal import Decimal

import numpy as np
import pytest
from django.db import connection

from core.periods import Period
from orders.models import RefundReason
from orders.services import order_refund
from orders.volume import (
    TOTAL_COLUMNS,
    clawback_refund_lines,
    company_volume,
    distributor_volume,
    moved_lines_sql,
    period_line_arrays,
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


def refunded_world(vitamins, shake):
    """Two people; paid, retail and refunded lines in March, a refund of March in April."""
    ann, ben = make_distributor(), make_distributor()
    customer = CustomerFactory(distributor=ann)
    march = make_order(distributor=ann, items={vitamins: 3}, paid_at=local(2026, 3, 2, 9))
    make_order(distributor=ann, items={shake: 2}, customer=customer, paid_at=local(2026, 3, 5, 9))
    make_order(distributor=ben, items={shake: 1}, paid_at=local(2026, 3, 31, 23, 30))
    line = march.lines.get()
    order_refund(
        order=march, quantities={line.pk: 1}, reason=RefundReason.RETURN, now=local(2026, 3, 9)
    )
    order_refund(
        order=march, quantities={line.pk: 2}, reason=RefundReason.RETURN, now=local(2026, 4, 9)
    )
    return ann, ben


def test_company_volume_is_the_sum_of_everyones_period_totals(company_zone, vitamins, shake):
    refunded_world(vitamins, shake)
    for period in (Period(2026, 3), Period(2026, 4)):
        totals = period_totals(period)
        company = company_volume(period=period)
        for name in TOTAL_COLUMNS:
            assert getattr(company, name) * 100 == int(getattr(totals, name).sum()), name
    assert company_volume(period=Period(2026, 4)).pv == Decimal("-40.00")  # the April refund


def moved_sums(sql: str, params: dict) -> dict[int, tuple[int, int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT distributor_id, SUM(pv) * 100, SUM(cv) * 100, SUM(amount) * 100, "  # noqa: S608
            f"SUM(retail_profit) * 100 FROM ({sql}) m GROUP BY distributor_id",
            params,
        )
        return {row[0]: tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}


def test_moved_lines_sql_sums_to_the_period_totals(company_zone, vitamins, shake):
    refunded_world(vitamins, shake)
    columns = ["distributor_id", "pv", "cv", "amount", "retail_profit"]
    for period in (Period(2026, 3), Period(2026, 4)):
        totals = period_totals(period)
        expected = {
            int(person): (int(totals.pv[i]), int(totals.cv[i]), int(totals.retail_profit[i]))
            for i, person in enumerate(totals.distributor_ids)
        }
        got = moved_sums(moved_lines_sql(columns), {"month": period.first_day})
        assert {k: (pv, cv, profit) for k, (pv, cv, _, profit) in got.items()} == expected
    # retail amount through the SQL equals the volume service's retail sales
    retail = moved_lines_sql(["distributor_id", "purpose", "amount"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT SUM(amount) * 100 FROM ({retail}) m WHERE purpose = 'retail'",  # noqa: S608
            {"month": Period(2026, 3).first_day},
        )
        assert int(cursor.fetchone()[0]) == int(period_totals(Period(2026, 3)).retail_sales.sum())


def test_moved_lines_sql_over_a_range_of_months(company_zone, vitamins, shake):
    ann, ben = refunded_world(vitamins, shake)
    sql = moved_lines_sql(["distributor_id", "pv", "cv", "amount", "retail_profit"], since="since")
    got = moved_sums(sql, {"since": Period(2026, 3).first_day, "month": Period(2026, 5).first_day})
    march, april = period_totals(Period(2026, 3)), period_totals(Period(2026, 4))
    for person in (ann.pk, ben.pk):
        pv = march.for_distributor(person)["pv"] + april.for_distributor(person)["pv"]
        assert got[person][0] == pv
    # the range stops before `month`
    only_march = moved_sums(
        sql, {"since": Period(2026, 3).first_day, "month": Period(2026, 4).first_day}
    )
    assert only_march[ann.pk][0] == march.for_distributor(ann.pk)["pv"]


def test_moved_lines_sql_refuses_unknown_columns_and_parameter_names():
    with pytest.raises(ValueError, match="unknown"):
        moved_lines_sql(["distributor_id", "price; DROP TABLE x"])
    with pytest.raises(ValueError, match="unknown"):
        moved_lines_sql([])
    with pytest.raises(ValueError, match="identifiers"):
        moved_lines_sql(["pv"], month="month)s; --")
