"""Gapped nested-set labels: inserting into a tree costs the same at a thousand or a million.

The 2n labels of a tree (every node's `lft` and `rght`) form one ordered sequence, drawn from
the universe [1, 2^62) with room between neighbours. Inserting a leaf is inserting two adjacent
labels at one point of that sequence (a new last child of P goes right after the largest label
below P.rght); inserting a moved leg of m people, or k new people at one point, is inserting 2m
(or 2k) labels there. This is the order-maintenance (list-labelling) problem, and this module
uses the classic algorithm (Itai, Konheim and Rodeh; Bender, Cole, Demaine, Farach-Colton and
Zito, "Two simplified algorithms for maintaining order in a list", 2002):

* When the gap between the point x and the next label y holds the new labels, they are spread
  evenly inside it and nothing else is written.
* Otherwise the smallest aligned window [k·2^i, (k+1)·2^i) around x whose label count (with the
  new ones) is at most (2/T)^i — density at most T^-i — is relabelled evenly: one read of the
  labels in the window, new values computed in Python/numpy, one UPDATE of the rows with a
  label in it. With T = 1.4 the whole universe (i = 62) holds (2/1.4)^62 ≈ 4·10^9 labels, far
  above the 16M of an 8M-person tree (the bound U ≥ n^(1/log2 T) = n^2.06 holds for n ≤ 10^9).
  Each insert relabels O(log n) labels amortized, whatever the tree's size: a batch of 1,000
  placements writes its own rows and a few small windows, never the whole right side.

A relabel may move any label in its window, `point` itself included: callers hold the tree's
lock and re-read what they hold after `allocate`. Labels already handed out by the same
`allocate` call but not yet written are relabelled with the window too (they are tracked in
memory), so the returned labels are always consistent with the table.

The module is generic over a table (`LabelSpace`): the sponsor tree (`genealogy_distributor`,
rows of tree 1) and the placement tree (`genealogy_placement`, rows with labels) share it.
Counts and neighbour lookups use indexes on lft and on rght within the tree. Works on
PostgreSQL (arrays, unnest) and SQLite (the demo: small trees, plain parameters).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from django.db import connection

from .numbering import Numbering, TreeShapeError, depths, depths_or_loops, number_tree

UNIVERSE = 1 << 62  # labels live in [1, UNIVERSE)
LOG_UNIVERSE = 62
T = 1.4  # density threshold base: a window of 2^i labels may hold at most (2/T)^i
# Gaps below this are "too small" for a new label even when one integer would fit: it saves
# relabelling the same spot again at once. Spread inserts leave at least this much between.
MIN_STEP = 1


@dataclass(frozen=True)
class LabelSpace:
    table: str  # "genealogy_distributor" | "genealogy_placement"
    scope_sql: str  # the rows of the tree: "tree_id = 1" | "lft IS NOT NULL"
    id_column: str  # "id" | "distributor_id"
    parent_column: str  # "parent_id"
    tree: str  # the TreeKind value keying its waiting count rows (`genealogy.downline_counts`)
    descendants_column: str = "descendants"
    level_column: str = "level"


SPONSOR_TREE = LabelSpace(
    table="genealogy_distributor",
    scope_sql="tree_id = 1",
    id_column="id",
    parent_column="parent_id",
    tree="sponsor",
)
PLACEMENT_TREE = LabelSpace(
    table="genealogy_placement",
    scope_sql="lft IS NOT NULL",
    id_column="distributor_id",
    parent_column="parent_id",
    tree="placement",
)


@dataclass
class AllocationStats:
    """What the last `allocate` call did (for tests and the benchmark)."""

    windows: int = 0
    relabelled: int = 0  # labels given a new value in relabelled windows


last_allocation = AllocationStats()


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def prefer_indexes() -> Iterator[None]:
    """Within a transaction on PostgreSQL, plan the next queries without sequential scans.

    The label queries touch a handful of rows each through the lft/rght indexes, but with
    parameters from an array (`unnest`) or statistics a batch has just made stale, the planner
    may pick a scan of the whole tree per point. Restored afterwards.
    """
    if not _is_postgresql() or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_seqscan')")
        before = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [before])


def _scalar(sql: str, params: Sequence) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def next_label_after(space: LabelSpace, label: int) -> int | None:
    """The smallest lft or rght of the tree greater than `label`."""
    candidates = [
        _scalar(
            f"SELECT MIN({column}) FROM {space.table} WHERE {space.scope_sql} AND {column} > %s",  # noqa: S608
            [label],
        )
        for column in ("lft", "rght")
    ]
    found = [c for c in candidates if c is not None]
    return min(found) if found else None


def previous_label_before(space: LabelSpace, label: int) -> int | None:
    """The largest lft or rght of the tree smaller than `label`."""
    candidates = [
        _scalar(
            f"SELECT MAX({column}) FROM {space.table} WHERE {space.scope_sql} AND {column} < %s",  # noqa: S608
            [label],
        )
        for column in ("lft", "rght")
    ]
    found = [c for c in candidates if c is not None]
    return max(found) if found else None


def _count_in(space: LabelSpace, low: int, high: int) -> int:
    """Labels in [low, high)."""
    return sum(
        _scalar(
            f"SELECT COUNT(*) FROM {space.table} WHERE {space.scope_sql}"  # noqa: S608
            f" AND {column} >= %s AND {column} < %s",
            [low, high],
        )
        or 0
        for column in ("lft", "rght")
    )


def _labels_in(space: LabelSpace, low: int, high: int) -> list[int]:
    """The labels in [low, high), sorted."""
    values: list[int] = []
    with connection.cursor() as cursor:
        for column in ("lft", "rght"):
            cursor.execute(
                f"SELECT {column} FROM {space.table} WHERE {space.scope_sql}"  # noqa: S608
                f" AND {column} >= %s AND {column} < %s",
                [low, high],
            )
            values.extend(row[0] for row in cursor.fetchall())
    values.sort()
    return values


def _capacity(level: int) -> float:
    return (2.0 / T) ** level


def _rewrite(space: LabelSpace, old: list[int], new: list[int], low: int, high: int) -> None:
    """Give each label old[j] (in [low, high)) the value new[j]: one UPDATE per column."""
    if not old:
        return
    with connection.cursor() as cursor:
        if _is_postgresql():
            for column in ("lft", "rght"):
                cursor.execute(
                    f"""
                    UPDATE {space.table} AS t SET {column} = m.new
                      FROM unnest(%s::bigint[], %s::bigint[]) AS m(old, new)
                     WHERE {space.scope_sql}
                       AND t.{column} >= %s AND t.{column} < %s AND t.{column} = m.old
                    """,  # noqa: S608 - identifiers from LabelSpace constants
                    [old, new, low, high],
                )
            return
        # SQLite: a temporary mapping table, then one UPDATE per column with a subquery.
        cursor.execute("DROP TABLE IF EXISTS temp_label_map")
        cursor.execute("CREATE TEMP TABLE temp_label_map (old INTEGER PRIMARY KEY, new INTEGER)")
        cursor.executemany(
            "INSERT INTO temp_label_map (old, new) VALUES (%s, %s)",
            list(zip(old, new, strict=True)),
        )
        for column in ("lft", "rght"):
            cursor.execute(
                f"UPDATE {space.table} SET {column} ="  # noqa: S608
                f" (SELECT new FROM temp_label_map WHERE old = {space.table}.{column})"
                f" WHERE {space.scope_sql} AND {column} >= %s AND {column} < %s"
                f" AND {column} IN (SELECT old FROM temp_label_map)",
                [low, high],
            )
        cursor.execute("DROP TABLE temp_label_map")


def allocate(space: LabelSpace, requests: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each (point, count): `count` fresh increasing labels strictly between the existing
    label `point` and the label after it, relabelling windows first where gaps are too small.

    A relabel may change `point` itself: the returned labels are valid after the call (callers
    re-read anything they hold). Caller holds the tree's lock. Points may repeat: the labels for
    one point are consecutive, in request order. `point` 0 means "before every label" (an
    empty tree's first labels, or a new first root).
    """
    stats = AllocationStats()
    totals: dict[int, int] = {}
    for point, count in requests:
        if count < 0:
            raise ValueError("a label count cannot be negative")
        totals[point] = totals.get(point, 0) + count
    # Points are processed in order; each one's labels are kept, as handed out so far, in
    # `handed` (sorted values) with `owner` telling whose they are, so a later window that
    # covers them relabels them too.
    handed: list[int] = []  # sorted labels handed out but not yet in the table
    handed_owner: dict[int, tuple[int, int]] = {}  # label -> (point key, index in its list)
    point_now: dict[int, int] = {p: p for p in totals}  # the original point -> its value now
    results: dict[int, list[int]] = {}
    # The label after each point, read for all points at once; kept right through relabels.
    next_now = dict(zip(totals, next_labels_after(space, list(totals)), strict=True))
    for key in sorted(totals):
        count = totals[key]
        x = point_now[key]
        if count == 0:
            results[key] = []
            continue
        y = next_now[key]
        upper = UNIVERSE if y is None else y
        if (upper - x) // (count + 1) >= MIN_STEP:
            step = (upper - x) // (count + 1)
            labels = [x + step * (j + 1) for j in range(count)]
        else:
            labels, moved = _relabel_window(space, x, count, handed, stats)
            # The window moved stored labels (maybe later points) and handed-out ones.
            for original, value in point_now.items():
                if value in moved:
                    point_now[original] = moved[value]
            for original, value in next_now.items():
                if value in moved:
                    next_now[original] = moved[value]
            if moved:
                new_handed = []
                new_owner: dict[int, tuple[int, int]] = {}
                for value in handed:
                    owner = handed_owner[value]
                    value = moved.get(-value - 1, value)  # handed labels are keyed negatively
                    results[owner[0]][owner[1]] = value
                    new_handed.append(value)
                    new_owner[value] = owner
                handed, handed_owner = sorted(new_handed), new_owner
        results[key] = labels
        for index, value in enumerate(labels):
            bisect.insort(handed, value)
            handed_owner[value] = (key, index)
    global last_allocation  # noqa: PLW0603 - a figure for tests and the benchmark
    last_allocation = stats
    # Hand the labels out per request, consecutive per point in request order.
    offsets: dict[int, int] = {}
    out = []
    for point, count in requests:
        start = offsets.get(point, 0)
        out.append(results[point][start : start + count])
        offsets[point] = start + count
    return out


