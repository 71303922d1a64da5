"""Everything that writes orders: customers, placing, paying, shipping, cancelling, refunding.

Keyword-only, typed, transactional. Every function that depends on the time takes `now`
(default: `current_time()`), so tests put orders at month and time-zone edges. Staff actions
that move money record who did it, when, and why on the rows they write.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.periods import months_before
from genealogy.models import Distributor, DistributorStatus

from .commission_period import commission_period_for, commission_week_for
from .hooks import ensure_may_sell_to_customers
from .models import (
    Customer,
    Order,
    OrderLine,
    OrderPurpose,
    OrderStatus,
    Product,
    ProductKind,
    Refund,
    RefundLine,
    RefundReason,
)
from .money import ZERO, quantize_money, quantize_volume
from .payments import get_provider
from .volume_summaries import add_paid_order, add_refund

HUNDRED = Decimal("100")


def current_time() -> dt.datetime:
    """The clock every service reads when no `now` is given."""
    return timezone.now()


def max_quantity_per_line() -> int:
    return settings.LADDER_MAX_QUANTITY_PER_LINE


# --- Customers ----------------------------------------------------------------------------------


def customer_create(
    *, distributor: Distributor, name: str, email: str = "", phone: str = "", address: str = ""
) -> Customer:
    customer = Customer(
        distributor=distributor,
        name=name.strip(),
        email=email.strip().lower(),
        phone=str(phone or "").strip(),
        address=address.strip(),
    )
    customer.full_clean(exclude=["distributor"])
    _check_customer_email_free(customer)
    customer.save()
    return customer


def customer_update(*, customer: Customer, **fields: str) -> Customer:
    for name, value in fields.items():
        value = value.strip()
        setattr(customer, name, value.lower() if name == "email" else value)
    customer.full_clean(exclude=["distributor"])
    _check_customer_email_free(customer)
    customer.save()
    return customer


def _check_customer_email_free(customer: Customer) -> None:
    if not customer.email:
        return
    taken = (
        Customer.objects.filter(
            distributor_id=customer.distributor_id, email__iexact=customer.email
        )
        .exclude(pk=customer.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"email": "You already have a customer with this email address."})


# --- Quoting and placing ----------------------------------------------------------------------


@dataclass(frozen=True)
class QuoteLine:
    product: Product
    quantity: int
    unit_price: Decimal
    unit_pv: Decimal
    unit_cv: Decimal
    retail_profit: Decimal

    @property
    def amount(self) -> Decimal:
        return quantize_money(self.unit_price * self.quantity)

    @property
    def pv(self) -> Decimal:
        return quantize_volume(self.unit_pv * self.quantity)

    @property
    def cv(self) -> Decimal:
        return quantize_volume(self.unit_cv * self.quantity)


@dataclass
class Quote:
    """What an order would be: its lines at today's catalog values, and what is wrong with it."""

    purpose: str
    lines: list[QuoteLine] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def total_pv(self) -> Decimal:
        return sum((line.pv for line in self.lines), ZERO)

    @property
    def total_cv(self) -> Decimal:
        return sum((line.cv for line in self.lines), ZERO)

    @property
    def retail_profit(self) -> Decimal:
        return sum((line.retail_profit for line in self.lines), ZERO)


def quote_order(*, items: Mapping[int, int], purpose: str) -> Quote:
    """Price `items` (product id → quantity) for `purpose`; problems go to `quote.errors`."""
    if purpose not in OrderPurpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    quote = Quote(purpose=purpose)
    products = Product.objects.in_bulk(list(items))
    limit = max_quantity_per_line()
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None:
            quote.errors.append("One of the products no longer exists; please search again.")
            continue
        if not product.is_active:
            quote.errors.append(f"{product.name} ({product.sku}) is no longer sold.")
            continue
        if quantity <= 0:
            quote.errors.append(f"{product.name}: the quantity must be at least 1.")
            continue
        if quantity > limit:
            quote.errors.append(
                f"{product.name}: at most {limit} per order (you asked for {quantity})."
            )
            continue
        is_retail = purpose == OrderPurpose.RETAIL
        unit_price = product.retail_price if is_retail else product.wholesale_price
        profit = (product.retail_price - product.wholesale_price) * quantity if is_retail else ZERO
        quote.lines.append(
            QuoteLine(
                product=product,
                quantity=quantity,
                unit_price=unit_price,
                unit_pv=product.pv,
                unit_cv=product.cv,
                retail_profit=quantize_money(profit),
            )
        )
    quote.lines.sort(key=lambda line: (line.product.name, line.product.pk))
    return quote


