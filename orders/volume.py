"""The volume service: the one place that says how much volume a distributor had in a period.

Rules
-----
* An order line counts in its `commission_month`, a refund line, negative, in its own: the
  company-time-zone month of `paid_at` (`refunded_at`) while that month was open when the money
  moved, else the first open month after it (`orders.commission_period`). The month is stored
  when the order is paid, so a closed month's figures never change.
* Unpaid and cancelled orders carry no volume (their lines have no `commission_month`).
* Figures are "paid minus refunded" and may be negative in a period when a refund of an earlier
  period's order lands (`clawback_refund_lines` lists those for the commissions app).

Shape
-----
Order lines and refund lines carry the distributor, purpose and commission month, so each side
is one scan of one table by its month index. `period_totals` returns numpy arrays in integer
cents (int64) for the commission engine. On PostgreSQL the period's lines come back, already
cast to cents, with `COPY … TO STDOUT (FORMAT binary)` straight into a numpy structured array
(no Python per row), and are summed per distributor with an exact int64 sort +
`np.add.reduceat`: measured faster than a numeric GROUP BY in PostgreSQL at 3M lines (see
README, Performance).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import F, Q, Sum

from core.bulk import read_columns
from core.periods import Period

from .models import OrderLine, OrderPurpose, RefundLine

# Columns of `period_totals`, in cents, after the distributor id.
TOTAL_COLUMNS = (
    "pv",
    "cv",
    "personal_pv",
    "personal_cv",
    "retail_pv",
    "retail_cv",
    "retail_sales",
    "retail_profit",
)


@dataclass(frozen=True)
class VolumeTotals:
    """Per-distributor totals for one period, sorted by distributor id; all int64 cents.

    `retail_sales` is what retail customers paid (net of refunds); `retail_profit` is the
    distributor's retail − wholesale margin on those sales.
    """

    period: Period
    distributor_ids: np.ndarray
    pv: np.ndarray
    cv: np.ndarray
    personal_pv: np.ndarray
    personal_cv: np.ndarray
    retail_pv: np.ndarray
    retail_cv: np.ndarray
    retail_sales: np.ndarray
    retail_profit: np.ndarray

    def __len__(self) -> int:
        return len(self.distributor_ids)

    def for_distributor(self, distributor_id: int) -> dict[str, int]:
        index = np.searchsorted(self.distributor_ids, distributor_id)
        found = index < len(self) and self.distributor_ids[index] == distributor_id
        return {name: int(getattr(self, name)[index]) if found else 0 for name in TOTAL_COLUMNS}


# One row per line, already in integer cents: PostgreSQL only filters and casts (a numeric
# GROUP BY over millions of rows is several times slower than grouping in numpy).
_MOVED_SQL = """
SELECT distributor_id, (purpose = 'retail')::int::bigint, (pv * 100)::bigint, (cv * 100)::bigint,
    (amount * 100)::bigint, (retail_profit * 100)::bigint