def next_labels_after(space: LabelSpace, points: Sequence[int]) -> list[int | None]:
    """`next_label_after` for many points (one query on PostgreSQL: two index probes each)."""
    if not points:
        return []
    if not _is_postgresql():
        return [next_label_after(space, p) for p in points]
    table, scope = space.table, space.scope_sql
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT LEAST(
                (SELECT lft FROM {table} WHERE {scope} AND lft > p.x ORDER BY lft LIMIT 1),
                (SELECT rght FROM {table} WHERE {scope} AND rght > p.x ORDER BY rght LIMIT 1))
              FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(x, i) ORDER BY p.i
            """,  # noqa: S608 - identifiers from LabelSpace constants
            [list(points)],
        )
        return [row[0] for row in cursor.fetchall()]


class _Neighbourhood:
    """The stored labels nearest to x, read a few at a time (index scans from x outwards), so
    that the window search counts small windows in memory; big windows are counted in SQL."""

    FIRST, LIMIT = 64, 1 << 16

    def __init__(self, space: LabelSpace, x: int) -> None:
        self.space, self.x, self.k = space, x, 0
        self.values: list[int] = []
        self.known_low, self.known_high = x, x + 1
        self._load(self.FIRST)

    def _load(self, k: int) -> None:
        space, below, above = self.space, [], []
        with connection.cursor() as cursor:
            for column in ("lft", "rght"):
                for side, compare, order in ((below, "<=", "DESC"), (above, ">", "ASC")):
                    cursor.execute(
                        f"SELECT {column} FROM {space.table} WHERE {space.scope_sql}"  # noqa: S608
                        f" AND {column} {compare} %s ORDER BY {column} {order} LIMIT %s",
                        [self.x, k],
                    )
                    side.extend(row[0] for row in cursor.fetchall())
        below = sorted(below)[-k:]
        above = sorted(above)[:k]
        self.k = k
        self.values = below + above
        self.known_low = 1 if len(below) < k else below[0]
        self.known_high = UNIVERSE if len(above) < k else above[-1] + 1

    def _covers(self, low: int, high: int) -> bool:
        while not (self.known_low <= low and high <= self.known_high):
            if self.k >= self.LIMIT:
                return False
            self._load(self.k * 4)
        return True

    def count(self, low: int, high: int) -> int:
        if self._covers(low, high):
            return bisect.bisect_left(self.values, high) - bisect.bisect_left(self.values, low)
        return _count_in(self.space, low, high)

    def labels(self, low: int, high: int) -> list[int]:
        if self._covers(low, high):
            return self.values[
                bisect.bisect_left(self.values, low) : bisect.bisect_left(self.values, high)
            ]
        return _labels_in(self.space, low, high)


def _relabel_window(
    space: LabelSpace, x: int, count: int, handed: list[int], stats: AllocationStats
) -> tuple[list[int], dict[int, int]]:
    """Find the smallest aligned window around x with room for `count` more labels, spread
    its labels (stored and handed out) evenly with the new ones right after x, write it.

    Returns the new labels and a map old -> new for stored labels, and (-old - 1) -> new for
    handed-out ones.
    """
    around = _Neighbourhood(space, x)
    for level in range(max(1, (count + 2).bit_length()), LOG_UNIVERSE + 1):
        size = 1 << level
        low = (x >> level) << level
        high = low + size
        low_eff = max(low, 1)
        high_eff = min(high, UNIVERSE)
        handed_low = bisect.bisect_left(handed, low_eff)
        handed_high = bisect.bisect_left(handed, high_eff)
        stored = around.count(low_eff, high_eff)
        total = stored + (handed_high - handed_low) + count
        if total > _capacity(level) and level < LOG_UNIVERSE:
            continue
        if total > high_eff - low_eff:
            raise OverflowError("the label universe is full")
        stored_labels = around.labels(low_eff, high_eff)
        # The sequence in the window: stored and handed labels merged, new ones right after x.
        items = [(value, 0) for value in stored_labels] + [
            (value, 1) for value in handed[handed_low:handed_high]
        ]
        items.sort()
        split = bisect.bisect_right([value for value, _ in items], x)
        sequence = items[:split] + [(None, 2)] * count + items[split:]
        span = high_eff - low_eff
        step = span // len(sequence)
        offset = step // 2
        new_values = [low_eff + offset + j * step for j in range(len(sequence))]
        moved: dict[int, int] = {}
        new_labels: list[int] = []
        old_stored, new_stored = [], []
        for (value, kind), new in zip(sequence, new_values, strict=True):
            if kind == 0:
                if value != new:
                    old_stored.append(value)
                    new_stored.append(new)
                moved[value] = new
            elif kind == 1:
                moved[-value - 1] = new
            else:
                new_labels.append(new)
        _rewrite(space, old_stored, new_stored, low_eff, high_eff)
        stats.windows += 1
        stats.relabelled += len(old_stored)
        return new_labels, moved
    raise OverflowError("the label universe is full")


def _id_list_sql(ids: Sequence[int]) -> tuple[str, list]:
    """`= ANY(%s)` with one array on PostgreSQL, `IN (%s, ...)` elsewhere."""
    if _is_postgresql():
        return "= ANY(%s::bigint[])", [list(ids)]
    return f"IN ({', '.join(['%s'] * len(ids))})", list(ids)


def ancestors_with_labels(space: LabelSpace, ids: Sequence[int]) -> np.ndarray:
    """(id, lft, rght) of the given nodes and every ancestor of them, each once: one recursive
    query up the parent links (indexed by the primary key), as an int64 array of 3 columns."""
    if not ids:
        return np.zeros((0, 3), dtype=np.int64)
    condition, params = _id_list_sql(ids)
    sql = f"""
        WITH RECURSIVE up(node, parent) AS (
            SELECT {space.id_column}, {space.parent_column} FROM {space.table}
             WHERE {space.id_column} {condition}
            UNION
            SELECT t.{space.id_column}, t.{space.parent_column} FROM {space.table} t
              JOIN up ON t.{space.id_column} = up.parent
        )
        SELECT t.{space.id_column}, t.lft, t.rght FROM up
          JOIN {space.table} t ON t.{space.id_column} = up.node
    """  # noqa: S608 - identifiers from LabelSpace constants
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def add_descendants(space: LabelSpace, deltas: Mapping[int, int]) -> int:
    """descendants += delta on each given node and every ancestor of it.

    The ancestors come from one recursive query up the parent links (a shared ancestor once);
    each one's total is the sum of the deltas of given nodes inside its interval (numpy, sorted
    labels), and one UPDATE writes them. The given nodes' labels must be in the table.
    Returns the rows written.
    """
    deltas = {int(k): int(v) for k, v in deltas.items() if v}
    if not deltas:
        return 0
    rows = ancestors_with_labels(space, list(deltas))
    if len(rows) == 0:
        return 0
    given = rows[np.isin(rows[:, 0], np.fromiter(deltas, dtype=np.int64))]
    order = np.argsort(given[:, 1])
    given_lft = given[order, 1]
    given_delta = np.array([deltas[int(i)] for i in given[order, 0]], dtype=np.int64)
    cumulative = np.r_[0, np.cumsum(given_delta)]
    # Given nodes with lft in [a.lft, a.rght] are a itself and its given descendants.
    start = np.searchsorted(given_lft, rows[:, 1], side="left")
    stop = np.searchsorted(given_lft, rows[:, 2], side="right")
    totals = cumulative[stop] - cumulative[start]
    keep = totals != 0
    _add_to_column(space, rows[keep, 0].tolist(), totals[keep].tolist())
    return int(keep.sum())


def _add_to_column(space: LabelSpace, ids: list[int], amounts: list[int]) -> None:
    if not ids:
        return
    column = space.descendants_column
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(
                f"""
                UPDATE {space.table} AS t SET {column} = t.{column} + m.amount
                  FROM unnest(%s::bigint[], %s::bigint[]) AS m(node, amount)
                 WHERE t.{space.id_column} = m.node
                """,  # noqa: S608 - identifiers from LabelSpace constants
                [ids, amounts],
            )
            return
        cursor.executemany(
            f"UPDATE {space.table} SET {column} = {column} + %s"  # noqa: S608
            f" WHERE {space.id_column} = %s",
            list(zip(amounts, ids, strict=True)),
        )


def spread(
    ids: np.ndarray, parent_ids: np.ndarray, *, order_key: np.ndarray | None = None
) -> Numbering:
    """A fresh gapped numbering of a whole tree: `number_tree`'s order (children by
    `order_key`, then id), with the 2n labels spread evenly over the universe."""
    numbering = number_tree(ids, parent_ids, order_key=order_key)
    n = len(numbering.ids)
    if n == 0:
        return numbering
    step = (UNIVERSE - 1) // (2 * n + 1)
    return Numbering(
        numbering.ids,
        numbering.lft * step,
        numbering.rght * step,
        numbering.level,
        numbering.parent_ids,
        numbering.descendants,
    )


def spaced_labels(count: int, *, low: int = 0, high: int = UNIVERSE) -> np.ndarray:
    """`count` labels spread evenly strictly inside (low, high)."""
    step = (high - low) // (count + 1)
    if step < 1:
        raise OverflowError("no room for that many labels")
    return low + step * np.arange(1, count + 1, dtype=np.int64)


def subtree_sizes(parent_index: np.ndarray, level: np.ndarray) -> np.ndarray:
    """People in each node's subtree (itself included), from parent links: per level, deepest
    first, each level's sizes added to their parents (cost per level is that level's nodes)."""
    n = len(parent_index)
    size = np.ones(n, dtype=np.int64)
    if n == 0:
        return size
    order = np.argsort(level, kind="stable")
    sorted_level = level[order]
    bounds = np.searchsorted(sorted_level, np.arange(int(sorted_level[-1]) + 2))
    for d in range(int(sorted_level[-1]), 0, -1):
        nodes = order[bounds[d] : bounds[d + 1]]
        nodes = nodes[parent_index[nodes] >= 0]
        np.add.at(size, parent_index[nodes], size[nodes])
    return size


def check_labels(
    ids: np.ndarray,
    parent_ids: np.ndarray,
    lft: np.ndarray,
    rght: np.ndarray,
    *,
    level: np.ndarray | None = None,
    descendants: np.ndarray | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Structural checks of one labelled tree, in numpy: a list of (problem, mask over the
    nodes) for each kind of problem found (empty: valid).

    `parent_ids` holds -1 for the root(s) and refers to ids among `ids`. Checks: every parent
    exists; no loops; labels distinct; lft < rght; each node strictly inside its parent's
    interval; the labels strictly inside (lft, rght) are exactly 2 × the people below by the
    parent links (this also catches crossing intervals); the stored `descendants` equals that
    count; level = parent's level + 1 (roots 0).
    """
    ids = np.asarray(ids, dtype=np.int64)
    parent_ids = np.asarray(parent_ids, dtype=np.int64)
    lft = np.asarray(lft, dtype=np.int64)
    rght = np.asarray(rght, dtype=np.int64)
    n = len(ids)
    problems: list[tuple[str, np.ndarray]] = []

    def add(description: str, mask: np.ndarray) -> None:
        if mask.any():
            problems.append((description, mask))

    if n == 0:
        return problems
    by_id = np.argsort(ids, kind="stable")
    sorted_ids = ids[by_id]
    position = np.minimum(np.searchsorted(sorted_ids, parent_ids), n - 1)
    known = sorted_ids[position] == parent_ids
    parent_index = np.where(known, by_id[position], -1)
    add("the parent is not in the tree", (parent_ids >= 0) & ~known)
    depth, in_loop = depths_or_loops(parent_index)
    add("parent links form a loop (or hang below one)", in_loop)

    values = np.concatenate([lft, rght])
    owners = np.concatenate([np.arange(n), np.arange(n)])
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    duplicate = np.zeros(n, dtype=bool)
    same = sorted_values[1:] == sorted_values[:-1]
    duplicate[owners[order][1:][same]] = True
    duplicate[owners[order][:-1][same]] = True
    add("a label is used twice", duplicate)
    add("lft is not below rght", lft >= rght)
    p = np.maximum(parent_index, 0)
    has_parent = parent_index >= 0
    add(
        "not strictly inside the parent's interval",
        has_parent & ~((lft[p] < lft) & (rght < rght[p])),
    )
    if not in_loop.any():
        below = subtree_sizes(parent_index, depth) - 1
        inside = np.searchsorted(sorted_values, rght, side="left") - np.searchsorted(
            sorted_values, lft, side="right"
        )
        add(
            "the labels inside the interval are not twice the people below (crossing intervals)",
            inside != 2 * below,
        )
        if descendants is not None:
            add(
                "the stored downline count (descendants) is wrong",
                np.asarray(descendants, dtype=np.int64) != below,
            )
        if level is not None:
            add(
                "level is not the parent's level + 1",
                np.asarray(level, dtype=np.int64) != depth,
            )
    return problems


