"""The tree over time: the one writer of ``TreeChange`` and the tree as it stood at any moment.

Every change of a sponsor or of a placement is recorded here with the moment it takes effect
(``effective_at``), append-only: sign-up (ENROLLMENT), import (IMPORT), placement (PLACEMENT),
admin move (MOVE), termination roll-up (TERMINATE_ROLLUP), compression, and the termination
itself (TERMINATION, no parent change). ``record_change`` writes one row (a sign-up: one small
insert); ``record_changes`` writes many (imports, the demo seed, the benchmark's builders) with
a binary COPY on PostgreSQL.

The tree as of a moment is the present tree with the later changes undone: for each person the
first change effective after the moment holds their parent at the moment (``old_parent``; none
means they were not in that tree yet). ``tree_as_of`` does that with one query (``DISTINCT ON``
on PostgreSQL) and numpy; ``sponsors_at`` gives each order line's buyer's sponsor at the moment
it was paid. People with no recorded change at all (rows written before the history began and
never backfilled) count as always present under their present parent.

A backdated change (``validate_effective_moment``) may only take effect inside an open period,
not in the future, and not before the person's latest recorded change, so the history of each
person stays ordered by ``effective_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from django.db import connection
from django.utils import timezone

from core.bulk import binary_copy_payload, write_rows

from .models import TreeChange, TreeChangeKind, TreeKind

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


class HistoryError(ValueError):
    """A change the history refuses (a moment that cannot be used), with a readable reason."""


def to_epoch_us(moment: dt.datetime) -> int:
    """An aware moment as whole microseconds since 1970-01-01 UTC (the arrays' time unit)."""
    if timezone.is_naive(moment):
        raise HistoryError("a moment must be an aware datetime")
    return (moment - EPOCH) // _US


def from_epoch_us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=int(value))


# --- Writing ------------------------------------------------------------------------------------


def record_change(
    *,
    kind: str,
    distributor_id: int,
    new_parent_id: int | None,
    old_parent_id: int | None = None,
    reason: str,
    tree: str = TreeKind.SPONSOR,
    effective_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
    by_id: int | None = None,
    old_position: int | None = None,
    new_position: int | None = None,
) -> TreeChange:
    """Record one change of ``distributor``'s parent in ``tree`` (one INSERT).

    ``effective_at`` defaults to ``at``, which defaults to now.
    """
    _check_kind(kind, tree)
    if not (reason or "").strip():
        raise HistoryError("every change to the genealogy is recorded with a reason")
    at = at or timezone.now()
    return TreeChange.objects.create(
        at=at,
        effective_at=effective_at or at,
        by_id=by_id,
        tree=tree,
        kind=kind,
        distributor_id=distributor_id,
        old_parent_id=old_parent_id,
        new_parent_id=new_parent_id,
        old_position=old_position,
        new_position=new_position,
        reason=reason.strip(),
    )


# Columns of ``record_changes``: each a scalar (the same for every row) or a sequence.
_PER_ROW = ("distributor_id", "old_parent_id", "new_parent_id", "old_position", "new_position")
_COLUMNS = (*_PER_ROW, "effective_at", "at", "by_id", "tree", "kind", "reason")


