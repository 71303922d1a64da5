import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from orders.models import RefundLine
from orders.services import order_refund
from tests.factories import make_distributor, make_order

pytestmark = pytest.mark.django_db(transaction=True)


def test_simultaneous_refunds_never_give_back_more_than_was_bought(vitamins):
    # Given a paid line of 5 units
    order = make_order(
        distributor=make_distributor(),
        items={vitamins: 5},
        paid_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
    )
    line_id = order.lines.get().pk
    start = threading.Barrier(8)

    def refund_three(_index: int) -> str:
        try:
            start.wait()
            order_refund(order=order, quantities={line_id: 3}, reason="return")
            return "refunded"
        except ValidationError:
            return "refused"
        finally:
            connection.close()

    # When eight staff members refund 3 units at the same moment
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(refund_three, range(8)))

    # Then exactly one succeeds and no more than 5 units are ever refunded
    assert outcomes.count("refunded") == 1
    assert (
        sum(RefundLine.objects.filter(order_line_id=line_id).values_list("quantity", flat=True))
        == 3
    )
