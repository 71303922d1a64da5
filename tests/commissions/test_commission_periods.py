"""Money safety: a month closes only after it ended plus the grace period, and nothing lands in
a closed month (payments, imports and refunds count in the first open month after it)."""

from __future__ import annotations

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from commissions.errors import CommissionError
from commissions.gather import gather
from commissions.models import Clawback, DistributorResult, PeriodStatus
from commissions.services.close import close_period
from commissions.services.periods import closable_from, period_row
from commissions.services.runs import calculate_period
from core.periods import Period
from orders.models import Order, RefundReason
from orders.services import order_pay, order_place, order_refund
from orders.volume import distributor_volume, period_totals
from tests.commissions.conftest import PERIOD
from tests.factories import ProductFactory, buy, make_distributor, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)
APRIL = PERIOD.next()
MARCH_31_EVENING = dt.datetime(2026, 4, 1, 1, 30, tzinfo=dt.UTC)  # 21:30 in New York
HEADER = "external_number,distributor_number,customer_email,sku,quantity,paid_at,purpose\n"


def close_march():
    """Calculate and close March as soon as the rule allows; returns its final run."""
    run = calculate_period(period=PERIOD)
    close_period(period=PERIOD, now=closable_from(PERIOD))
    return run


def march_inputs_unchanged(run) -> bool:
    """Recalculating the closed month's inputs gives exactly what was closed."""
    return gather(PERIOD, plan_version=run.plan_version).input_hash == run.input_hash


# --- Closing: not before the month ended plus the grace period ---------------------------------


@pytest.mark.parametrize(
    ("period", "grace_hours", "opens"),
    [
        # 72 hours on the wall clock: midnight on 4 November in New York, standard time after
        # daylight saving ended on 1 November (73 hours of real time after the month ended).
        (Period(2026, 10), 72, dt.datetime(2026, 11, 4, 5, 0, tzinfo=dt.UTC)),
        # Ten days across the start of daylight saving (8 March): midnight on 11 March, EDT.
        (Period(2026, 2), 240, dt.datetime(2026, 3, 11, 4, 0, tzinfo=dt.UTC)),
        # No grace: the first second of April in New York.
        (Period(2026, 3), 0, dt.datetime(2026, 4, 1, 4, 0, tzinfo=dt.UTC)),
    ],
)
def test_a_month_closes_only_after_it_ended_plus_the_grace_period(
    settings, period, grace_hours, opens
):
    settings.TIME_ZONE = "America/New_York"
    settings.LADDER_CLOSE_GRACE_HOURS = grace_hours
    make_plan_version(effective_from=dt.date(2026, 1, 1))
    buy(make_distributor(), "100", paid_at=period.start + dt.timedelta(days=3))
    calculate_period(period=period)

    with pytest.raises(CommissionError, match="cannot be closed before"):
        close_period(period=period, now=opens - dt.timedelta(seconds=1))
    assert period_row(period).status == PeriodStatus.CALCULATED

    row = close_period(period=period, now=opens)
    assert row.status == PeriodStatus.CLOSED
    assert closable_from(period) == opens


def test_the_command_calculates_the_running_month_but_refuses_to_close_it(plan_version):
    current = Period.current()
    buy(make_distributor(), "100", paid_at=current.start + dt.timedelta(hours=1))

    with pytest.raises(CommandError, match=f"{current} cannot be closed before"):
        call_command("run_commissions", str(current), "--close", stdout=io.StringIO())

    row = period_row(current)
    assert row.status == PeriodStatus.CALCULATED  # the preview was calculated
    assert row.closed_at is None


# --- Payments, imports and refunds after a close ------------------------------------------------


def test_a_payment_recorded_after_its_month_closed_counts_in_the_next_open_month(
    chain, plan_version
):
    march = close_march()

    # Ben (no volume in March) pays an order on the evening of 31 March, recorded after the close
    late = buy(chain.ben, "100", paid_at=MARCH_31_EVENING)

    late.refresh_from_db()
    assert late.commission_period == APRIL
    assert late.counts_in_a_later_period
    assert set(late.lines.values_list("commission_month", flat=True)) == {APRIL.first_day}
    assert distributor_volume(distributor_id=chain.ben.pk, period=PERIOD).pv == 0
    assert march_inputs_unchanged(march)
    april = calculate_period(period=APRIL)
    assert DistributorResult.objects.get(run=april, distributor=chain.ben).pv == 10000
    assert period_totals(APRIL).for_distributor(chain.ben.pk)["pv"] == 10000


def test_a_late_payment_for_a_month_still_open_counts_in_that_month(chain, plan_version):
    calculate_period(period=PERIOD)  # calculated, not closed: still open

    late = buy(chain.ben, "100", paid_at=MARCH_31_EVENING)

    late.refresh_from_db()
    assert late.commission_period == PERIOD
    assert not late.counts_in_a_later_period
    with pytest.raises(CommissionError, match="inputs of 2026-03 changed"):
        close_period(period=PERIOD, now=closable_from(PERIOD))