def record_changes(rows: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> int:
    """Record many changes at once; returns how many.

    ``rows`` is either a mapping of columns (``distributor_id`` a sequence or numpy array; any
    other column of ``record_change`` a sequence of the same length or one value for every row;
    parents and positions may be numpy arrays with -1 for none) or an iterable of
    ``record_change`` keyword mappings. On PostgreSQL the rows go in with one binary COPY when
    ``tree``, ``kind``, ``reason``, ``by_id`` and ``at`` are one value each (a seed, an import),
    else with a text COPY.
    """
    columns = _as_columns(rows)
    ids = np.asarray(columns["distributor_id"], dtype=np.int64)
    n = len(ids)
    if n == 0:
        return 0
    now = timezone.now()
    at = columns.get("at") or now
    per_row = {"distributor_id": ids}
    for name in ("old_parent_id", "new_parent_id", "old_position", "new_position"):
        per_row[name] = _int_column(columns.get(name), n, name)
    effective = columns.get("effective_at")
    effective_us = _moment_column(at if effective is None else effective, n)
    scalars = {name: columns.get(name) for name in ("tree", "kind", "reason", "by_id")}
    scalars["tree"] = scalars["tree"] or TreeKind.SPONSOR
    if scalars["kind"] is None:
        raise HistoryError("record_changes: name the kind of change")
    if scalars["reason"] is None:
        raise HistoryError("record_changes: every change is recorded with a reason")
    varying = [
        name
        for name, value in (*scalars.items(), ("at", at))
        if not isinstance(value, (str, int, dt.datetime, type(None)))
    ]
    if not varying:
        _check_kind(scalars["kind"], scalars["tree"])
        if not str(scalars["reason"]).strip():
            raise HistoryError("every change to the genealogy is recorded with a reason")
    if connection.vendor == "postgresql" and not varying:
        _copy_changes(per_row, effective_us, at=at, **scalars)
        return n
    data: dict[str, Any] = {
        name: [None if v < 0 else v for v in values.tolist()] for name, values in per_row.items()
    }
    data["distributor_id"] = ids
    data["effective_at"] = [from_epoch_us(v) for v in effective_us.tolist()]
    for name, value in (*scalars.items(), ("at", at)):
        data[name] = list(value) if name in varying else [value] * n
    for kind, tree in set(zip(data["kind"], data["tree"], strict=True)):
        _check_kind(kind, tree)
    if any(not str(r or "").strip() for r in set(data["reason"])):
        raise HistoryError("every change to the genealogy is recorded with a reason")
    write_rows(TreeChange, list(data), data)
    return n


def _as_columns(rows) -> dict[str, Any]:
    if isinstance(rows, Mapping):
        unknown = set(rows) - set(_COLUMNS)
        if unknown:
            raise HistoryError(f"record_changes: unknown column(s) {', '.join(sorted(unknown))}")
        return dict(rows)
    listed = list(rows)
    if not listed:
        return {"distributor_id": []}
    names = set().union(*(row.keys() for row in listed))
    unknown = names - set(_COLUMNS)
    if unknown:
        raise HistoryError(f"record_changes: unknown column(s) {', '.join(sorted(unknown))}")
    return {name: [row.get(name) for row in listed] for name in names}


def _int_column(value, n: int, name: str) -> np.ndarray:
    if value is None:
        return np.full(n, -1, dtype=np.int64)
    if isinstance(value, (int, np.integer)):
        return np.full(n, int(value), dtype=np.int64)
    if isinstance(value, np.ndarray):
        array = value.astype(np.int64)
    else:
        array = np.array([-1 if v is None else v for v in value], dtype=np.int64)
    if len(array) != n:
        raise HistoryError(f"record_changes: {name} has {len(array)} values for {n} rows")
    return array


def _moment_column(value, n: int) -> np.ndarray:
    """Epoch microseconds per row from one moment, a sequence of moments, an int64 array of
    epoch microseconds or a numpy datetime64 array."""
    if isinstance(value, dt.datetime):
        return np.full(n, to_epoch_us(value), dtype=np.int64)
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.datetime64):
            array = value.astype("datetime64[us]").astype(np.int64)
        else:
            array = value.astype(np.int64)
    else:
        array = np.array([to_epoch_us(v) for v in value], dtype=np.int64)
    if len(array) != n:
        raise HistoryError(f"record_changes: effective_at has {len(array)} values for {n} rows")
    return array


def _check_kind(kind: str, tree: str) -> None:
    if kind not in TreeChangeKind.values:
        raise HistoryError(f"unknown kind of tree change {kind!r}")
    if tree not in TreeKind.values:
        raise HistoryError(f"unknown tree {tree!r}")


def _copy_changes(
    per_row: dict[str, np.ndarray],
    effective_us: np.ndarray,
    *,
    at: dt.datetime,
    tree: str,
    kind: str,
    reason: str,
    by_id: int | None,
) -> None:
    """Binary COPY of the integer columns into a temporary table, then one INSERT ... SELECT
    with the shared values (a million rows in a second or two, no text formatting per row)."""
    names = [*_PER_ROW, "effective_us"]
    arrays = [*(per_row[name] for name in _PER_ROW), effective_us]
    nulls = [
        None if name in ("distributor_id", "effective_us") else a < 0
        for name, a in zip(names, arrays, strict=True)
    ]
    arrays = [np.where(a < 0, 0, a) for a in arrays]
    table = TreeChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS tree_change_load")
        cursor.execute(
            "CREATE TEMP TABLE tree_change_load (distributor_id bigint, old_parent_id bigint,"
            " new_parent_id bigint, old_position bigint, new_position bigint,"
            " effective_us bigint) ON COMMIT DROP"
        )
        with cursor.copy("COPY tree_change_load FROM STDIN (FORMAT binary)") as copy:
            step = 1_000_000
            for start in range(0, len(arrays[0]), step):
                copy_payload = binary_copy_payload(
                    [np.ascontiguousarray(a[start : start + step]) for a in arrays],
                    [None if m is None else m[start : start + step] for m in nulls],
                )
                if start > 0:
                    copy_payload = copy_payload[19:]
                if start + step < len(arrays[0]):
                    copy_payload = copy_payload[:-2]
                copy.write(copy_payload)
        cursor.execute(
            f"""
            INSERT INTO {table} (at, effective_at, by_id, tree, kind, distributor_id,
                                 old_parent_id, new_parent_id, old_position, new_position, reason)
            SELECT %s, TIMESTAMPTZ 'epoch' + effective_us * INTERVAL '1 microsecond', %s, %s, %s,
                   distributor_id, old_parent_id, new_parent_id, old_position, new_position, %s
              FROM tree_change_load
            """,  # noqa: S608 - table name from model meta, values are parameters
            [at, by_id, tree, kind, reason.strip()],
        )
        cursor.execute("DROP TABLE tree_change_load")