def last_child_point(space: LabelSpace, parent_rght: int) -> int:
    """The point after which a new last child of the node whose rght is `parent_rght` goes:
    the largest label below it (the parent's lft, or its last child's rght)."""
    point = previous_label_before(space, parent_rght)
    if point is None:
        raise ValueError("the parent's interval has no lft below it")
    return point


def last_child_points(space: LabelSpace, parent_rghts: Sequence[int]) -> list[int]:
    """`last_child_point` for many parents at once (one query on PostgreSQL: two index probes
    per parent)."""
    if not parent_rghts:
        return []
    if not _is_postgresql():
        return [last_child_point(space, r) for r in parent_rghts]
    table, scope = space.table, space.scope_sql
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT GREATEST(
                (SELECT lft FROM {table} WHERE {scope} AND lft < p.r ORDER BY lft DESC LIMIT 1),
                (SELECT rght FROM {table} WHERE {scope} AND rght < p.r
                  ORDER BY rght DESC LIMIT 1))
              FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(r, i) ORDER BY p.i
            """,  # noqa: S608 - identifiers from LabelSpace constants
            [list(parent_rghts)],
        )
        points = [row[0] for row in cursor.fetchall()]
    if any(p is None for p in points):
        raise ValueError("a parent's interval has no lft below it")
    return points


def move_subtree(
    space: LabelSpace, *, node_id: int, new_parent_id: int, children_only: bool = False
) -> int:
    """Make `node_id` (and its whole subtree) the last child of `new_parent_id`; with
    `children_only`, move the node's children (and their subtrees) instead, in their order
    (a termination's roll-up), leaving the node a leaf.

    The block keeps its labels' order: 2m fresh labels are allocated as the new parent's last
    children and given to the block's labels in order (its old labels are left as a hole), its
    levels shift, the parent links of its top nodes change, and the downline counts of the old
    and new ancestors change by m (as waiting rows of `genealogy.downline_counts`). Caller
    holds the tree's lock and has refused moves into the block itself. Returns m, the people
    moved.
    """
    table, key = space.table, space.id_column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key}, lft, rght, {space.parent_column}, {space.level_column}"  # noqa: S608
            f" FROM {table} WHERE {key} IN (%s, %s)",
            [node_id, new_parent_id],
        )
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    left, right, old_parent, level = rows[node_id]
    target_lft, target_rght, _, target_level = rows[new_parent_id]
    if target_lft >= left and target_rght <= right:
        raise ValueError("the new parent is inside the moved subtree")
    if children_only:
        leg_ids = [i for i in _ids_in_range(space, left, right) if i != node_id]
        condition, params = _id_list_sql(leg_ids or [-1])
        tops_sql = f"{key} {condition} AND {space.parent_column} = %s"
        tops_params = [*params, node_id]
        level_shift = int(target_level) - int(level)
        source = node_id
    else:
        leg_ids = _ids_in_range(space, left, right)
        tops_sql, tops_params = f"{key} = %s", [node_id]
        level_shift = int(target_level) + 1 - int(level)
        source = old_parent
    m = len(leg_ids)
    if m == 0:
        return 0
    point = last_child_point(space, target_rght)
    (labels,) = allocate(space, [(point, 2 * m)])
    # A relabel may have moved the block's own labels: read them again.
    with connection.cursor() as cursor:
        condition, params = _id_list_sql(leg_ids)
        cursor.execute(
            f"SELECT {key}, lft, rght FROM {table} WHERE {key} {condition}",  # noqa: S608
            params,
        )
        leg = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 3)
    old_values = np.concatenate([leg[:, 1], leg[:, 2]])
    rank = np.empty(2 * m, dtype=np.int64)
    rank[np.argsort(old_values, kind="stable")] = np.arange(2 * m)
    new_values = np.asarray(labels, dtype=np.int64)[rank]
    with connection.cursor() as cursor:
        # The tops first (found by their old parent), then the labels and levels.
        cursor.execute(
            f"UPDATE {table} SET {space.parent_column} = %s WHERE {tops_sql}",  # noqa: S608
            [new_parent_id, *tops_params],
        )
    _write_leg(
        space, leg[:, 0].tolist(), new_values[:m].tolist(), new_values[m:].tolist(), level_shift
    )
    from . import downline_counts  # it builds on this module

    downline_counts.record_move(space, leg_ids, source_id=source, target_id=new_parent_id)
    return m


def _ids_in_range(space: LabelSpace, left: int, right: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {space.id_column} FROM {space.table} WHERE {space.scope_sql}"  # noqa: S608
            " AND lft >= %s AND lft <= %s",
            [left, right],
        )
        return [row[0] for row in cursor.fetchall()]


def _write_leg(
    space: LabelSpace, ids: list[int], lfts: list[int], rghts: list[int], level_shift: int
) -> None:
    level = space.level_column
    with connection.cursor() as cursor:
        if _is_postgresql():
            cursor.execute(
                f"""
                UPDATE {space.table} AS t
                   SET lft = m.lft, rght = m.rght, {level} = t.{level} + %s
                  FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS m(node, lft, rght)
                 WHERE t.{space.id_column} = m.node
                """,  # noqa: S608 - identifiers from LabelSpace constants
                [level_shift, ids, lfts, rghts],
            )
            return
        cursor.executemany(
            f"UPDATE {space.table} SET lft = %s, rght = %s, {level} = {level} + %s"  # noqa: S608
            f" WHERE {space.id_column} = %s",
            [(lf, rg, level_shift, i) for i, lf, rg in zip(ids, lfts, rghts, strict=True)],
        )


__all__ = [
    "PLACEMENT_TREE",
    "SPONSOR_TREE",
    "UNIVERSE",
    "LabelSpace",
    "TreeShapeError",
    "add_descendants",
    "allocate",
    "ancestors_with_labels",
    "check_labels",
    "last_child_point",
    "last_child_points",
    "move_subtree",
    "depths",
    "next_label_after",
    "next_labels_after",
    "prefer_indexes",
    "previous_label_before",
    "spaced_labels",
    "spread",
    "subtree_sizes",
]