FROM {table} WHERE commission_month = %(month)s
"""


def period_totals(period: Period) -> VolumeTotals:
    """Every distributor with volume or retail sales in `period`, as int64-cent arrays."""
    if connection.vendor == "postgresql":
        columns = _totals_by_copy(period)
    else:
        columns = _totals_by_orm(period)
    order = np.argsort(columns[0], kind="stable")
    names = ("distributor_ids", *TOTAL_COLUMNS)
    return VolumeTotals(
        period=period,
        **{
            name: np.ascontiguousarray(col[order]) for name, col in zip(names, columns, strict=True)
        },
    )


def _totals_by_copy(period: Period) -> list[np.ndarray]:
    params = {"month": period.first_day}
    paid = read_columns(_MOVED_SQL.format(table="orders_orderline"), params, ["int8"] * 6)
    refunded = read_columns(_MOVED_SQL.format(table="orders_refundline"), params, ["int8"] * 6)
    distributor, is_retail = (
        np.concatenate([a, b]) for a, b in zip(paid[:2], refunded[:2], strict=True)
    )
    pv, cv, amount, profit = (
        np.concatenate([a, -b]) for a, b in zip(paid[2:], refunded[2:], strict=True)
    )
    retail = is_retail.astype(bool)
    return _group_sum(
        distributor,
        [
            pv,
            cv,
            np.where(retail, 0, pv),
            np.where(retail, 0, cv),
            np.where(retail, pv, 0),
            np.where(retail, cv, 0),
            np.where(retail, amount, 0),
            profit,
        ],
    )


def _group_sum(keys: np.ndarray, columns: list[np.ndarray]) -> list[np.ndarray]:
    """Exact int64 sums of `columns` per distinct key (keys returned sorted)."""
    if len(keys) == 0:
        return [np.zeros(0, np.int64) for _ in range(len(columns) + 1)]
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return [keys[starts], *(np.add.reduceat(c[order], starts) for c in columns)]


def _sums() -> dict:
    """The sums of `TOTAL_COLUMNS`, aliased `total_<name>` (an alias cannot be a field name)."""
    personal, retail = Q(purpose=OrderPurpose.PERSONAL), Q(purpose=OrderPurpose.RETAIL)
    return {
        "total_pv": Sum("pv"),
        "total_cv": Sum("cv"),
        "total_personal_pv": Sum("pv", filter=personal),
        "total_personal_cv": Sum("cv", filter=personal),
        "total_retail_pv": Sum("pv", filter=retail),
        "total_retail_cv": Sum("cv", filter=retail),
        "total_retail_sales": Sum("amount", filter=retail),
        "total_retail_profit": Sum("retail_profit"),
    }


def _totals_by_orm(period: Period) -> list[np.ndarray]:
    """Portable path (SQLite in `make run`): the same sums through the ORM, merged in numpy."""
    paid = OrderLine.objects.filter(commission_month=period.first_day)
    refunded = RefundLine.objects.filter(commission_month=period.first_day)
    totals: dict[int, list[int]] = {}
    for queryset, sign in ((paid, 1), (refunded, -1)):
        for row in queryset.values("distributor_id").annotate(**_sums()).order_by():
            current = totals.setdefault(row["distributor_id"], [0] * len(TOTAL_COLUMNS))
            for index, name in enumerate(TOTAL_COLUMNS):
                current[index] += sign * int((row[f"total_{name}"] or Decimal(0)) * 100)
    ids = np.fromiter(totals, dtype=np.int64, count=len(totals))
    values = np.array(list(totals.values()), dtype=np.int64).reshape(-1, len(TOTAL_COLUMNS))
    return [ids, *(values[:, index] for index in range(len(TOTAL_COLUMNS)))]


@dataclass(frozen=True)
class DistributorVolume:
    """One distributor's figures for one period, as Decimals for pages."""

    period: Period
    pv: Decimal
    cv: Decimal
    personal_pv: Decimal
    personal_cv: Decimal
    retail_pv: Decimal
    retail_cv: Decimal
    retail_sales: Decimal
    retail_profit: Decimal


def distributor_volume(*, distributor_id: int, period: Period) -> DistributorVolume:
    """The same rule as `period_totals` for one distributor (two index lookups)."""
    return _net_volume(period, distributor_id=distributor_id)


def company_volume(*, period: Period) -> DistributorVolume:
    """The same rule as `period_totals` summed over everyone (one aggregate per table)."""
    return _net_volume(period)


def _net_volume(period: Period, **filters) -> DistributorVolume:
    figures = dict.fromkeys(TOTAL_COLUMNS, Decimal("0.00"))
    paid = OrderLine.objects.filter(commission_month=period.first_day, **filters)
    refunded = RefundLine.objects.filter(commission_month=period.first_day, **filters)
    for queryset, sign in ((paid, 1), (refunded, -1)):
        row = queryset.aggregate(**_sums())
        for name in TOTAL_COLUMNS:
            figures[name] += sign * (row[f"total_{name}"] or Decimal("0.00"))
    return DistributorVolume(period=period, **figures)


# --- The rule as SQL, for set-based queries that join volume with other tables ----------------

MOVED_SIGNED_COLUMNS = ("pv", "cv", "amount", "retail_profit")
MOVED_PLAIN_COLUMNS = ("distributor_id", "purpose", "commission_month")


