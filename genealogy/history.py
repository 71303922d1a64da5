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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import F
from django.utils import timezone

from core.bulk import binary_copy_payload, read_columns, write_rows
from core.periods import Period

from .models import Distributor, Placement, TreeChange, TreeChangeKind, TreeKind
from .policy import locked_months_from

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


# --- Reading: the tree as of a moment -------------------------------------------------------------


@dataclass(frozen=True)
class AsOf:
    """A tree as it stood at a moment, one entry per distributor id (sorted).

    ``parent_ids``: the parent then (-1: the root, or not in the tree then); ``position``: the
    placement leg or matrix position then (-1: none; always -1 in the sponsor tree);
    ``present``: in the tree at the moment; ``arrival_parent_ids``: for people not in it yet,
    the parent they arrived under later (-1 for everyone else).
    """

    tree: str
    moment: dt.datetime
    ids: np.ndarray
    parent_ids: np.ndarray
    position: np.ndarray
    present: np.ndarray
    arrival_parent_ids: np.ndarray


def tree_as_of(
    tree: str,
    moment: dt.datetime,
    *,
    present: tuple[np.ndarray, ...] | None = None,
) -> AsOf:
    """The parent array of ``tree`` (``"sponsor"`` or ``"placement"``) as of ``moment``.

    The present arrays (sponsor links; placement parents and positions) with every change
    effective after ``moment`` undone: one read of the present tree, one read of the first
    later change of each person, numpy for the rest. ``present`` is the tree as it stands when
    the caller has read it already: (sorted ids, sponsor ids) of the sponsor tree, or (sorted
    ids, placement parent ids, positions, is placed) of the placement tree.
    """
    _check_kind(TreeChangeKind.MOVE, tree)
    if present is None:
        ids, parents, position, in_tree = _present(tree)
    elif tree == TreeKind.SPONSOR:
        ids, parents = present
        parents = np.array(parents, dtype=np.int64)
        position = np.full(len(ids), -1, dtype=np.int64)
        in_tree = np.ones(len(ids), dtype=bool)
    else:
        ids = present[0]
        parents, position = (np.array(a, dtype=np.int64) for a in present[1:3])
        in_tree = np.array(present[3], dtype=bool)
    arrival = np.full(len(ids), -1, dtype=np.int64)
    changed, old_parent, old_position, new_parent = first_changes_after(tree, moment)
    if len(changed) and len(ids):
        where = positions_of(ids, changed)
        known = where >= 0
        where = where[known]
        parents[where] = old_parent[known]
        position[where] = old_position[known]
        # No old parent: the change is the person's arrival (a root has none either way).
        was_there = in_tree.copy()
        in_tree[where] = old_parent[known] >= 0
        absent = old_parent[known] < 0
        arrival[where[absent]] = new_parent[known][absent]
        # The house is the company's root from the start, whenever its row was written (a
        # migrated company's people joined before the house row existed).
        house = _house_index(ids)
        if house is not None:
            in_tree[house] = was_there[house]
            arrival[house] = -1
    return AsOf(tree, moment, ids, parents, position, in_tree, arrival)


def _house_index(ids: np.ndarray) -> int | None:
    house_id = Distributor.objects.filter(is_house=True).values_list("id", flat=True).first()
    if house_id is None:
        return None
    index = int(np.searchsorted(ids, house_id))
    return index if index < len(ids) and ids[index] == house_id else None


