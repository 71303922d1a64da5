"""Downline counts whose upkeep does not grow with the depth of the tree.

Each placed node stores `descendants`, the people below it. A placement under P adds people
below P and below every ancestor of P: at a million people with a deep leg that is tens of
thousands of rows for one batch, whatever its size. So writers do not touch the ancestors:
they append one `DownlineCountDelta` row per parent they changed ("P and everyone above it
have d more people below"), and `fold` later adds all waiting rows to the stored counts in one
set-based pass (a shared ancestor is written once per fold, not once per batch) and deletes
them. A reader adds the waiting rows inside a node's interval to its stored count, so a count
is exact at any moment; the waiting rows stay few because the fold runs after every placement
batch and every minute.

A moved leg takes its own waiting rows along (they are keyed by node, not by label): the
counts of the old and the new upline change by the leg's stored people only, the part the
waiting rows inside it do not already carry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.utils import timezone

from .labels import LabelSpace, _id_list_sql, _is_postgresql, add_descendants

TABLE = "genealogy_downlinecountdelta"


def record(space: LabelSpace, deltas: Mapping[int, int] | Iterable[tuple[int, int]]) -> int:
    """Append waiting count changes: node and every ancestor of it get `delta` more people
    below. One INSERT; returns the rows written."""
    pairs = deltas.items() if isinstance(deltas, Mapping) else deltas
    summed: dict[int, int] = defaultdict(int)
    for node, delta in pairs:
        if node is not None:
            summed[int(node)] += int(delta)
    rows = [(node, delta) for node, delta in summed.items() if delta]
    if not rows:
        return 0
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(
                f"INSERT INTO {TABLE} (tree, node_id, delta)"  # noqa: S608 - constant table
                " SELECT %s, n, d FROM unnest(%s::bigint[], %s::int[]) AS u(n, d)",
                [space.tree, [n for n, _ in rows], [d for _, d in rows]],
            )
        else:
            cursor.executemany(
                f"INSERT INTO {TABLE} (tree, node_id, delta) VALUES (%s, %s, %s)",  # noqa: S608
                [(space.tree, n, d) for n, d in rows],
            )
    schedule_fold()
    return len(rows)


FOLD_TASK = "genealogy.fold_downline_counts"
FOLD_WINDOW_SECONDS = 2  # one fold for all the batches of a two-second window


def schedule_fold(*, now: dt.datetime | None = None) -> None:
    """Ask the worker to fold soon, in the writer's own transaction (the outbox): one task per
    two-second window, run a second after it ends. Beat folds anything left every minute."""
    from outbox.services import enqueue

    window = int((now or timezone.now()).timestamp() // FOLD_WINDOW_SECONDS)
    enqueue(
        FOLD_TASK,
        idempotency_key=f"{FOLD_TASK}:{window}",
        eta=dt.datetime.fromtimestamp((window + 1) * FOLD_WINDOW_SECONDS + 1, tz=dt.UTC),
    )


def waiting_in(space: LabelSpace, node_ids: Sequence[int]) -> int:
    """The sum of the waiting rows keyed by the given nodes."""
    if not node_ids:
        return 0
    condition, params = _id_list_sql(node_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(delta), 0) FROM {TABLE}"  # noqa: S608 - constant table
            f" WHERE tree = %s AND node_id {condition}",
            [space.tree, *params],
        )
        return int(cursor.fetchone()[0])


def record_move(
    space: LabelSpace, leg_ids: Sequence[int], *, source_id: int | None, target_id: int
) -> None:
    """The count changes of moving the block `leg_ids` from below `source_id` (None: from
    nowhere) to below `target_id`. The block's waiting rows travel with it, so the uplines
    change by the people the stored counts hold: len(leg_ids) minus those rows."""
    stored_people = len(leg_ids) - waiting_in(space, leg_ids)
    record(space, [(source_id, -stored_people), (target_id, stored_people)])


def waiting_labels(space: LabelSpace) -> tuple[np.ndarray, np.ndarray]:
    """(lft of the node, cumulative delta) of the tree's waiting rows, sorted by lft, with a
    leading 0 in the sums: the waiting people inside (a, b] are sums[hi] - sums[lo]."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.lft, d.delta FROM {TABLE} d"  # noqa: S608 - identifiers are constants
            f" JOIN {space.table} t ON t.{space.id_column} = d.node_id"
            f" WHERE d.tree = %s AND t.lft IS NOT NULL",
            [space.tree],
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    order = np.argsort(rows[:, 0], kind="stable")
    return rows[order, 0], np.r_[0, np.cumsum(rows[order, 1])]


def sum_inside(labels: np.ndarray, sums: np.ndarray, lft, rght) -> np.ndarray:
    """The waiting people inside each interval [lft, rght], from `waiting_labels`."""
    return (
        sums[np.searchsorted(labels, rght, side="right")]
        - sums[np.searchsorted(labels, lft, side="left")]
    )


def waiting_below(space: LabelSpace, lft: Sequence[int], rght: Sequence[int]) -> np.ndarray:
    """For each interval (lft, rght): the waiting people below that node (rows keyed by the
    node itself or anyone under it). One query for all of them."""
    lft = np.asarray(lft, dtype=np.int64)
    rght = np.asarray(rght, dtype=np.int64)
    if len(lft) == 0:
        return np.zeros(0, dtype=np.int64)
    labels, sums = waiting_labels(space)
    return sum_inside(labels, sums, lft, rght)


def people_below(space: LabelSpace, lft: int | None, rght: int | None, stored: int) -> int:
    """One node's exact downline count: its stored count and the waiting rows inside it."""
    if lft is None or rght is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(d.delta), 0) FROM {TABLE} d"  # noqa: S608 - constants
            f" JOIN {space.table} t ON t.{space.id_column} = d.node_id"
            " WHERE d.tree = %s AND t.lft >= %s AND t.lft <= %s",
            [space.tree, lft, rght],
        )
        return int(stored) + int(cursor.fetchone()[0])


@dataclass(frozen=True)
class FoldResult:
    rows: int  # waiting rows folded (and deleted)
    counts_written: int  # stored counts changed (the nodes and their ancestors)


def fold(space: LabelSpace) -> FoldResult:
    """Add every waiting row of the tree to the stored counts of its node and all ancestors
    (one recursive query up the parents, one UPDATE), then delete the rows. The caller holds
    the tree's writer lock, so no label or parent changes underneath."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, node_id, delta FROM {TABLE} WHERE tree = %s",  # noqa: S608
            [space.tree],
        )
        rows = cursor.fetchall()
    if not rows:
        return FoldResult(0, 0)
    totals: dict[int, int] = defaultdict(int)
    for _, node, delta in rows:
        totals[node] += delta
    written = add_descendants(space, totals)
    ids = [row[0] for row in rows]
    condition, params = _id_list_sql(ids)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id {condition}", params)  # noqa: S608
    return FoldResult(len(rows), written)


def discard(space: LabelSpace) -> None:
    """Drop the tree's waiting rows: a full renumber has just written every stored count."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE tree = %s", [space.tree])  # noqa: S608


__all__ = [
    "FoldResult",
    "discard",
    "fold",
    "people_below",
    "record",
    "record_move",
    "schedule_fold",
    "sum_inside",
    "waiting_below",
    "waiting_in",
    "waiting_labels",
]