def moved_lines_sql(
    columns: Sequence[str], *, month: str = "month", since: str | None = None
) -> str:
    """A `SELECT` of every line that moved volume: paid order lines, and refund lines negated.

    For a query that needs volume inside one statement (a leg's GV over a nested-set range,
    per-distributor figures next to customers and enrollees), use it as a CTE or subquery and
    sum it, so that the rule stays here. `columns` are named as on the lines; the figures
    (`MOVED_SIGNED_COLUMNS`) come back negative from refund lines. `month` names the query
    parameter holding the period's first day; with `since`, the lines of the months from
    `%(since)s` up to, not including, `%(month)s` instead.
    """
    unknown = set(columns) - {*MOVED_SIGNED_COLUMNS, *MOVED_PLAIN_COLUMNS}
    if not columns or unknown:
        raise ValueError(f"moved_lines_sql: unknown or no columns {sorted(unknown)}")
    if not all(name.isidentifier() for name in (month, since or month)):
        raise ValueError("moved_lines_sql: parameter names must be identifiers")
    if since is None:
        where = f"commission_month = %({month})s"
    else:
        where = f"commission_month >= %({since})s AND commission_month < %({month})s"

    def select(table: str, sign: str) -> str:
        picked = ", ".join(
            f"{sign}{name} AS {name}" if name in MOVED_SIGNED_COLUMNS else name for name in columns
        )
        return f"SELECT {picked} FROM {table} WHERE {where}"  # noqa: S608 (checked names)

    return f"{select('orders_orderline', '')}\nUNION ALL\n{select('orders_refundline', '-')}"


# --- Refund lines (commission statements and clawbacks) --------------------------------------


def period_refund_lines(period: Period, *, distributor_ids: list[int] | None = None):
    """Refund lines counting in `period` (their volume counts negative in it), with the period
    their order line counted in (`order_commission_month`)."""
    queryset = RefundLine.objects.filter(commission_month=period.first_day)
    if distributor_ids is not None:
        queryset = queryset.filter(distributor_id__in=distributor_ids)
    return queryset.order_by("id").values(
        "id",
        "refund_id",
        "order_line_id",
        "distributor_id",
        "purpose",
        "quantity",
        "amount",
        "pv",
        "cv",
        "retail_profit",
        "refunded_at",
        "order_paid_at",
        "commission_month",
        order_id=F("order_line__order_id"),
        order_commission_month=F("order_line__commission_month"),
        reason=F("refund__reason"),
    )


def clawback_refund_lines(period: Period, *, distributor_ids: list[int] | None = None):
    """Refunds counting in `period` of order lines that counted in an earlier period.

    When that earlier period is already closed, the commissions paid on those lines must be
    clawed back; the commissions app reads this list (`order_commission_month` is the period).
    """
    return (
        period_refund_lines(period, distributor_ids=distributor_ids)
        .filter(order_line__commission_month__lt=period.first_day)
        .order_by("order_line__commission_month", "order_paid_at", "id")
    )


def same_period_refund_lines(period: Period, *, distributor_ids: list[int] | None = None):
    """Refunds counting in `period` of order lines that count in `period` too."""
    return period_refund_lines(period, distributor_ids=distributor_ids).filter(
        order_line__commission_month=period.first_day
    )


_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_LINES_SQL = """
SELECT o.id, o.distributor_id, (o.cv * 100)::bigint, (o.retail_profit * 100)::bigint,
    ((o.paid_at AT TIME ZONE %(zone)s)::date - DATE '1970-01-01')::bigint,
    (o.purpose = 'retail')::int::bigint{paid_us}
FROM orders_orderline o{join} WHERE o.commission_month = %(month)s{only}
"""
_PAID_US_SQL = ",\n    (EXTRACT(EPOCH FROM o.paid_at) * 1000000)::bigint"
# The buyers who joined in a span of days: a small hash (their join-date index) beside the scan.
_JOINED_SQL = """ LEFT JOIN (
    SELECT id FROM {table} WHERE joined_on > %(joined_after)s AND joined_on <= %(joined_by)s
) joined ON joined.id = o.distributor_id"""


@dataclass(frozen=True)
class LineArrays:
    """Order lines counting in a period, for the engine: ids, buyer, cents, local paid day (a
    line paid late for a closed month counts in a later period with its own, earlier, day)."""

    line_id: np.ndarray
    buyer_id: np.ndarray
    cv: np.ndarray
    retail_profit: np.ndarray
    paid_day: np.ndarray  # days since 1970-01-01, in the company's time zone
    is_retail: np.ndarray
    # The moment paid, microseconds since 1970-01-01 UTC (the tree as of it); None when not
    # asked for (``paid_moment=False``).
    paid_us: np.ndarray | None


