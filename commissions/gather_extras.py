"""Engine inputs that only some rules read, gathered apart from the main reads of
``gather.py``: who the company is (it never earns) and, for the ``order_award``
component, each order line's order and units.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.periods import Period
from genealogy.models import Distributor
from orders.models import OrderLine
from orders.volume import same_period_refund_lines

from .engine.plan import Plan


def company_flags(ids: np.ndarray) -> np.ndarray:
    """True for the house account (``Distributor.is_house``) among ``ids`` (sorted)."""
    house = np.array(
        Distributor.objects.filter(is_house=True).values_list("id", flat=True), dtype=np.int64
    )
    return np.isin(ids, house)


def order_line_extras(plan: Plan, period: Period, line_ids: np.ndarray) -> dict[str, Any]:
    """``line_order_id`` and ``line_units`` for the period's order lines (``line_ids``, sorted)
    when the plan has an order award, else nothing (the engine's defaults: each line its own
    order, 0 units). Units are the line's quantity less what same-period refunds gave back,
    as the line's CV is net of them."""
    if "order_award" not in plan.components or len(line_ids) == 0:
        return {}
    rows = list(
        OrderLine.objects.filter(commission_month=period.first_day).values_list(
            "id", "order_id", "quantity"
        )
    )
    known = np.array([r[0] for r in rows], dtype=np.int64)
    order_of = np.array([r[1] for r in rows], dtype=np.int64)
    quantity = np.array([r[2] for r in rows], dtype=np.int64)
    sort = np.argsort(known)
    known, order_of, quantity = known[sort], order_of[sort], quantity[sort]
    where = np.searchsorted(known, line_ids)
    if len(known) == 0 or np.any(where >= len(known)) or np.any(known[where] != line_ids):
        missing = (
            line_ids
            if len(known) == 0
            else line_ids[known[np.minimum(where, len(known) - 1)] != line_ids]
        )
        raise ValueError(f"order line {int(missing[0])} not found")
    units = quantity[where].copy()
    for refund in same_period_refund_lines(period).values("order_line_id", "quantity"):
        position = np.searchsorted(line_ids, refund["order_line_id"])
        if position < len(line_ids) and line_ids[position] == refund["order_line_id"]:
            units[position] -= refund["quantity"]
    return {"line_order_id": order_of[where], "line_units": np.maximum(units, 0)}
