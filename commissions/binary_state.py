"""The binary component in the database: its carry queue and report per calculation run.

The engine's binary component (``commissions.engine.binary``, whose docstring defines the state
dict) hands each period's unpaired leg volume on as a queue of (owner, side, source period,
volume) entries, and reports each person's leg figures. Here:

* ``write_binary_state``: a calculation run's queue becomes ``BinaryCarry`` rows, its pairing
  history ``BinaryPairedVolume`` and ``BinaryPairing`` rows (what each pairing consumed and
  paid: the ledger line's amount, after the payout cap) and its report ``BinaryLegFigures``
  rows, by COPY with the run's results (a retried run first deletes its own rows,
  ``delete_binary_rows``); closing the period makes them final with the run;
* ``binary_component_inputs``: the next period's ``component_inputs["binary"]``, read from
  the previous period's current run (the run whose balances carry in), owners mapped from
  distributor ids to the new period's engine indices; rows of people no longer in the
  period's arrays are dropped;
* ``carried_into``: what each leg of one person carries into a period (the placement tree
  page's "carried" figure);
* ``binary_line_text``: the statement's words for a binary line, from the stored report;
  ``binary_clawback_text`` the words of a binary clawback (``commissions.binary_clawbacks``
  writes those, before the refund period's run).

Periods are numbered on their schedule's scale (``PeriodScale``): months as
``year × 12 + month − 1`` (``period_index``), pay weeks as their first day's ordinal // 7 (one
apart from week to week, whatever weekday they start on); the engine only compares and
subtracts them, so expiry and the pairing history's age count the schedule's own periods.
Stored rows keep each period's first day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from core.bulk import copy_columns, read_columns
from core.money import to_cents
from core.periods import Period, Week
from genealogy.history import positions_of

from .calendar import commission_calendar
from .engine.binary import describe, explain
from .engine.results import KIND_CODES
from .engine.schedules import WEEKLY, schedule_of
from .models import (
    BinaryCarry,
    BinaryLegFigures,
    BinaryPairedVolume,
    BinaryPairing,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    PlanVersion,
    Schedule,
)

KEY = "binary"
FIGURES = (
    "cycles_ppm",
    "paid",
    "left",
    "right",
    "paired_left",
    "paired_right",
    "flushed_left",
    "flushed_right",
    "expired_left",
    "expired_right",
    "carried_left",
    "carried_right",
    "refund_unmatched_left",
    "refund_unmatched_right",
)
# PostgreSQL's binary COPY sends a date as int4 days since 2000-01-01.
_PG_DATE_EPOCH = dt.date(2000, 1, 1)


def period_index(period: Period | Week) -> int:
    return scale_of(period).index(period.first_day)


def index_first_day(index: int) -> dt.date:
    """The first day of the month numbered ``index``."""
    return MONTHS.first_day(index)


@dataclasses.dataclass(frozen=True)
class PeriodScale:
    """How a schedule's periods are numbered: months (``week_residue`` None), or pay weeks
    whose first days have the ordinal residue ``week_residue`` modulo 7."""

    week_residue: int | None = None

    def index(self, day: dt.date) -> int:
        """The number of the period containing ``day``."""
        if self.week_residue is None:
            return day.year * 12 + day.month - 1
        return (day.toordinal() - self.week_residue) // 7

    def first_day(self, index: int) -> dt.date:
        if self.week_residue is None:
            return dt.date(index // 12, index % 12 + 1, 1)
        return dt.date.fromordinal(index * 7 + self.week_residue)

    def sql_index(self, column: str) -> str:
        """``index`` of a date column, in PostgreSQL."""
        if self.week_residue is None:
            year, month = f"EXTRACT(YEAR FROM {column})", f"EXTRACT(MONTH FROM {column})"
            return f"CAST({year} * 12 + {month} - 1 AS bigint)"
        # date − date is a whole number of days (date.toordinal() of 0001-01-01 is 1), and
        # the ordinal less the residue is never negative: integer division is the floor.
        return f"CAST(({column} - DATE '0001-01-01' + 1 - {self.week_residue}) / 7 AS bigint)"


MONTHS = PeriodScale()


def scale_of(period: Period | Week) -> PeriodScale:
    if isinstance(period, Week):
        return PeriodScale(period.first_day.toordinal() % 7)
    return MONTHS


def scale_of_run(run: CommissionRun) -> PeriodScale:
    row = CommissionPeriod.every_schedule.get(pk=run.period_id)
    return scale_of(row.period)


def uses_binary(plan) -> bool:
    return KEY in plan.components


def binary_component_inputs(
    *,
    plan,
    period: Period,
    prior_run_id: int | None,
    ids: np.ndarray,
    refunds: list[dict] | None = None,
    owners: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """``component_inputs["binary"]`` for ``period`` (None when the plan has no binary
    section): the prior run's queue with owners as indices into ``ids`` (sorted), sorted by
    (owner, side, source period) as the engine requires, and this period's index.

    ``refunds``: the period's refund lines of orders counted in a closed earlier period (gather's
    clawback candidates: ``distributor_id``, ``cv``, ``pv``, ``order_commission_month``); they
    take their volume back out of the queue entries of that source month (the engine's rule 7).
    Refunds of orders from a month still open reduce this period's own volume instead (gather),
    so they are not passed twice. They are passed by refund line id (``refunds_in_order``): the
    engine serves them in that order, so a refund keeps its clawbacks when later ones arrive.

    The prior run's pairing history (``paired``, ``pairings``) comes along, owners mapped the
    same way. ``owners`` (distributor ids): read only their queue and history rows (what the
    refunds' clawbacks need, ``commissions.binary_clawbacks``)."""
    if not uses_binary(plan):
        return None
    scale = scale_of(period)
    state: dict[str, Any] = {"current_period": scale.index(period.first_day)}
    refunds = refunds_in_order(refunds or [])
    if refunds:
        field = "pv" if plan.components[KEY].volume == "pv" else "cv"
        state["refunds"] = {
            "buyer": positions_of(ids, np.array([r["distributor_id"] for r in refunds])),
            "volume": -np.array([to_cents(r[field]) for r in refunds], dtype=np.int64),
            "source_period_index": np.array(
                [scale.index(_source_day(r)) for r in refunds], dtype=np.int64
            ),
        }
    if prior_run_id is None:
        return state
    distributor, side, month, volume = _read_carry(prior_run_id, owners, scale)
    owner = positions_of(ids, distributor)
    kept = owner >= 0
    # Rows come sorted by (distributor, side, month) and ``ids`` is sorted: owners stay sorted.
    state.update(
        owner=owner[kept],
        side=side[kept].astype(np.int8),
        period_index=month[kept],
        volume=volume[kept],
    )
    distributor, side, source, paired_month, volume = _read_history(
        "commissions_binarypairedvolume",
        "side, source_period, paired_period, volume",
        prior_run_id,
        5,
        owners,
        scale,
    )
    owner = positions_of(ids, distributor)
    kept = owner >= 0
    state["paired"] = {
        "owner": owner[kept],
        "side": side[kept].astype(np.int8),
        "source_period": source[kept],
        "period": paired_month[kept],
        "volume": volume[kept],
    }
    distributor, paired_month, paid, left, right, clawed = _read_history(
        "commissions_binarypairing",
        "paired_period, paid, paired_left, paired_right, clawed",
        prior_run_id,
        6,
        owners,
        scale,
    )
    owner = positions_of(ids, distributor)
    kept = owner >= 0
    state["pairings"] = {
        "owner": owner[kept],
        "period": paired_month[kept],
        "paid": paid[kept],
        "left": left[kept],
        "right": right[kept],
        "clawed": clawed[kept],
    }
    return state


def _source_day(refund: dict) -> dt.date:
    """A day of the period the refunded volume counted in: a week's refunds name it
    (``source_day``), a month's the order's commission month."""
    return refund.get("source_day") or refund["order_commission_month"]


def refunds_in_order(refunds: list[dict]) -> list[dict]:
    """The refund lines in the order the engine serves them: by refund line id."""
    return sorted(refunds, key=lambda refund: refund["id"])


_DATE_COLUMNS = ("source_period", "paired_period")
_HISTORY_MODELS = {
    "commissions_binarypairedvolume": BinaryPairedVolume,
    "commissions_binarypairing": BinaryPairing,
}


def _read_history(
    table: str,
    columns: str,
    run_id: int,
    count: int,
    owners: np.ndarray | None = None,
    scale: PeriodScale = MONTHS,
) -> list[np.ndarray]:
    """distributor id and ``columns`` of a run's history rows (of ``owners`` only, when
    given), sorted by distributor and then by the columns; date columns as period indices."""
    names = [name.strip() for name in columns.split(",")]
    if connection.vendor == "postgresql":
        select = ", ".join(
            scale.sql_index(name) if name in _DATE_COLUMNS else f"CAST({name} AS bigint)"
            for name in names
        )
        order = ", ".join(["distributor_id", *names[: count - 2]])
        only, params = _owner_filter(owners)
        return read_columns(
            f"SELECT CAST(distributor_id AS bigint), {select} FROM {table} "  # noqa: S608
            f"WHERE run_id = %(run)s{only} ORDER BY {order}",  # fixed names
            {"run": run_id, **params},
            ["int8"] * count,
        )
    queryset = _HISTORY_MODELS[table].objects.filter(run_id=run_id)
    if owners is not None:
        queryset = queryset.filter(distributor_id__in=[int(o) for o in owners])
    rows = list(
        queryset.order_by("distributor_id", *names[: count - 2]).values_list(
            "distributor_id", *names
        )
    )
    out = [np.array([r[0] for r in rows], dtype=np.int64)]
    for position, name in enumerate(names, start=1):
        values = [r[position] for r in rows]
        if name in _DATE_COLUMNS:
            values = [scale.index(v) for v in values]
        out.append(np.array(values, dtype=np.int64))
    return out


def _owner_filter(owners: np.ndarray | None) -> tuple[str, dict[str, Any]]:
    if owners is None:
        return "", {}
    return " AND distributor_id = ANY(%(owners)s)", {"owners": [int(o) for o in owners]}


def _read_carry(
    run_id: int, owners: np.ndarray | None = None, scale: PeriodScale = MONTHS
) -> list[np.ndarray]:
    """distributor id, side, source period index and volume of a run's queue (of ``owners``
    only, when given), sorted."""
    if connection.vendor == "postgresql":
        only, params = _owner_filter(owners)
        return read_columns(
            f"""
            SELECT CAST(distributor_id AS bigint), CAST(side AS bigint),
                {scale.sql_index("source_period")},
                CAST(volume AS bigint)
            FROM commissions_binarycarry WHERE run_id = %(run)s{only}
            ORDER BY distributor_id, side, source_period
            """,  # noqa: S608 - fixed text
            {"run": run_id, **params},
            ["int8"] * 4,
        )
    queryset = BinaryCarry.objects.filter(run_id=run_id)
    if owners is not None:
        queryset = queryset.filter(distributor_id__in=[int(o) for o in owners])
    rows = list(
        queryset.order_by("distributor_id", "side", "source_period").values_list(
            "distributor_id", "side", "source_period", "volume"
        )
    )
    return [
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([scale.index(r[2]) for r in rows], dtype=np.int64),
        np.array([r[3] for r in rows], dtype=np.int64),
    ]


def delete_binary_rows(run_ids: list[int]) -> None:
    BinaryCarry.objects.filter(run_id__in=run_ids).delete()
    BinaryLegFigures.objects.filter(run_id__in=run_ids).delete()
    BinaryPairedVolume.objects.filter(run_id__in=run_ids).delete()
    BinaryPairing.objects.filter(run_id__in=run_ids).delete()


def write_binary_state(run: CommissionRun, ids: np.ndarray, result) -> dict[str, int]:
    """Write the run's binary queue and report (COPY, in batches); returns the row counts.
    Nothing when the run has no binary state."""
    state = (result.component_state or {}).get(KEY)
    if not state:
        return {}
    delete_binary_rows([run.pk])  # a retried write replaces its own rows
    scale = scale_of_run(run)
    owner = np.asarray(state["owner"], dtype=np.int64)
    carried = _write_carry(
        run.pk,
        ids[owner],
        np.asarray(state["side"], dtype=np.int16),
        _pg_dates(np.asarray(state["period_index"], dtype=np.int64), scale),
        np.asarray(state["volume"], dtype=np.int64),
    )
    report = state.get("report") or {}
    people = np.asarray(report.get("owner", []), dtype=np.int64)
    columns = {
        "run_id": np.full(len(people), run.pk, dtype=np.int64),
        "distributor_id": ids[people],
        "qualified": np.asarray(report.get("qualified", []), dtype=np.bool_),
    }
    for name in FIGURES:
        columns[name] = np.asarray(report[name], dtype=np.int64)
    figures = copy_columns(BinaryLegFigures, columns) if len(people) else 0
    counts = {"binary_carry": carried, "binary_figures": figures}
    counts.update(_write_history(run, ids, state, result, scale))
    return counts


def _write_history(
    run: CommissionRun, ids: np.ndarray, state: dict, result, scale: PeriodScale
) -> dict[str, int]:
    """The pairing history rows (COPY); this period's pairings paid what their ledger lines
    say (after the payout cap; nothing for the company's own root)."""
    paired = state.get("paired") or {}
    owner = np.asarray(paired.get("owner", []), dtype=np.int64)
    counts = {"binary_paired": 0, "binary_pairings": 0}
    if len(owner):
        counts["binary_paired"] = copy_columns(
            BinaryPairedVolume,
            {
                "run_id": np.full(len(owner), run.pk, dtype=np.int64),
                "distributor_id": ids[owner],
                "side": np.asarray(paired["side"], dtype=np.int16),
                "source_period": _pg_dates(
                    np.asarray(paired["source_period"], dtype=np.int64), scale
                ),
                "paired_period": _pg_dates(np.asarray(paired["period"], dtype=np.int64), scale),
                "volume": np.asarray(paired["volume"], dtype=np.int64),
            },
        )
    pairings = state.get("pairings") or {}
    owner = np.asarray(pairings.get("owner", []), dtype=np.int64)
    if len(owner):
        month = np.asarray(pairings["period"], dtype=np.int64)
        paid = np.asarray(pairings["paid"], dtype=np.int64).copy()
        new = month == int(state["period"])
        lines = result.lines
        is_binary = np.asarray(lines.kind) == KIND_CODES[KEY]
        ledger = np.zeros(len(ids), dtype=np.int64)
        np.add.at(ledger, np.asarray(lines.earner)[is_binary], np.asarray(lines.amount)[is_binary])
        paid[new] = ledger[owner[new]]
        counts["binary_pairings"] = copy_columns(
            BinaryPairing,
            {
                "run_id": np.full(len(owner), run.pk, dtype=np.int64),
                "distributor_id": ids[owner],
                "paired_period": _pg_dates(month, scale),
                "paid": paid,
                "paired_left": np.asarray(pairings["left"], dtype=np.int64),
                "paired_right": np.asarray(pairings["right"], dtype=np.int64),
                "clawed": np.minimum(np.asarray(pairings["clawed"], dtype=np.int64), paid),
            },
        )
    return counts


def _pg_dates(periods: np.ndarray, scale: PeriodScale):
    """Period indices as the first days of their periods: int4 days since 2000-01-01 for
    PostgreSQL's binary COPY, dates elsewhere."""
    unique_periods, inverse = np.unique(periods, return_inverse=True)
    firsts = [scale.first_day(int(i)) for i in unique_periods]
    if connection.vendor != "postgresql":
        return np.array(firsts, dtype=object)[inverse] if len(periods) else np.array([])
    days = (np.array(firsts, dtype="datetime64[D]") - np.datetime64(_PG_DATE_EPOCH, "D")).astype(
        np.int32
    )
    return days[inverse]


def _write_carry(
    run_id: int, distributor: np.ndarray, side: np.ndarray, first_days, volume: np.ndarray
) -> int:
    """The queue rows; ``first_days`` as ``_pg_dates`` gives them."""
    if connection.vendor != "postgresql":  # the embedded SQLite default: a small company
        BinaryCarry.objects.bulk_create(
            [
                BinaryCarry(run_id=run_id, distributor_id=d, side=s, source_period=day, volume=v)
                for d, s, day, v in zip(
                    distributor.tolist(),
                    side.tolist(),
                    list(first_days),
                    volume.tolist(),
                    strict=True,
                )
            ],
            batch_size=2_000,
        )
        return len(distributor)
    return copy_columns(
        BinaryCarry,
        {
            "run_id": np.full(len(distributor), run_id, dtype=np.int64),
            "distributor_id": distributor,
            "side": side,
            "source_period": first_days,
            "volume": volume,
        },
    )


def carried_into(*, distributor_id: int, period: Period) -> dict[int, int] | None:
    """Volume (cents) each leg of ``distributor_id`` carries into ``period`` (side -> cents),
    from the previous period's current run (the previous pay week's when the binary is paid
    weekly: what carries into the week running now); None when the plan in force has no
    binary section or no earlier period was calculated."""
    from .gather import previous_run  # gather reads this module's inputs

    calendar = commission_calendar()  # the open month's plan without a query (pages ask it)
    if calendar.period == period:
        plan = calendar.plan
    else:
        version = PlanVersion.in_force(period.first_day)
        plan = version.plan if version is not None else None
    if plan is None or not uses_binary(plan):
        return None
    if schedule_of(plan, KEY) == WEEKLY:  # the pay week running now (or the month's last)
        from .gather_week import previous_week_run

        week = Week.containing(min(timezone.now(), period.end), plan.weekly.week_starts)
        prior = previous_week_run(week)
    else:
        prior = previous_run(period)
    if prior is None:
        return None
    carried = {0: 0, 1: 0}
    for side, volume in BinaryCarry.objects.filter(
        run_id=prior.pk, distributor_id=distributor_id
    ).values_list("side", "volume"):
        carried[side] += volume
    return carried


def binary_line_text(line: CommissionLine, run: CommissionRun) -> str:
    """The statement's words for a binary line: pairs, each leg's volume and what carried
    (the component's ``describe`` over the stored report), or the line's own words when the
    run stored no report."""
    options = run.plan_version.plan.components[KEY]
    row = (
        BinaryLegFigures.objects.filter(run_id=run.pk, distributor_id=line.earner_id)
        .values("qualified", *FIGURES)
        .first()
    )
    if row is None:
        return explain(line, options)
    report = {"owner": np.zeros(1, dtype=np.int64)}
    report.update({name: np.array([value]) for name, value in row.items()})
    return describe(0, {"report": report}, options)


def binary_clawback_text(clawback: Clawback, unit: str = "CV") -> str:
    """The statement's words for a binary clawback (``commissions.binary_clawbacks``): what
    came back and why, e.g. "binary: refund of 120 CV on the left (volume of 2026-09) that
    paired in 2026-10 takes back 120/900 of the 75.00 that pairing paid; 120 CV put back on
    the right". ``clawback.binary`` is its detail row."""
    detail = getattr(clawback, "binary", None)
    weekly = clawback.original_period.schedule == Schedule.WEEKLY
    label = "the week of %Y-%m-%d" if weekly else "%Y-%m"
    paired_in = clawback.original_period.month.strftime(label)
    refunded = f"{_volume(clawback.refunded_base)} {unit}"
    if detail is None:
        side_words, source, put_back = "", "", ""
    else:
        side, other = ("left", "right") if detail.side == 0 else ("right", "left")
        side_words = f" on the {side}"
        source = f" (volume of {detail.source_period.strftime(label)})"
        put_back = (
            f"; {_volume(detail.restored)} {unit} put back on the {other}"
            if detail.restored
            else ""
        )
    return (
        f"binary: refund of {refunded}{side_words}{source} that paired in {paired_in} takes "
        f"back {_volume(clawback.refunded_base)}/{_volume(clawback.original_base)} of the "
        f"{_money(clawback.original_amount)} that pairing paid{put_back}"
    )


def _volume(cents: int) -> str:
    whole, part = divmod(int(cents), 100)
    return f"{whole:,}" if part == 0 else f"{whole:,}.{part:02d}"


def _money(cents: int) -> str:
    whole, part = divmod(int(cents), 100)
    return f"{whole:,}.{part:02d}"