def order_place(
    *,
    distributor: Distributor,
    items: Mapping[int, int],
    purpose: str,
    customer: Customer | None = None,
    by=None,
    now: dt.datetime | None = None,
    external_number: str | None = None,
) -> Order:
    """Place an order for the distributor (personal use) or one of their customers (retail).

    Raises ValidationError with every problem found; nothing is written then.
    """
    now = now or current_time()
    status = Distributor.objects.filter(pk=distributor.pk).values_list("status", flat=True).first()
    if status == DistributorStatus.TERMINATED:
        raise ValidationError("This distributor account is terminated and cannot place orders.")
    if purpose == OrderPurpose.RETAIL:
        if customer is None:
            raise ValidationError("Choose the customer this retail sale is for.")
        if customer.distributor_id != distributor.pk:
            raise ValidationError("This customer belongs to another distributor.")
        if external_number is None:  # sale gates (orders.hooks): training before a first sale
            ensure_may_sell_to_customers(distributor)
    elif customer is not None:
        raise ValidationError("An order for personal use has no customer.")
    quote = quote_order(items=items, purpose=purpose)
    if quote.errors:
        raise ValidationError(quote.errors)
    if not quote.lines:
        raise ValidationError("Add at least one product to the order.")
    with transaction.atomic():
        order = Order.objects.create(
            distributor=distributor,
            customer=customer,
            purpose=purpose,
            status=OrderStatus.PLACED,
            currency=settings.LADDER_CURRENCY,
            total_amount=quote.total_amount,
            total_pv=quote.total_pv,
            total_cv=quote.total_cv,
            retail_profit=quote.retail_profit,
            external_number=external_number,
            placed_at=now,
            placed_by=by,
        )
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    product=line.product,
                    sku=line.product.sku,
                    name=line.product.name,
                    kind=line.product.kind,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    unit_wholesale=line.product.wholesale_price,
                    unit_retail=line.product.retail_price,
                    unit_pv=line.unit_pv,
                    unit_cv=line.unit_cv,
                    amount=line.amount,
                    pv=line.pv,
                    cv=line.cv,
                    retail_profit=line.retail_profit,
                    distributor_id=distributor.pk,
                    purpose=purpose,
                )
                for line in quote.lines
            ]
        )
    return order


# --- Lifecycle ----------------------------------------------------------------------------------


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def order_pay(
    *,
    order: Order,
    provider: str,
    method: str = "",
    reference: str = "",
    by=None,
    now: dt.datetime | None = None,
) -> Order:
    """Collect payment through `provider` at `now` (its paid_at).

    The order's volume counts in the commission period of `now`: its month while that is open,
    else the first open month after it (`orders.commission_period`), stored on the order and its
    lines in the same transaction.
    """
    now = now or current_time()
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.PLACED:
            raise ValidationError(f"Order #{order.pk} is {order.get_status_display().lower()}.")
        if now < order.placed_at:
            raise ValidationError("An order cannot be paid before it was placed.")
        payment = get_provider(provider).collect(order, method=method, reference=reference)
        month = commission_period_for(now).first_day
        order.status = OrderStatus.PAID
        order.paid_at = now
        order.commission_month = month
        order.payment_provider = provider
        order.payment_method = payment.method
        order.payment_reference = payment.reference
        order.paid_recorded_by = by
        order.save(
            update_fields=[
                "status",
                "paid_at",
                "commission_month",
                "payment_provider",
                "payment_method",
                "payment_reference",
                "paid_recorded_by",
            ]
        )
        OrderLine.objects.filter(order_id=order.pk).update(
            paid_at=now, commission_month=month, commission_week=commission_week_for(now)
        )
        add_paid_order(order.pk)  # the period's volume summary, in this transaction
    return order


