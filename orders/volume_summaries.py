"""Volume summaries: each distributor's net volume per commission period, kept as money moves.

`orders.volume` states the rule (paid order lines count in their `commission_month`, refund
lines, negative, in theirs). This module keeps its per-distributor result in one table,
`VolumeSummary` (integer cents), so that a commission run reads one row per person instead of
aggregating the month's order lines:

* `add_paid_order(order_id)` and `add_refund(refund_id)` add one order's (refund's) lines to
  their distributor's row, creating it when needed: one `INSERT … SELECT … GROUP BY … ON
  CONFLICT DO UPDATE` each, called by `orders.services` inside the payment's (refund's)
  transaction, so a summary never shows money that did not move, nor misses money that did.
* `rebuild_volume_summaries(period)` recomputes a period (or every period) from the lines in one
  set-based statement; bulk writers (the demo and benchmark seeders) call it after writing lines.
  It locks the table against concurrent payments' upserts while it runs; a payment whose lines
  it did not see adds its own delta after it commits, so nothing is counted twice or lost.
* `volume_summary_differences(period)` compares the table with the lines (one GROUP BY, a full
  join) for `check_volume_summaries`.
* `summary_totals(period)` reads a period's rows as `orders.volume.VolumeTotals`, exactly what
  `period_totals` computes from the lines (same distributors, same cents).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from core.bulk import read_columns
from core.periods import Period

from .volume import TOTAL_COLUMNS, VolumeTotals

TABLE = "orders_volumesummary"
COUNT_COLUMNS = ("order_lines", "refund_lines")
SUMMARY_COLUMNS = (*TOTAL_COLUMNS, *COUNT_COLUMNS)

# One aggregate per summary column over "moved" rows (signed figures, `is_order` 1 or 0).
# Volumes have two decimal places, so `SUM(...) * 100` is an exact whole number of cents.
_AGGREGATES = {
    "pv": "SUM(pv)",
    "cv": "SUM(cv)",
    "personal_pv": "SUM(CASE WHEN purpose = 'retail' THEN 0 ELSE pv END)",
    "personal_cv": "SUM(CASE WHEN purpose = 'retail' THEN 0 ELSE cv END)",
    "retail_pv": "SUM(CASE WHEN purpose = 'retail' THEN pv ELSE 0 END)",
    "retail_cv": "SUM(CASE WHEN purpose = 'retail' THEN cv ELSE 0 END)",
    "retail_sales": "SUM(CASE WHEN purpose = 'retail' THEN amount ELSE 0 END)",
    "retail_profit": "SUM(retail_profit)",
}
_SELECT_LIST = ",\n    ".join(
    [f"CAST({_AGGREGATES[name]} * 100 AS bigint) AS {name}" for name in TOTAL_COLUMNS]
    + ["CAST(SUM(is_order) AS bigint) AS order_lines"]
    + ["CAST(SUM(1 - is_order) AS bigint) AS refund_lines"]
)
_INSERT_COLUMNS = ", ".join(["distributor_id", "month", *SUMMARY_COLUMNS])


def _moved(table: str, where: str) -> str:
    """Rows of order lines (`orders_orderline`) or refund lines (negated) matching `where`."""
    sign, is_order = ("", 1) if table == "orders_orderline" else ("-", 0)
    return (
        f"SELECT distributor_id, commission_month, purpose, {sign}pv AS pv, {sign}cv AS cv, "  # noqa: S608 (fixed names)
        f"{sign}amount AS amount, {sign}retail_profit AS retail_profit, {is_order} AS is_order "
        f"FROM {table} WHERE {where}"
    )


def _aggregate(source: str) -> str:
    return (
        f"SELECT distributor_id, commission_month AS month,\n    {_SELECT_LIST}\n"  # noqa: S608
        f"FROM ({source}) moved GROUP BY distributor_id, commission_month"
    )


_UPSERT = (
    f"INSERT INTO {TABLE} ({_INSERT_COLUMNS})\n{{select}}\n"
    "ON CONFLICT (month, distributor_id) DO UPDATE SET "
    + ", ".join(f"{name} = {TABLE}.{name} + excluded.{name}" for name in SUMMARY_COLUMNS)
)


def add_paid_order(order_id: int) -> None:
    """Add a just-paid order's lines to the summaries (inside the payment's transaction)."""
    where = "order_id = %s AND commission_month IS NOT NULL"
    select = _aggregate(_moved("orders_orderline", where))
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(select=select), [order_id])


def add_refund(refund_id: int) -> None:
    """Take a just-written refund's lines off the summaries (inside the refund's transaction)."""
    select = _aggregate(_moved("orders_refundline", "refund_id = %s"))
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT.format(select=select), [refund_id])


def _month_filter(period: Period | None) -> tuple[str, list]:
    if period is None:
        return "commission_month IS NOT NULL", []
    return "commission_month = %s", [period.first_day]


def _expected_sql(period: Period | None) -> tuple[str, list]:
    """The summaries as the lines say they should be: one GROUP BY over both line tables."""
    where, params = _month_filter(period)
    source = f"{_moved('orders_orderline', where)}\nUNION ALL\n{_moved('orders_refundline', where)}"
    return _aggregate(source), params * 2


def _lock_table(cursor) -> None:
    if connection.vendor == "postgresql":
        # Conflicts with the upserts of payments and refunds (ROW EXCLUSIVE), not with reads.
        cursor.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")


def rebuild_volume_summaries(period: Period | None = None) -> int:
    """Recompute the summaries of `period` (every period when None) from the lines, set-based;
    returns the number of rows written."""
    select, params = _expected_sql(period)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_table(cursor)
        if period is None:
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (fixed name)
        else:
            cursor.execute(f"DELETE FROM {TABLE} WHERE month = %s", [period.first_day])  # noqa: S608
        cursor.execute(f"INSERT INTO {TABLE} ({_INSERT_COLUMNS})\n{select}", params)
        rows = cursor.rowcount
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {TABLE}")  # the planner sees the new rows at once
        return rows


@dataclass(frozen=True)
class SummaryDifference:
    """A (distributor, month) whose stored summary is not what its lines add up to. `stored`
    is None for a missing row, `expected` None for a row no line accounts for."""

    distributor_id: int
    month: dt.date
    expected: dict[str, int] | None
    stored: dict[str, int] | None

    @property
    def columns(self) -> list[str]:
        """The columns that differ (every column when a side is missing)."""
        if self.expected is None or self.stored is None:
            return list(SUMMARY_COLUMNS)
        return [name for name in SUMMARY_COLUMNS if self.expected[name] != self.stored[name]]


def volume_summary_differences(period: Period | None = None) -> list[SummaryDifference]:
    """Every summary row that differs from the lines (or is missing, or is extra)."""
    expected, params = _expected_sql(period)
    stored_where = "" if period is None else "WHERE month = %s"
    if period is not None:
        params = [*params, period.first_day]
    columns = ", ".join(
        [f"e.{name}" for name in SUMMARY_COLUMNS] + [f"s.{name}" for name in SUMMARY_COLUMNS]
    )
    differs = " OR ".join(f"e.{name} <> s.{name}" for name in SUMMARY_COLUMNS)
    sql = (
        f"WITH e AS ({expected}),\n"  # noqa: S608 (fixed names)
        f"s AS (SELECT distributor_id, month, {', '.join(SUMMARY_COLUMNS)} "
        f"FROM {TABLE} {stored_where})\n"
        "SELECT COALESCE(e.distributor_id, s.distributor_id), COALESCE(e.month, s.month), "
        f"e.distributor_id IS NOT NULL, s.distributor_id IS NOT NULL, {columns}\n"
        "FROM e FULL OUTER JOIN s ON e.distributor_id = s.distributor_id AND e.month = s.month\n"
        f"WHERE e.distributor_id IS NULL OR s.distributor_id IS NULL OR {differs}\n"
        "ORDER BY 2, 1"
    )
    width = len(SUMMARY_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        SummaryDifference(
            distributor_id=row[0],
            month=row[1],
            expected=dict(zip(SUMMARY_COLUMNS, row[4 : 4 + width], strict=True))
            if row[2]
            else None,
            stored=dict(zip(SUMMARY_COLUMNS, row[4 + width :], strict=True)) if row[3] else None,
        )
        for row in rows
    ]


_READ_COLUMNS = ", ".join(f"CAST({name} AS bigint)" for name in ("distributor_id", *TOTAL_COLUMNS))
# No ORDER BY: sorting the (unique) ids in numpy is cheaper than a sort in PostgreSQL.
_READ_SQL = f"SELECT {_READ_COLUMNS} FROM {TABLE} WHERE month = %(month)s"  # noqa: S608


def summary_totals(period: Period) -> VolumeTotals:
    """`orders.volume.period_totals(period)` read from the summaries (one index range)."""
    columns = read_columns(_READ_SQL, {"month": period.first_day}, ["int8"] * 9)
    order = np.argsort(columns[0], kind="stable")
    return VolumeTotals(
        period=period,
        distributor_ids=np.ascontiguousarray(columns[0][order]),
        **{
            name: np.ascontiguousarray(column[order])
            for name, column in zip(TOTAL_COLUMNS, columns[1:], strict=True)
        },
    )
