"""The demo company's catalog and order history, built deterministically and in bulk.

`seed_catalog()` writes a dozen products and a starter kit (idempotent by SKU).
`seed_orders()` draws months of orders with numpy and writes them with COPY
(`core.bulk.write_rows`): about `lines_per_distributor` lines per distributor per month,
one to three lines an order, a share of retail sales to the distributors' own customers, a
starter kit for everyone who joined in those months, a few unpaid and cancelled orders in the
current month, and a few refunds. Volume follows the same rules as real orders (snapshot
prices, `paid_at` in the month, denormalized line columns).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.bulk import next_ids, reset_sequence, write_rows
from core.periods import Period
from genealogy.demo import FIRST_NAMES, LAST_NAMES
from genealogy.models import Distributor, DistributorStatus

from .commission_period import commission_period_for
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
from .volume_summaries import rebuild_volume_summaries

# sku, name, kind, wholesale, retail, PV, CV, description
CATALOG = [
    (
        "VIT-100",
        "Daily Multivitamin (60 tablets)",
        "product",
        "24.00",
        "32.00",
        "20",
        "18.00",
        "A complete daily multivitamin and mineral formula.",
    ),
    (
        "OMG-200",
        "Omega-3 Fish Oil (90 softgels)",
        "product",
        "28.00",
        "38.00",
        "24",
        "21.00",
        "Purified fish oil with EPA and DHA.",
    ),
    (
        "PRO-300",
        "Plant Protein Shake, Vanilla (900 g)",
        "product",
        "39.00",
        "52.00",
        "32",
        "29.00",
        "Pea and rice protein, 20 g per serving.",
    ),
    (
        "PRO-301",
        "Plant Protein Shake, Chocolate (900 g)",
        "product",
        "39.00",
        "52.00",
        "32",
        "29.00",
        "Pea and rice protein with cocoa, 20 g per serving.",
    ),
    (
        "GRN-400",
        "Super Greens Powder (300 g)",
        "product",
        "34.00",
        "45.00",
        "28",
        "25.00",
        "Spirulina, chlorella, wheatgrass and barley grass.",
    ),
    (
        "PRB-500",
        "Probiotic 20 Billion (30 capsules)",
        "product",
        "29.50",
        "39.00",
        "25",
        "22.00",
        "Ten strains for digestive balance.",
    ),
    (
        "COL-600",
        "Marine Collagen (300 g)",
        "product",
        "36.00",
        "48.00",
        "30",
        "27.00",
        "Hydrolysed collagen peptides, unflavoured.",
    ),
    (
        "SKN-700",
        "Hydrating Face Cream (50 ml)",
        "product",
        "26.00",
        "35.00",
        "21",
        "19.00",
        "Hyaluronic acid and shea butter.",
    ),
    (
        "SKN-701",
        "Gentle Cleanser (150 ml)",
        "product",
        "16.00",
        "22.00",
        "12",
        "11.00",
        "Soap-free cleanser for every skin type.",
    ),
    (
        "TEA-800",
        "Herbal Sleep Tea (20 bags)",
        "product",
        "9.75",
        "13.50",
        "7",
        "6.50",
        "Chamomile, lemon balm and lavender.",
    ),
    (
        "BAR-900",
        "Protein Bars, Box of 12",
        "product",
        "27.00",
        "36.00",
        "22",
        "20.00",
        "Almond and cocoa, 15 g protein each.",
    ),
    (
        "BTL-950",
        "Stainless Shaker Bottle",
        "product",
        "12.00",
        "18.00",
        "5",
        "4.00",
        "Insulated, 700 ml.",
    ),
    (
        "KIT-001",
        "Business Starter Kit",
        "starter_kit",
        "49.00",
        "49.00",
        "0",
        "0",
        "Welcome guide, samples and catalogs. Carries no volume.",
    ),
    (
        "FEE-ANN",
        "Annual Renewal Fee",
        "fee",
        "25.00",
        "25.00",
        "0",
        "0",
        "Yearly back-office renewal. Carries no volume.",
    ),
]
STARTER_KIT_SKU = "KIT-001"


def seed_catalog() -> list[Product]:
    products = []
    for sku, name, kind, wholesale, retail, pv, cv, description in CATALOG:
        product, _created = Product.objects.update_or_create(
            sku=sku,
            defaults={
                "name": name,
                "kind": kind,
                "wholesale_price": Decimal(wholesale),
                "retail_price": Decimal(retail),
                "pv": Decimal(pv),
                "cv": Decimal(cv),
                "description": description,
                "is_active": True,
            },
        )
        products.append(product)
    return products


def _cents(values) -> np.ndarray:
    return np.array([int(Decimal(v) * 100) for v in values], dtype=np.int64)


def _decimal_text(cents: np.ndarray) -> list[str]:
    whole, part = np.divmod(np.abs(cents), 100)
    sign = np.where(cents < 0, "-", "")
    return [
        f"{s}{w}.{p:02d}"
        for s, w, p in zip(sign.tolist(), whole.tolist(), part.tolist(), strict=True)
    ]


def _utc_text(epoch_seconds: np.ndarray, valid: np.ndarray | None = None) -> list:
    text = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s")
    text = np.char.add(text, "+00:00").tolist()
    if valid is None:
        return text
    return [t if ok else None for t, ok in zip(text, valid.tolist(), strict=True)]


def _commission_month_text(
    epoch_seconds: np.ndarray, periods: list[Period], valid: np.ndarray | None = None
) -> list:
    """The commission month (ISO first day) of each moment, by the rule of
    `orders.commission_period` (its own month while open, else the first open one after)."""
    starts = np.array([p.start.timestamp() for p in periods])
    counted = np.array(
        [commission_period_for(p.start).first_day.isoformat() for p in periods], dtype=object
    )
    index = np.clip(np.searchsorted(starts, epoch_seconds, side="right") - 1, 0, len(periods) - 1)
    text = counted[index].tolist()
    if valid is None:
        return text
    return [t if ok else None for t, ok in zip(text, valid.tolist(), strict=True)]


def seed_orders(
    *,
    months: int = 3,
    lines_per_distributor: float = 3.0,
    seed: int = 1,
    progress: Callable[[str], None] = lambda _: None,
    now: dt.datetime | None = None,
) -> dict:
    """Orders for the last `months` calendar months (the current one up to `now`)."""
    started = time.monotonic()
    now = now or timezone.now()
    rng = np.random.default_rng(seed)
    products = {p.sku: p for p in seed_catalog()}
    sellable = [p for p in products.values() if p.kind == ProductKind.PRODUCT]
    kit = products[STARTER_KIT_SKU]
    catalog = [*sellable, kit]
    kit_index = len(catalog) - 1
    p_id = np.array([p.pk for p in catalog], dtype=np.int64)
    p_sku = np.array([p.sku for p in catalog], dtype=object)
    p_name = np.array([p.name for p in catalog], dtype=object)
    p_kind = np.array([p.kind for p in catalog], dtype=object)
    p_wholesale = _cents([p.wholesale_price for p in catalog])
    p_retail = _cents([p.retail_price for p in catalog])
    p_pv = _cents([p.pv for p in catalog])
    p_cv = _cents([p.cv for p in catalog])
    # Popular products sell more (a Zipf-like weighting over the sellable ones).
    weights = 1.0 / np.arange(1, len(sellable) + 1) ** 0.8
    weights /= weights.sum()

    rows = list(
        Distributor.objects.filter(is_house=False)
        .order_by("id")
        .values_list("id", "status", "joined_on")
    )
    if not rows:
        return {"orders": 0, "lines": 0, "customers": 0, "refunds": 0, "seconds": 0.0}
    d_ids = np.array([r[0] for r in rows], dtype=np.int64)
    d_active = np.array([r[1] == DistributorStatus.ACTIVE for r in rows])
    d_terminated = np.array([r[1] == DistributorStatus.TERMINATED for r in rows])
    d_joined = np.array([r[2] for r in rows], dtype="datetime64[D]")
    n = len(d_ids)
    progress(f"{n:,} distributors read")

    # Retail customers: 15% of distributors keep one to four.
    has_customers = (rng.random(n) < 0.15) & ~d_terminated
    counts = np.where(has_customers, rng.integers(1, 5, n), 0)
    customer_total = int(counts.sum())
    first_customer = np.r_[0, np.cumsum(counts)[:-1]]
    customer_ids = next_ids(Customer, customer_total)
    owners = np.repeat(d_ids, counts)
    first = np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), customer_total)]
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), customer_total)]
    customer_names = np.char.add(np.char.add(first, " "), last).tolist()
    customer_emails = [
        f"customer{cid}@example.net" for cid in customer_ids.tolist()
    ]  # unique per distributor

    periods = [Period.current(now)]
    for _ in range(months - 1):
        periods.insert(0, periods[0].previous())
    now_epoch = now.timestamp()
    order_parts = []
    for period in periods:
        start, end = period.start.timestamp(), min(period.end.timestamp(), now_epoch)
        if end <= start:
            continue
        share = (end - start) / (period.end.timestamp() - start)
        # Regular orders: buyers drawn with active people three times as likely.
        buyer_weight = np.where(d_active, 3.0, np.where(d_terminated, 0.0, 1.0))
        buyer_weight /= buyer_weight.sum()
        line_count = int(round(n * lines_per_distributor * share))
        per_order = rng.choice([1, 2, 3], size=line_count // 2 + 1, p=[0.3, 0.4, 0.3])
        cumulative = np.cumsum(per_order)
        per_order = per_order[: int(np.searchsorted(cumulative, line_count)) + 1]
        order_count = len(per_order)
        buyer = rng.choice(n, size=order_count, p=buyer_weight)
        retail = (counts[buyer] > 0) & (rng.random(order_count) < 0.35)
        customer = np.where(
            retail,
            first_customer[buyer] + (rng.random(order_count) * np.maximum(counts[buyer], 1)),
            -1,
        ).astype(np.int64)
        placed = start + rng.random(order_count) * (end - start)
        order_parts.append((buyer, retail, customer, placed, per_order))
        # Starter kits: everyone who joined in this period, on their joining day.
        joined_here = np.flatnonzero(
            (d_joined >= np.datetime64(period.first_day))
            & (d_joined <= np.datetime64(period.last_day))
        )
        if len(joined_here):
            kit_time = (d_joined[joined_here] - np.datetime64("1970-01-01")).astype(
                np.int64
            ) * 86400.0 + 15 * 3600
            keep = (kit_time >= start) & (kit_time < end)
            joined_here, kit_time = joined_here[keep], kit_time[keep]
            ones = np.ones(len(joined_here), dtype=np.int64)
            order_parts.append(
                (joined_here, np.zeros(len(joined_here), bool), -ones, kit_time, ones * -1)
            )

    buyer = np.concatenate([p[0] for p in order_parts])
    retail = np.concatenate([p[1] for p in order_parts])
    customer_index = np.concatenate([p[2] for p in order_parts])
    placed = np.concatenate([p[3] for p in order_parts])
    per_order = np.concatenate([p[4] for p in order_parts])
    is_kit_order = per_order < 0
    per_order = np.abs(per_order)
    order_count = len(buyer)
    order_ids = next_ids(Order, order_count)

    # Lines: the first product by popularity, the next ones the following products.
    line_order = np.repeat(np.arange(order_count), per_order)
    position = np.arange(len(line_order)) - np.repeat(np.cumsum(per_order) - per_order, per_order)
    first_product = rng.choice(len(sellable), size=order_count, p=weights)
    product = (first_product[line_order] + position * 3) % len(sellable)
    product = np.where(is_kit_order[line_order], kit_index, product)
    quantity = np.where(rng.random(len(line_order)) < 0.8, 1, rng.integers(2, 4, len(line_order)))
    line_retail = retail[line_order]
    unit_price = np.where(line_retail, p_retail[product], p_wholesale[product])
    amount = unit_price * quantity
    pv = p_pv[product] * quantity
    cv = p_cv[product] * quantity
    profit = np.where(line_retail, (p_retail[product] - p_wholesale[product]) * quantity, 0)

    # Status: paid within two days of placing; the last week's orders may still be unpaid.
    paid = placed + rng.random(order_count) * 2 * 86400
    age_days = (now_epoch - placed) / 86400
    unpaid_draw = rng.random(order_count)
    status = np.full(order_count, OrderStatus.SHIPPED, dtype=object)
    recent = age_days < 7
    status[recent & (unpaid_draw < 0.10)] = OrderStatus.PLACED
    status[recent & (unpaid_draw >= 0.10) & (unpaid_draw < 0.15)] = OrderStatus.CANCELLED
    status[(paid > now_epoch) & (status == OrderStatus.SHIPPED)] = OrderStatus.PLACED
    is_paid = (status == OrderStatus.SHIPPED) | (status == OrderStatus.PAID)
    not_shipped = is_paid & (age_days < 3)
    status[not_shipped] = OrderStatus.PAID
    shipped = status == OrderStatus.SHIPPED
    cancelled = status == OrderStatus.CANCELLED

    totals = {
        name: np.bincount(line_order, weights=values, minlength=order_count).astype(np.int64)
        for name, values in (("amount", amount), ("pv", pv), ("cv", cv), ("profit", profit))
    }
    progress(f"{order_count:,} orders and {len(line_order):,} lines drawn")

    # Refunds: 0.5% of paid lines, given back in full one to twenty days after payment.
    line_ids = next_ids(OrderLine, len(line_order))
    refundable = np.flatnonzero(is_paid[line_order] & ~is_kit_order[line_order])
    refunded = refundable[rng.random(len(refundable)) < 0.005]
    refunded_at = paid[line_order[refunded]] + rng.uniform(1, 20, len(refunded)) * 86400
    keep = refunded_at < now_epoch
    refunded, refunded_at = refunded[keep], refunded_at[keep]
    refund_ids = next_ids(Refund, len(refunded))
    refund_line_ids = next_ids(RefundLine, len(refunded))

    currency = settings.LADDER_CURRENCY
    paid_text = _utc_text(paid, is_paid)
    paid_month = _commission_month_text(paid, periods, is_paid)
    refund_month = _commission_month_text(refunded_at, periods)
    with transaction.atomic():
        write_rows(
            Customer,
            ["id", "distributor_id", "name", "email", "phone", "address", "created_at"],
            {
                "id": customer_ids,
                "distributor_id": owners,
                "name": customer_names,
                "email": customer_emails,
                "phone": [""] * customer_total,
                "address": [""] * customer_total,
                "created_at": [now] * customer_total,
            },
        )
        reset_sequence(Customer)
        progress(f"{customer_total:,} customers written")
        write_rows(
            Order,
            [
                "id",
                "distributor_id",
                "customer_id",
                "purpose",
                "status",
                "currency",
                "total_amount",
                "total_pv",
                "total_cv",
                "retail_profit",
                "placed_at",
                "paid_at",
                "commission_month",
                "payment_provider",
                "payment_method",
                "payment_reference",
                "shipped_at",
                "cancelled_at",
                "cancel_reason",
            ],
            {
                "id": order_ids,
                "distributor_id": d_ids[buyer],
                "customer_id": [
                    int(customer_ids[c]) if c >= 0 else None for c in customer_index.tolist()
                ],
                "purpose": np.where(retail, OrderPurpose.RETAIL, OrderPurpose.PERSONAL),
                "status": status,
                "currency": [currency] * order_count,
                "total_amount": _decimal_text(totals["amount"]),
                "total_pv": _decimal_text(totals["pv"]),
                "total_cv": _decimal_text(totals["cv"]),
                "retail_profit": _decimal_text(totals["profit"]),
                "placed_at": _utc_text(placed),
                "paid_at": paid_text,
                "commission_month": paid_month,
                "payment_provider": np.where(is_paid, "test", ""),
                "payment_method": np.where(is_paid, "test card", ""),
                "payment_reference": [
                    f"TEST-{i}" if ok else ""
                    for i, ok in zip(order_ids.tolist(), is_paid.tolist(), strict=True)
                ],
                "shipped_at": _utc_text(paid + 86400, shipped),
                "cancelled_at": _utc_text(placed + 3600, cancelled),
                "cancel_reason": np.where(cancelled, "Changed their mind.", ""),
            },
        )
        reset_sequence(Order)
        progress(f"{order_count:,} orders written")
        write_rows(
            OrderLine,
            [
                "id",
                "order_id",
                "product_id",
                "sku",
                "name",
                "kind",
                "quantity",
                "unit_price",
                "unit_wholesale",
                "unit_retail",
                "unit_pv",
                "unit_cv",
                "amount",
                "pv",
                "cv",
                "retail_profit",
                "distributor_id",
                "purpose",
                "paid_at",
                "commission_month",
            ],
            {
                "id": line_ids,
                "order_id": order_ids[line_order],
                "product_id": p_id[product],
                "sku": p_sku[product],
                "name": p_name[product],
                "kind": p_kind[product],
                "quantity": quantity,
                "unit_price": _decimal_text(unit_price),
                "unit_wholesale": _decimal_text(p_wholesale[product]),
                "unit_retail": _decimal_text(p_retail[product]),
                "unit_pv": _decimal_text(p_pv[product]),
                "unit_cv": _decimal_text(p_cv[product]),
                "amount": _decimal_text(amount),
                "pv": _decimal_text(pv),
                "cv": _decimal_text(cv),
                "retail_profit": _decimal_text(profit),
                "distributor_id": d_ids[buyer[line_order]],
                "purpose": np.where(line_retail, OrderPurpose.RETAIL, OrderPurpose.PERSONAL),
                "paid_at": [paid_text[o] for o in line_order.tolist()],
                "commission_month": [paid_month[o] for o in line_order.tolist()],
            },
        )
        reset_sequence(OrderLine)
        progress(f"{len(line_order):,} order lines written")
        r_order = line_order[refunded]
        refund_text = _utc_text(refunded_at)
        write_rows(
            Refund,
            [
                "id",
                "order_id",
                "reason",
                "note",
                "refunded_at",
                "commission_month",
                "rate",
                "amount",
                "pv",
                "cv",
            ],
            {
                "id": refund_ids,
                "order_id": order_ids[r_order],
                "reason": [RefundReason.RETURN] * len(refunded),
                "note": ["Returned by the customer (demo)."] * len(refunded),
                "refunded_at": refund_text,
                "commission_month": refund_month,
                "rate": ["100"] * len(refunded),
                "amount": _decimal_text(amount[refunded]),
                "pv": _decimal_text(pv[refunded]),
                "cv": _decimal_text(cv[refunded]),
            },
        )
        reset_sequence(Refund)
        write_rows(
            RefundLine,
            [
                "id",
                "refund_id",
                "order_line_id",
                "quantity",
                "amount",
                "pv",
                "cv",
                "retail_profit",
                "distributor_id",
                "purpose",
                "refunded_at",
                "order_paid_at",
                "commission_month",
            ],
            {
                "id": refund_line_ids,
                "refund_id": refund_ids,
                "order_line_id": line_ids[refunded],
                "quantity": quantity[refunded],
                "amount": _decimal_text(amount[refunded]),
                "pv": _decimal_text(pv[refunded]),
                "cv": _decimal_text(cv[refunded]),
                "retail_profit": _decimal_text(profit[refunded]),
                "distributor_id": d_ids[buyer[r_order]],
                "purpose": np.where(
                    line_retail[refunded], OrderPurpose.RETAIL, OrderPurpose.PERSONAL
                ),
                "refunded_at": refund_text,
                "order_paid_at": [paid_text[o] for o in r_order.tolist()],
                "commission_month": refund_month,
            },
        )
        reset_sequence(RefundLine)
        progress(f"{len(refunded):,} refunds written")
        summaries = rebuild_volume_summaries()
        progress(f"{summaries:,} volume summaries rebuilt")
    elapsed = time.monotonic() - started
    progress(f"orders done in {elapsed:.1f} s")
    return {
        "orders": order_count,
        "lines": len(line_order),
        "customers": customer_total,
        "refunds": len(refunded),
        "seconds": elapsed,
    }