def order_ship(*, order: Order, by=None, now: dt.datetime | None = None) -> Order:
    now = now or current_time()
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.PAID:
            raise ValidationError(
                f"Only a paid order can be shipped; #{order.pk} is {order.status}."
            )
        order.status = OrderStatus.SHIPPED
        order.shipped_at = now
        order.shipped_by = by
        order.save(update_fields=["status", "shipped_at", "shipped_by"])
    return order


def order_cancel(
    *, order: Order, by=None, reason: str = "", now: dt.datetime | None = None
) -> Order:
    """Cancel an order before payment. A paid order is refunded instead, never cancelled."""
    now = now or current_time()
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.PLACED:
            raise ValidationError(
                f"Order #{order.pk} is {order.get_status_display().lower()}: only an unpaid order "
                "can be cancelled (a paid order is refunded)."
            )
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = now
        order.cancelled_by = by
        order.cancel_reason = reason.strip()
        order.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return order


# --- Refunds ------------------------------------------------------------------------------------


def refundable_quantities(order: Order) -> dict[int, int]:
    """Order line id → quantity bought and not yet refunded."""
    refunded = refunded_quantities([order.pk])
    return {
        line_id: quantity - refunded.get(line_id, 0)
        for line_id, quantity in OrderLine.objects.filter(order_id=order.pk).values_list(
            "id", "quantity"
        )
    }


def refunded_quantities(order_ids: list[int]) -> dict[int, int]:
    rows = (
        RefundLine.objects.filter(order_line__order_id__in=order_ids)
        .values("order_line_id")
        .annotate(total=Sum("quantity"))
        .values_list("order_line_id", "total")
    )
    return dict(rows)


def order_refund(
    *,
    order: Order,
    quantities: Mapping[int, int],
    reason: str,
    by=None,
    note: str = "",
    rate: Decimal = HUNDRED,
    now: dt.datetime | None = None,
) -> Refund:
    """Give back `quantities` (order line id → quantity) of a paid order at `rate` percent.

    The order's lines are locked (SELECT … FOR UPDATE) while the refunded quantities are read
    and the refund written, so two refunds at once can never give back more than was bought.
    The refund's volume is negative in the commission period of `now` (its refunded_at): that
    month while it is open, else the first open month after it. When the order's own period is
    closed by then, the commissions app claws back what was paid on it in that open month.
    """
    now = now or current_time()
    if reason not in RefundReason.values:
        raise ValidationError(f"Unknown refund reason {reason!r}.")
    rate = Decimal(rate)
    if not ZERO < rate <= HUNDRED:
        raise ValidationError("The refund rate is a percentage above 0 and at most 100.")
    wanted = {int(line_id): int(qty) for line_id, qty in quantities.items() if int(qty) != 0}
    if not wanted:
        raise ValidationError("Choose at least one line and quantity to refund.")
    with transaction.atomic():
        lines = {
            line.pk: line
            for line in OrderLine.objects.select_for_update()
            .filter(order_id=order.pk)
            .order_by("id")
        }
        order = Order.objects.get(pk=order.pk)
        if not order.is_paid:
            raise ValidationError(
                f"Order #{order.pk} is {order.get_status_display().lower()}: only a paid order "
                "can be refunded."
            )
        if now < order.paid_at:
            raise ValidationError("A refund cannot come before the payment it gives back.")
        already = refunded_quantities([order.pk])
        errors = []
        for line_id, quantity in wanted.items():
            line = lines.get(line_id)
            if line is None:
                errors.append(f"Line {line_id} is not on order #{order.pk}.")
                continue
            left = line.quantity - already.get(line_id, 0)
            if quantity < 0:
                errors.append(f"{line.name}: the quantity to refund must be at least 1.")
            elif quantity > left:
                errors.append(
                    f"{line.name}: {quantity} asked, but only {left} of {line.quantity} "
                    "can still be refunded."
                )
        if errors:
            raise ValidationError(errors)
        month = commission_period_for(now).first_day
        week = commission_week_for(now)
        refund_lines = []
        for line_id, quantity in sorted(wanted.items()):
            line = lines[line_id]
            unit_profit = (
                line.unit_retail - line.unit_wholesale
                if line.purpose == OrderPurpose.RETAIL
                else ZERO
            )
            refund_lines.append(
                RefundLine(
                    order_line=line,
                    quantity=quantity,
                    amount=quantize_money(line.unit_price * quantity * rate / HUNDRED),
                    pv=quantize_volume(line.unit_pv * quantity),
                    cv=quantize_volume(line.unit_cv * quantity),
                    retail_profit=quantize_money(unit_profit * quantity),
                    distributor_id=line.distributor_id,
                    purpose=line.purpose,
                    refunded_at=now,
                    order_paid_at=order.paid_at,
                    commission_month=month,
                    commission_week=week,
                )
            )
        refund = Refund.objects.create(
            order=order,
            reason=reason,
            note=note.strip(),
            refunded_at=now,
            commission_month=month,
            created_by=by,
            rate=rate,
            amount=sum((r.amount for r in refund_lines), ZERO),
            pv=sum((r.pv for r in refund_lines), ZERO),
            cv=sum((r.cv for r in refund_lines), ZERO),
        )
        for refund_line in refund_lines:
            refund_line.refund = refund
        RefundLine.objects.bulk_create(refund_lines)
        add_refund(refund.pk)  # the period's volume summary, in this transaction
    return refund


