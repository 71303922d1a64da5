"""Simulate a plan version (a draft) over a closed month and compare it with what was paid.

The closed month's final run froze each person's tree and volume in its ``DistributorResult``
rows (sponsor, status, PV, CV, carried balance, hold): those are the simulation's inputs.
What the run did not freeze (order lines for fast start, retail profit and order-time
upline; join days; prior ranks; the placement tree; adjustments and clawbacks of the period)
is read as ``gather`` reads it for that period, by calling ``gather`` itself with the draft
plan, and mapped onto the frozen people by id. The engine then runs the draft plan on those
inputs; what was paid comes from the run's ledger lines (sums in SQL).

Nothing is written: no run, no result, no line. The reads run in transactions that are rolled
back, so even a row ``gather`` might create is not kept; the engine runs between them, and an
optional progress callback hears of each phase. The admin runs this in a Celery task
(``services.simulations``) and keeps the result as JSON (``simulation_as_json``); the
``simulate_plan`` command calls it directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from django.db import connection, transaction

from core.bulk import read_columns
from core.money import cents_to_decimal
from core.periods import Period
from genealogy.history import positions_of
from genealogy.models import Distributor

from ..engine import KINDS, run_engine
from ..errors import CommissionError
from ..gather import Gathered, gather
from ..models import (
    LOCKED_STATUSES,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    LineKind,
    PlanVersion,
)
from .runs import Progress

MOVERS = 20  # winners and losers listed


@dataclass(frozen=True)
class KindRow:
    kind: str  # the line kind's label ("Unilevel")
    paid: Decimal
    simulated: Decimal

    @property
    def difference(self) -> Decimal:
        return self.simulated - self.paid


@dataclass(frozen=True)
class RankRow:
    rank: int  # 0 = no rank
    paid_name: str  # the rank's name in the paid plan ("" when it has no such rank)
    simulated_name: str  # in the simulated plan
    paid_people: int  # people paid as this rank
    simulated_people: int
    paid: Decimal  # earned by the people at this rank
    simulated: Decimal

    @property
    def difference(self) -> Decimal:
        return self.simulated - self.paid


@dataclass(frozen=True)
class PersonRow:
    distributor_id: int
    number: int
    name: str
    paid: Decimal
    simulated: Decimal

    @property
    def difference(self) -> Decimal:
        return self.simulated - self.paid


@dataclass(frozen=True)
class Simulation:
    """A draft plan on a closed month next to what was paid (plain values; Decimal money).

    Amounts are commissions (ledger lines after the payout cap); the period's adjustments and
    clawbacks are the same either way and are left out."""

    period: str
    plan_version_id: int
    plan_name: str
    paid_run_id: int
    paid_plan_name: str
    distributor_count: int
    total_cv: Decimal
    paid_total: Decimal
    simulated_total: Decimal
    paid_percent_of_cv: Decimal | None
    simulated_percent_of_cv: Decimal | None
    kinds: list[KindRow]
    ranks: list[RankRow]
    winners: list[PersonRow]  # biggest increases first
    losers: list[PersonRow]  # biggest decreases first
    people_changed: int  # people whose commissions differ

    @property
    def difference(self) -> Decimal:
        return self.simulated_total - self.paid_total


def simulation_as_json(simulation: Simulation) -> dict[str, Any]:
    """The simulation as JSON-safe values (money and percents as decimal strings, exactly)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, list):
            return [plain(item) for item in value]
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return value

    return plain(simulation)