def test_an_order_imported_after_its_month_closed_counts_in_the_next_open_month_and_is_reported(
    chain, plan_version, tmp_path
):
    march = close_march()
    ProductFactory(sku="LATE-1", pv=Decimal("50"), cv=Decimal("50"))
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + f"SHOP-9,{chain.ben.number},,LATE-1,1,2026-03-31T21:30:00-04:00,personal\n"
        + f"SHOP-10,{chain.ben.number},,LATE-1,1,2026-04-02T10:00:00-04:00,personal\n"
    )
    out = io.StringIO()

    call_command("import_orders", str(path), stdout=out)

    late = Order.objects.get(external_number="SHOP-9")
    assert late.commission_period == APRIL
    assert Order.objects.get(external_number="SHOP-10").commission_period == APRIL
    report = out.getvalue()
    assert (
        "line 2 (order SHOP-9): paid in 2026-03, which is closed: its volume counts in 2026-04."
        in report
    )
    assert "SHOP-10" not in report  # counted in its own month: nothing to say
    assert march_inputs_unchanged(march)
    assert period_totals(APRIL).for_distributor(chain.ben.pk)["pv"] == 10000


def test_a_refund_dated_in_a_closed_month_claws_back_in_the_next_open_month(chain, plan_version):
    march = close_march()
    order = chain.eve.orders.get()

    # A return on 30 March, entered after March closed
    refund = order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=dt.datetime(2026, 3, 30, 15, tzinfo=dt.UTC),
    )

    assert refund.commission_month == APRIL.first_day
    assert refund.lines.get().commission_month == APRIL.first_day
    assert march_inputs_unchanged(march)
    april = calculate_period(period=APRIL)
    clawed = sorted(
        Clawback.objects.values_list(
            "period__month", "original_period__month", "earner_id", "amount"
        )
    )
    assert clawed == sorted(
        [
            (APRIL.first_day, PERIOD.first_day, chain.dee.pk, -1000),
            (APRIL.first_day, PERIOD.first_day, chain.cal.pk, -1000),
            (APRIL.first_day, PERIOD.first_day, chain.ann.pk, -2000),
        ]
    )
    assert DistributorResult.objects.get(run=april, distributor=chain.ann).period_total == -2000


def test_a_refund_of_a_late_paid_order_counts_with_it_in_the_open_month(chain, plan_version):
    close_march()
    late = buy(chain.ben, "100", paid_at=MARCH_31_EVENING)

    order_refund(
        order=late,
        quantities={late.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=dt.datetime(2026, 4, 3, 15, tzinfo=dt.UTC),
    )

    april = calculate_period(period=APRIL)
    assert not Clawback.objects.exists()  # nothing was paid on it in March
    assert DistributorResult.objects.get(run=april, distributor=chain.ben).pv == 0


def test_a_payment_in_flight_while_the_month_closes_is_seen_by_the_close(chain, plan_version):
    """The close locks the month before it compares the inputs: a payment counting in it either
    commits first (and the close refuses) or waits and lands in the next open month."""
    calculate_period(period=PERIOD)
    product = ProductFactory(pv=Decimal("40"), cv=Decimal("40"))
    order = order_place(
        distributor=chain.ben, items={product.pk: 1}, purpose="personal", now=MARCH_31_EVENING
    )
    paid, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def pay_and_wait() -> None:
        try:
            with transaction.atomic():
                order_pay(order=order, provider="test", now=MARCH_31_EVENING)
                paid.set()
                release.wait(10)
        finally:
            connection.close()

    def close() -> None:
        try:
            close_period(period=PERIOD, now=closable_from(PERIOD))
            outcome["closed"] = True
        except CommissionError as error:
            outcome["refused"] = str(error)
        finally:
            connection.close()

    payer = threading.Thread(target=pay_and_wait)
    payer.start()
    assert paid.wait(10)
    closer = threading.Thread(target=close)
    closer.start()
    closer.join(2)
    assert closer.is_alive()  # waiting for the payment's transaction
    release.set()
    payer.join(10)
    closer.join(30)

    assert "inputs of 2026-03 changed" in str(outcome.get("refused"))
    assert period_row(PERIOD).status == PeriodStatus.CALCULATED
    order.refresh_from_db()
    assert order.commission_period == PERIOD


# --- Shown on the order ------------------------------------------------------------------------


def test_the_order_page_and_receipt_say_which_period_the_volume_counts_in(
    client, chain, plan_version
):
    close_march()
    late = buy(chain.ben, "100", paid_at=MARCH_31_EVENING)
    client.force_login(chain.ben.user)

    page = client.get(reverse("order_detail", args=[late.pk])).content.decode()
    receipt = client.get(reverse("order_receipt", args=[late.pk])).content.decode()
    on_time = buy(chain.ben, "10", paid_at=dt.datetime(2026, 4, 2, 15, tzinfo=dt.UTC))
    own = client.get(reverse("order_detail", args=[on_time.pk])).content.decode()

    assert "Volume counts in" in page and "April 2026" in page
    assert "paid for March 2026, whose commissions were already closed" in page
    assert "Volume counts in" in receipt and "April 2026" in receipt
    assert "April 2026" in own and "already closed" not in own