def buy_back_percent() -> Decimal:
    return Decimal(settings.LADDER_BUY_BACK_PERCENT)


def buy_back_months() -> int:
    return settings.LADDER_BUY_BACK_MONTHS


def buy_back_eligible_lines(*, distributor: Distributor, now: dt.datetime | None = None):
    """Product a terminated distributor bought for themselves within the buy-back window."""
    now = now or current_time()
    return OrderLine.objects.filter(
        distributor_id=distributor.pk,
        purpose=OrderPurpose.PERSONAL,
        paid_at__gte=months_before(now, buy_back_months()),
        paid_at__lte=now,
        kind__in=[ProductKind.PRODUCT, ProductKind.STARTER_KIT],
    ).order_by("order_id", "id")


def buy_back_on_termination(
    *,
    distributor: Distributor,
    by,
    quantities: Mapping[int, int] | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> list[Refund]:
    """Buy back unopened product from a terminated distributor at the buy-back percentage.

    Lines are those `buy_back_eligible_lines` returns (personal orders paid within
    `LADDER_BUY_BACK_MONTHS`, fees excluded); `quantities` (order line id → unopened quantity)
    limits it to what staff received back, default everything not yet refunded. One refund per
    order, reason "buy_back", rate `LADDER_BUY_BACK_PERCENT`; volume is taken back in full.
    """
    now = now or current_time()
    if distributor.status != DistributorStatus.TERMINATED:
        raise ValidationError("Buy-back applies to terminated distributors only.")
    eligible = list(buy_back_eligible_lines(distributor=distributor, now=now))
    by_id = {line.pk: line for line in eligible}
    if quantities is not None:
        unknown = sorted(set(quantities) - set(by_id))
        if unknown:
            raise ValidationError(
                f"Lines {unknown} are not eligible for buy-back (personal product paid within "
                f"{buy_back_months()} months)."
            )
    already = refunded_quantities(sorted({line.order_id for line in eligible}))
    per_order: dict[int, dict[int, int]] = defaultdict(dict)
    for line in eligible:
        left = line.quantity - already.get(line.pk, 0)
        quantity = left if quantities is None else quantities.get(line.pk, 0)
        if quantity > 0:
            per_order[line.order_id][line.pk] = quantity
    if not per_order:
        raise ValidationError("Nothing is eligible for buy-back.")
    note = note or f"Buy-back at {buy_back_percent()}% on termination."
    with transaction.atomic():
        return [
            order_refund(
                order=Order(pk=order_id),
                quantities=lines,
                reason=RefundReason.BUY_BACK,
                by=by,
                note=note,
                rate=buy_back_percent(),
                now=now,
            )
            for order_id, lines in sorted(per_order.items())
        ]