def simulation_from_json(data: dict[str, Any]) -> Simulation:
    """``simulation_as_json`` read back; ``KeyError``/``TypeError``/``ArithmeticError`` when
    ``data`` is not one (a result stored in another shape)."""

    def money(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    def person(row: dict) -> PersonRow:
        return PersonRow(
            int(row["distributor_id"]),
            int(row["number"]),
            str(row["name"]),
            Decimal(row["paid"]),
            Decimal(row["simulated"]),
        )

    return Simulation(
        period=str(data["period"]),
        plan_version_id=int(data["plan_version_id"]),
        plan_name=str(data["plan_name"]),
        paid_run_id=int(data["paid_run_id"]),
        paid_plan_name=str(data["paid_plan_name"]),
        distributor_count=int(data["distributor_count"]),
        total_cv=Decimal(data["total_cv"]),
        paid_total=Decimal(data["paid_total"]),
        simulated_total=Decimal(data["simulated_total"]),
        paid_percent_of_cv=money(data["paid_percent_of_cv"]),
        simulated_percent_of_cv=money(data["simulated_percent_of_cv"]),
        kinds=[
            KindRow(str(k["kind"]), Decimal(k["paid"]), Decimal(k["simulated"]))
            for k in data["kinds"]
        ],
        ranks=[
            RankRow(
                int(r["rank"]),
                str(r["paid_name"]),
                str(r["simulated_name"]),
                int(r["paid_people"]),
                int(r["simulated_people"]),
                Decimal(r["paid"]),
                Decimal(r["simulated"]),
            )
            for r in data["ranks"]
        ],
        winners=[person(p) for p in data["winners"]],
        losers=[person(p) for p in data["losers"]],
        people_changed=int(data["people_changed"]),
    )


def closed_period_row(period: Period) -> CommissionPeriod:
    """The closed (or paid) period a simulation compares with; ``CommissionError`` otherwise."""
    row = CommissionPeriod.objects.filter(month=period.first_day).first()
    if row is None or row.status not in LOCKED_STATUSES or row.current_run_id is None:
        raise CommissionError(
            f"{period} is not closed: a simulation compares with a closed month's final run."
        )
    return row


def simulate(
    plan_version: PlanVersion, period: Period, progress: Progress | None = None
) -> Simulation:
    """Run ``plan_version`` over closed ``period``'s frozen inputs and compare it with the
    period's final run. Raises ``CommissionError`` when the period is not closed.

    ``progress(percent, phase)``, when given, is told of each phase (reading inputs, running
    the engine, comparing) and of the end (100). It is called outside the rolled-back reads,
    so what it writes is kept and seen by others at once."""
    row = closed_period_row(period)
    _report(progress, 5, PHASE_READING)
    with _rolled_back():  # a read: nothing gather might write is kept
        run = row.current_run
        frozen = _frozen_results(run.pk)
        gathered = gather(period, plan_version=plan_version)
        plan = gathered.plan  # the month's kinds only (engine/schedules.py)
        inputs = _frozen_inputs(gathered, frozen)
    _report(progress, 40, PHASE_ENGINE)
    result = run_engine(plan, inputs)  # pure: no database
    _report(progress, 80, PHASE_COMPARING)
    with _rolled_back():
        simulation = _compare(plan_version, period, run, frozen, result)
    _report(progress, 100, PHASE_DONE)
    return simulation


PHASE_READING = "Reading inputs"
PHASE_ENGINE = "Running the engine"
PHASE_COMPARING = "Comparing with what was paid"
PHASE_DONE = "Done"


def _report(progress: Progress | None, percent: int, phase: str) -> None:
    if progress is not None:
        progress(percent, phase)


@contextlib.contextmanager
def _rolled_back() -> Iterator[None]:
    """A transaction that is always rolled back (each statement still reads committed data as
    one transaction would under READ COMMITTED: the closed run it reads never changes)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _compare(
    version: PlanVersion, period: Period, run: CommissionRun, frozen: dict[str, np.ndarray], result
) -> Simulation:
    plan = version.plan
    ids = frozen["distributor_id"]
    paid_by_kind = _paid_by_kind(run.pk)
    paid_person = _paid_per_person(run.pk, ids)
    simulated_person = np.asarray(result.period_total, dtype=np.int64)
    simulated_by_kind = result.summary["totals"]
    total_cv = int(np.maximum(frozen["cv"], 0).sum())
    paid_total = int(sum(paid_by_kind.values()))
    simulated_total = int(result.summary["total_paid"])

    labels = dict(zip(KINDS, LineKind.labels, strict=True))
    kinds = [
        KindRow(
            labels[kind],
            cents_to_decimal(paid_by_kind.get(kind, 0)),
            cents_to_decimal(simulated_by_kind.get(kind, 0)),
        )
        for kind in KINDS
        if paid_by_kind.get(kind, 0) or simulated_by_kind.get(kind, 0)
    ]
    paid_plan = run.plan_version.plan if run.plan_version_id else None
    ranks = rank_rows(
        paid_rank=frozen["paid_as_rank"],
        simulated_rank=np.asarray(result.paid_as_rank, dtype=np.int64),
        paid_person=paid_person,
        simulated_person=simulated_person,
        paid_names=[r.name for r in paid_plan.ranks] if paid_plan else [],
        simulated_names=[r.name for r in plan.ranks],
    )
    winners, losers = _movers(ids, paid_person, simulated_person)
    return Simulation(
        period=str(period),
        plan_version_id=version.pk,
        plan_name=plan.name,
        paid_run_id=run.pk,
        paid_plan_name=paid_plan.name if paid_plan else "",
        distributor_count=len(ids),
        total_cv=cents_to_decimal(total_cv),
        paid_total=cents_to_decimal(paid_total),
        simulated_total=cents_to_decimal(simulated_total),
        paid_percent_of_cv=_percent(paid_total, total_cv),
        simulated_percent_of_cv=_percent(simulated_total, total_cv),
        kinds=kinds,
        ranks=ranks,
        winners=winners,
        losers=losers,
        people_changed=int((paid_person != simulated_person).sum()),
    )


def _percent(amount: int, total_cv: int) -> Decimal | None:
    """Percent of CV to two places, as the engine's summary rounds it."""
    if total_cv == 0:
        return None
    return (Decimal(amount) * 100 / Decimal(total_cv)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


# --- The frozen inputs -------------------------------------------------------------------------

_FROZEN_COLUMNS = (
    "distributor_id",
    "sponsor_id",
    "status",
    "pv",
    "cv",
    "carried_in",
    "on_hold",
    "paid_as_rank",
)


def _frozen_results(run_id: int) -> dict[str, np.ndarray]:
    """A run's frozen per-person columns, sorted by distributor id (sponsor -1 for none)."""
    if connection.vendor == "postgresql":
        columns = read_columns(
            "SELECT CAST(distributor_id AS bigint), CAST(COALESCE(sponsor_id, -1) AS bigint), "
            "CAST(status AS bigint), CAST(pv AS bigint), CAST(cv AS bigint), "
            "CAST(carried_in AS bigint), on_hold, CAST(paid_as_rank AS bigint) "
            "FROM commissions_distributorresult WHERE run_id = %(run)s ORDER BY distributor_id",
            {"run": run_id},
            ["int8", "int8", "int8", "int8", "int8", "int8", "bool", "int8"],
        )
    else:
        rows = list(
            DistributorResult.objects.filter(run_id=run_id)
            .order_by("distributor_id")
            .values_list(*_FROZEN_COLUMNS)
        )
        columns = [
            np.array(
                [(-1 if r[i] is None else r[i]) for r in rows],
                dtype=np.bool_ if name == "on_hold" else np.int64,
            )
            for i, name in enumerate(_FROZEN_COLUMNS)
        ]
    return dict(zip(_FROZEN_COLUMNS, columns, strict=True))


def _frozen_inputs(gathered: Gathered, frozen: dict[str, np.ndarray]):
    """The engine inputs of the frozen people: tree, status, volume, balance and hold from the
    run's results; order lines, join days, prior ranks, placement and the period's adjustments
    and clawbacks from ``gather`` (by id: gather's people may differ from the run's)."""
    ids = frozen["distributor_id"]
    n = len(ids)
    base = gathered.inputs
    # Index in gather's arrays of each frozen person (-1: not in gather's arrays).
    where = positions_of(gathered.ids, ids)
    there = where >= 0
    safe = np.maximum(where, 0)

    def person(values: np.ndarray, missing: int = 0) -> np.ndarray:
        """gather's per-person ``values`` for the frozen people (``missing`` for a stranger),
        in the same dtype."""
        values = np.asarray(values)
        if not n:
            return values[:0]
        return np.where(there, values[safe], missing).astype(values.dtype)

    def frozen_index(gathered_index: np.ndarray) -> np.ndarray:
        """gather's person index → frozen index (-1 stays -1, and so does a stranger)."""
        gathered_index = np.asarray(gathered_index, dtype=np.int64)
        as_ids = np.where(gathered_index >= 0, gathered.ids[np.maximum(gathered_index, 0)], -1)
        return positions_of(ids, as_ids) if len(as_ids) else as_ids

    parent = positions_of(ids, frozen["sponsor_id"]) if n else frozen["sponsor_id"]
    if np.any((frozen["sponsor_id"] >= 0) & (parent < 0)):
        raise CommissionError("the run's results name a sponsor who has no result row")
    line_buyer = frozen_index(base.line_buyer)
    known = line_buyer >= 0  # an order line of someone outside the run pays nothing here
    # Order-time upline reads gather's sponsor at payment; otherwise the frozen sponsor.
    order_time = gathered.plan.options.upline == "order_time"
    line_parent = frozen_index(base.line_parent_at_order)[known] if order_time else None
    changes: dict = {
        "parent": parent,
        "enroller": parent,
        "status": frozen["status"],
        "pv": frozen["pv"],
        "cv": frozen["cv"],
        "join_day": person(base.join_day),
        "line_id": base.line_id[known],
        "line_buyer": line_buyer[known],
        "line_cv": base.line_cv[known],
        "line_paid_day": base.line_paid_day[known],
        "line_retail_profit": base.line_retail_profit[known],
        "line_parent_at_order": line_parent,
        "prior_highest_rank": person(base.prior_highest_rank),
        "prior_advancement_paid_rank": person(base.prior_advancement_paid_rank),
        # The run's carried balance, plus the period's adjustments and clawbacks (as gather).
        "carried_in": frozen["carried_in"] + person(gathered.extras),
        "on_hold": frozen["on_hold"],
        "depth": None,
        "placement_parent": None,
        "placement_position": None,
    }
    placement_ids = gathered.placement_parent_ids
    if placement_ids is not None and np.any(placement_ids >= 0):
        placement_parent = positions_of(ids, person(placement_ids, -1))
        changes["placement_parent"] = placement_parent
        changes["placement_position"] = np.where(
            placement_parent >= 0, person(gathered.placement_position, -1), -1
        )
    # Any other per-person input gather fills (rank grace, staff overrides, ...): by id too.
    for item in dataclasses.fields(base):
        value = getattr(base, item.name)
        if (
            item.name not in changes
            and not item.name.startswith("line_")
            and isinstance(value, np.ndarray)
            and len(value) == len(gathered.ids)
        ):
            changes[item.name] = person(value)
    if base.component_inputs and not np.array_equal(gathered.ids, ids):
        # A component's state names people by gather's indices, in its own format.
        raise CommissionError(
            "the run's people differ from the period's as read today, and the plan's "
            "components carry state by person: this month cannot be simulated"
        )
    return dataclasses.replace(base, **changes)


# --- What was paid (sums in SQL) ----------------------------------------------------------------


def _paid_by_kind(run_id: int) -> dict[str, int]:
    from django.db.models import Sum

    rows = (
        CommissionLine.objects.filter(run_id=run_id)
        .values("kind")
        .annotate(total=Sum("amount"))
        .order_by("kind")
    )
    return {KINDS[r["kind"]]: int(r["total"] or 0) for r in rows}


def _paid_per_person(run_id: int, ids: np.ndarray) -> np.ndarray:
    """Cents each frozen person was paid in the run (sum of their ledger lines)."""
    earners, totals = read_columns(
        "SELECT CAST(earner_id AS bigint), CAST(SUM(amount) AS bigint) "
        "FROM commissions_commissionline WHERE run_id = %(run)s "
        "GROUP BY earner_id ORDER BY earner_id",
        {"run": run_id},
        ["int8", "int8"],
    )
    paid = np.zeros(len(ids), dtype=np.int64)
    where = positions_of(ids, earners)
    if np.any(where < 0):
        raise CommissionError("the run's ledger pays someone who has no result row")
    np.add.at(paid, where, totals.astype(np.int64))
    return paid


# --- The comparison -------------------------------------------------------------------------------


def rank_rows(
    *,
    paid_rank: np.ndarray,
    simulated_rank: np.ndarray,
    paid_person: np.ndarray,
    simulated_person: np.ndarray,
    paid_names: list[str],
    simulated_names: list[str],
) -> list[RankRow]:
    size = (
        max(
            len(paid_names),
            len(simulated_names),
            int(paid_rank.max(initial=0)),
            int(simulated_rank.max(initial=0)),
        )
        + 1
    )
    paid_people = np.bincount(paid_rank, minlength=size)
    simulated_people = np.bincount(simulated_rank, minlength=size)
    paid = np.zeros(size, dtype=np.int64)
    simulated = np.zeros(size, dtype=np.int64)
    np.add.at(paid, paid_rank, paid_person)
    np.add.at(simulated, simulated_rank, simulated_person)

    def name(names: list[str], rank: int) -> str:
        if rank == 0:
            return "(no rank)"
        return names[rank - 1] if rank <= len(names) else ""

    return [
        RankRow(
            rank,
            name(paid_names, rank),
            name(simulated_names, rank),
            int(paid_people[rank]),
            int(simulated_people[rank]),
            cents_to_decimal(int(paid[rank])),
            cents_to_decimal(int(simulated[rank])),
        )
        for rank in range(size)
    ]


def mover_indices(
    ids: np.ndarray, paid: np.ndarray, simulated: np.ndarray, count: int = MOVERS
) -> tuple[list[int], list[int]]:
    """Indices of the ``count`` biggest increases (simulated - paid > 0, biggest first) and
    decreases (< 0, biggest drop first); equal differences by distributor id."""
    difference = simulated - paid
    order = np.lexsort((ids, -difference))
    up = [i for i in order[:count].tolist() if difference[i] > 0]
    order = np.lexsort((ids, difference))
    down = [i for i in order[:count].tolist() if difference[i] < 0]
    return up, down


def _movers(
    ids: np.ndarray, paid: np.ndarray, simulated: np.ndarray
) -> tuple[list[PersonRow], list[PersonRow]]:
    """The ``MOVERS`` biggest increases and decreases (ties by distributor id)."""
    up, down = mover_indices(ids, paid, simulated)
    people = {
        d.pk: d
        for d in Distributor.objects.select_related("user").filter(
            pk__in=[int(ids[i]) for i in up + down]
        )
    }

    def row(i: int) -> PersonRow:
        person = people.get(int(ids[i]))
        return PersonRow(
            int(ids[i]),
            person.number if person else 0,
            person.display_name if person else "",
            cents_to_decimal(int(paid[i])),
            cents_to_decimal(int(simulated[i])),
        )

    return [row(i) for i in up], [row(i) for i in down]


def simulation_rows(simulation: Simulation) -> list[list]:
    """The comparison as CSV rows (section, key, name, paid, simulated, difference), for the
    command and the admin's download; written through ``core.csv``."""
    rows: list[list] = [["section", "key", "name", "paid", "simulated", "difference"]]
    rows.append(
        [
            "total",
            simulation.period,
            f"v{simulation.plan_version_id} {simulation.plan_name}",
            simulation.paid_total,
            simulation.simulated_total,
            simulation.difference,
        ]
    )
    rows.append(
        [
            "percent_of_cv",
            simulation.period,
            f"of {simulation.total_cv} CV",
            simulation.paid_percent_of_cv,
            simulation.simulated_percent_of_cv,
            None
            if simulation.paid_percent_of_cv is None
            else simulation.simulated_percent_of_cv - simulation.paid_percent_of_cv,
        ]
    )
    rows += [["kind", k.kind, k.kind, k.paid, k.simulated, k.difference] for k in simulation.kinds]
    rows += [
        [
            "rank",
            r.rank,
            r.simulated_name
            if r.simulated_name == r.paid_name
            else f"{r.paid_name} → {r.simulated_name}",
            r.paid,
            r.simulated,
            r.difference,
        ]
        for r in simulation.ranks
    ]
    for section, people in (("winner", simulation.winners), ("loser", simulation.losers)):
        rows += [[section, p.number, p.name, p.paid, p.simulated, p.difference] for p in people]
    return rows