def _present(tree: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """ids, parent ids, positions and presence of the tree as it stands, sorted by id."""
    if tree == TreeKind.SPONSOR:
        ids, parents = read_columns(
            f"SELECT CAST(id AS bigint), CAST(COALESCE(sponsor_id, -1) AS bigint)"  # noqa: S608
            f" FROM {Distributor._meta.db_table} ORDER BY id",
            {},
            ["int8", "int8"],
        )
        return ids, parents, np.full(len(ids), -1, dtype=np.int64), np.ones(len(ids), bool)
    ids, parents, position, placed = read_columns(
        f"SELECT CAST(d.id AS bigint), CAST(COALESCE(p.parent_id, -1) AS bigint),"  # noqa: S608
        " CAST(COALESCE(p.position, -1) AS bigint),"
        " CAST(CASE WHEN p.placed_at IS NULL THEN 0 ELSE 1 END AS bigint)"
        f" FROM {Distributor._meta.db_table} d"
        f" LEFT JOIN {Placement._meta.db_table} p ON p.distributor_id = d.id ORDER BY d.id",
        {},
        ["int8"] * 4,
    )
    return ids, parents, position, placed.astype(bool)


def first_changes_after(
    tree: str, moment: dt.datetime
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each person with a change in ``tree`` effective after ``moment``: their id, and the
    old parent, old position and new parent (-1 for none) of the first such change; sorted
    by id."""
    table = TreeChange._meta.db_table
    params = {"tree": tree, "moment": moment}
    if connection.vendor == "postgresql":
        ids, old_parent, old_position, new_parent = read_columns(
            f"""
            SELECT DISTINCT ON (distributor_id) CAST(distributor_id AS bigint),
                   CAST(COALESCE(old_parent_id, -1) AS bigint),
                   CAST(COALESCE(old_position, -1) AS bigint),
                   CAST(COALESCE(new_parent_id, -1) AS bigint)
              FROM {table}
             WHERE tree = %(tree)s AND effective_at > %(moment)s
             ORDER BY distributor_id, effective_at, id
            """,  # noqa: S608 - table name from model meta, values are parameters
            params,
            ["int8"] * 4,
        )
        return ids, old_parent, old_position, new_parent
    # Portable: every later change in order, the first of each person kept by numpy.
    rows = list(
        TreeChange.objects.filter(tree=tree, effective_at__gt=moment)
        .order_by("distributor_id", "effective_at", "id")
        .values_list("distributor_id", "old_parent_id", "old_position", "new_parent_id")
    )
    array = np.array(
        [[-1 if v is None else v for v in row] for row in rows], dtype=np.int64
    ).reshape(-1, 4)
    _, first = np.unique(array[:, 0], return_index=True)
    array = array[first]
    return tuple(array[:, column].copy() for column in range(4))


def sponsors_at(
    buyer_ids: np.ndarray,
    moments_us: np.ndarray,
    *,
    present: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Each buyer's sponsor at the matching moment (epoch microseconds): -1 for none.

    Only the few people with a sponsor-tree change after the earliest moment are looked up in
    their history (numpy ``searchsorted``); everyone else has their present sponsor.
    ``present`` is (sorted ids, sponsor ids) when the caller has read them already. A buyer who
    was not in the tree yet at the moment gets the sponsor they enrolled under.
    """
    buyer_ids = np.asarray(buyer_ids, dtype=np.int64)
    moments_us = np.asarray(moments_us, dtype=np.int64)
    if present is None:
        ids, parents, _, _ = _present(TreeKind.SPONSOR)
    else:
        ids, parents = present
    if len(buyer_ids) == 0:
        return np.empty(0, dtype=np.int64)
    where = positions_of(ids, buyer_ids)
    if np.any(where < 0):
        raise HistoryError("sponsors_at: a buyer who is not a distributor")
    result = parents[where]
    people, times, old_parent, new_parent = _changes_since(int(moments_us.min()))
    if len(people) == 0:
        return result
    # One key per change: (person's group, rank of its moment among the changes' moments);
    # a line's key: (buyer's group, rank of the first change moment after the line's moment).
    groups, group_of_change = np.unique(people, return_inverse=True)
    group_of_index = np.full(len(ids), -1, dtype=np.int64)
    group_of_index[positions_of(ids, groups)] = np.arange(len(groups))
    line_group = group_of_index[where]
    lines = np.flatnonzero(line_group >= 0)
    line_group = line_group[lines]
    distinct_times = np.unique(times)
    span = len(distinct_times) + 1
    change_keys = group_of_change * span + np.searchsorted(distinct_times, times)
    order = np.argsort(change_keys, kind="stable")
    change_keys = change_keys[order]
    old_parent, new_parent = old_parent[order], new_parent[order]
    line_keys = line_group * span + np.searchsorted(distinct_times, moments_us[lines], side="right")
    first = np.searchsorted(change_keys, line_keys, side="left")
    found = first < len(change_keys)
    found[found] = change_keys[first[found]] // span == line_group[found]
    lines, first = lines[found], first[found]
    # Not in the tree yet at the moment (old parent none): the sponsor they enrolled under.
    result[lines] = np.where(old_parent[first] >= 0, old_parent[first], new_parent[first])
    return result


def positions_of(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of each of ``values`` in the sorted ``ids`` (-1 where absent). Ids are nearly
    dense, so a lookup table over their range answers millions of values in a few ms (a
    binary search per value would cost a cache miss at each step)."""
    values = np.asarray(values, dtype=np.int64)
    if len(ids) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    low, high = int(ids[0]), int(ids[-1])
    if high - low < 4 * len(ids) + 1024:
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[ids - low] = np.arange(len(ids))
        inside = (values >= low) & (values <= high)
        found = np.full(len(values), -1, dtype=np.int64)
        found[inside] = table[values[inside] - low]
        return found
    where = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return np.where(ids[where] == values, where, -1)


def _changes_since(since_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sponsor-tree changes effective after ``since_us``: person, moment (epoch µs), old and new
    parent (-1 none)."""
    since = from_epoch_us(since_us)
    table = TreeChange._meta.db_table
    if connection.vendor == "postgresql":
        return tuple(
            read_columns(
                f"""
                SELECT CAST(distributor_id AS bigint),
                       CAST((EXTRACT(EPOCH FROM effective_at) * 1000000) AS bigint),
                       CAST(COALESCE(old_parent_id, -1) AS bigint),
                       CAST(COALESCE(new_parent_id, -1) AS bigint)
                  FROM {table}
                 WHERE tree = %(tree)s AND effective_at > %(since)s
                 ORDER BY distributor_id, effective_at, id
                """,  # noqa: S608 - table name from model meta, values are parameters
                {"tree": TreeKind.SPONSOR, "since": since},
                ["int8"] * 4,
            )
        )
    rows = list(
        TreeChange.objects.filter(tree=TreeKind.SPONSOR, effective_at__gt=since)
        .order_by("distributor_id", "effective_at", "id")
        .values_list("distributor_id", "effective_at", "old_parent_id", "new_parent_id")
    )
    return (
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([to_epoch_us(r[1]) for r in rows], dtype=np.int64),
        np.array([-1 if r[2] is None else r[2] for r in rows], dtype=np.int64),
        np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64),
    )


# --- Backdating -----------------------------------------------------------------------------------


def validate_effective_moment(
    distributor_ids: Sequence[int],
    moment: dt.datetime,
    *,
    tree: str = TreeKind.SPONSOR,
    parent_ids: Sequence[int] = (),
    now: dt.datetime | None = None,
) -> list[Period]:
    """Refuse a moment a change of these people in ``tree`` cannot take effect at; return the
    open periods it changes (from the moment's month to now's, oldest first).

    A change may take effect now or be backdated into an open period: not into a closed month
    (its figures are frozen), not in the future, not before a person's latest recorded change
    in that tree (each person's history stays in order), and not before a new parent
    (``parent_ids``) was in the tree.
    """
    now = now or timezone.now()
    if timezone.is_naive(moment):
        raise HistoryError("Give the effective moment with its time zone.")
    if moment > now:
        raise HistoryError(
            "A change cannot take effect in the future: choose now or a past moment."
        )
    first = Period.containing(moment)
    current = Period.containing(now)
    closed = locked_months_from(first.first_day)
    periods = []
    period = first
    while period <= current:
        if period.first_day in closed:
            raise HistoryError(
                f"{period.label} is closed: a change can only be backdated into an open period."
            )
        periods.append(period)
        period = period.next()
    history = TreeChange.objects.filter(tree=tree)
    latest = (
        history.filter(distributor_id__in=list(distributor_ids), effective_at__gt=moment)
        .order_by("-effective_at")
        .values_list("effective_at", "distributor__number")
        .first()
    )
    if latest is not None:
        raise HistoryError(
            f"#{latest[1]} has a change recorded effective {_local(latest[0])}: a backdated "
            "change cannot take effect before it."
        )
    arrival = (
        history.filter(distributor_id__in=list(parent_ids), effective_at__gt=moment)
        .filter(old_parent__isnull=True, distributor__is_house=False)
        .order_by("-effective_at")
        .values_list("effective_at", "distributor__number")
        .first()
    )
    if arrival is not None:
        raise HistoryError(
            f"#{arrival[1]} joined the tree only at {_local(arrival[0])}: a change cannot "
            "put anyone under them before that."
        )
    # The new parent's line up must have stood still since the moment: otherwise the tree of
    # some moment in between could hold a loop (the person above their new parent).
    uplines = [u for parent_id in parent_ids for u in _upline_ids(tree, parent_id)]
    moved = (
        history.filter(distributor_id__in=uplines, effective_at__gt=moment)
        .filter(old_parent__isnull=False)
        .exclude(old_parent=F("new_parent"))
        .order_by("-effective_at")
        .values_list("effective_at", "distributor__number")
        .first()
    )
    if moved is not None:
        raise HistoryError(
            f"#{moved[1]}, in the new upline, moved effective {_local(moved[0])}: a backdated "
            "change under them cannot take effect before that."
        )
    return periods


def _upline_ids(tree: str, person_id: int) -> list[int]:
    """``person_id`` and everyone above them in ``tree`` as it stands (one recursive query)."""
    if tree == TreeKind.SPONSOR:
        table, key, parent = Distributor._meta.db_table, "id", "sponsor_id"
    else:
        table, key, parent = Placement._meta.db_table, "distributor_id", "parent_id"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(id, parent_id) AS (
                SELECT {key}, {parent} FROM {table} WHERE {key} = %s
                UNION
                SELECT t.{key}, t.{parent} FROM {table} t JOIN up ON t.{key} = up.parent_id
            )
            SELECT id FROM up
            """,  # noqa: S608 - names from model meta, values are parameters
            [person_id],
        )
        return [row[0] for row in cursor.fetchall()]


def _local(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