_DISTRIBUTOR_TABLE = OrderLine._meta.get_field("distributor").related_model._meta.db_table


@dataclass(frozen=True)
class LineSelection:
    """Which of a period's order lines to read: a line is read when it matches any part (none
    set: no line). For a caller whose rules read only some lines (a commission plan that pays
    retail profit and a fast start but its unilevel per person), so that it does not read the
    millions it would ignore."""

    retail_profit: bool = False  # lines with retail profit (before any refund)
    # Lines bought (or sold) by distributors who joined after the first day, up to and
    # including the second.
    buyers_joined: tuple[dt.date, dt.date] | None = None
    paid_before: dt.datetime | None = None  # lines paid before this moment


def period_line_arrays(
    period: Period, *, only: LineSelection | None = None, paid_moment: bool = True
) -> LineArrays:
    """The order lines counting in ``period`` (with ``only``, those it selects), sorted by id;
    ``paid_moment=False`` leaves out each line's moment of payment (``paid_us``)."""
    if connection.vendor == "postgresql":
        columns = _line_columns_by_copy(period, only, paid_moment)
    else:
        columns = _line_columns_by_orm(period, only)
        if not paid_moment:
            columns = columns[:6]
    order = np.argsort(columns[0], kind="stable")
    line_id, buyer, cv, profit, day, retail = (c[order] for c in columns[:6])
    return LineArrays(
        line_id=line_id,
        buyer_id=buyer,
        cv=cv,
        retail_profit=profit,
        paid_day=day.astype(np.int32),
        is_retail=retail.astype(bool),
        paid_us=columns[6][order] if paid_moment else None,
    )


def _line_columns_by_copy(
    period: Period, only: LineSelection | None, paid_moment: bool
) -> list[np.ndarray]:
    params: dict = {"month": period.first_day, "zone": str(period.start.tzinfo)}
    join = where = ""
    if only is not None:
        parts = []
        if only.retail_profit:
            parts.append("o.retail_profit > 0")
        if only.buyers_joined is not None:
            params["joined_after"], params["joined_by"] = only.buyers_joined
            join = _JOINED_SQL.format(table=_DISTRIBUTOR_TABLE)
            parts.append("joined.id IS NOT NULL")
        if only.paid_before is not None:
            params["before"] = only.paid_before
            parts.append("o.paid_at < %(before)s")
        if not parts:
            return [np.zeros(0, dtype=np.int64) for _ in range(7 if paid_moment else 6)]
        where = " AND (" + " OR ".join(parts) + ")"
    sql = _LINES_SQL.format(paid_us=_PAID_US_SQL if paid_moment else "", join=join, only=where)
    return read_columns(sql, params, ["int8"] * (7 if paid_moment else 6))


def _line_columns_by_orm(period: Period, only: LineSelection | None) -> list[np.ndarray]:
    rows = list(
        OrderLine.objects.filter(commission_month=period.first_day).values_list(
            "id",
            "distributor_id",
            "cv",
            "retail_profit",
            "paid_at",
            "purpose",
            "distributor__joined_on",
        )
    )
    epoch = dt.date(1970, 1, 1)
    zone = period.start.tzinfo
    columns = [
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([int(r[2] * 100) for r in rows], dtype=np.int64),
        np.array([int(r[3] * 100) for r in rows], dtype=np.int64),
        np.array([(r[4].astimezone(zone).date() - epoch).days for r in rows], dtype=np.int64),
        np.array([r[5] == OrderPurpose.RETAIL for r in rows], dtype=np.int64),
        np.array([(r[4] - _EPOCH_UTC) // _MICROSECOND for r in rows], dtype=np.int64),
    ]
    if only is None:
        return columns
    keep = np.zeros(len(rows), dtype=bool)
    if only.retail_profit:
        keep |= columns[3] > 0
    if only.buyers_joined is not None:
        after, by = only.buyers_joined
        keep |= np.array([after < r[6] <= by for r in rows], dtype=bool)
    if only.paid_before is not None:
        keep |= columns[6] < (only.paid_before - _EPOCH_UTC) // _MICROSECOND
    return [column[keep] for column in columns]
