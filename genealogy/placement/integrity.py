"""Is the stored placement tree consistent? Set-based checks for `check_genealogy`.

One read of every placement row (and of who has none) into numpy; the labels are checked by
`genealogy.labels.check_labels` (parents exist, no loops, nesting, `descendants`, `level`);
here: one root (the house), positions unique and below the width, children in label order =
position order, `child_count`, the outer tops (by pointer doubling, never a walk), waiting rows
holding no tree fields, and everyone either placed or in the tank.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.bulk import consistent_snapshot, read_columns

from ..downline_counts import waiting_below
from ..integrity import EXAMPLES, Problem, _numbers
from ..labels import PLACEMENT_TREE, check_labels
from ..models import Distributor, Placement
from ..policy import PlacementPolicy
from ..policy import placement_policy as policy_at

COLUMNS = (
    "id",
    "parent",
    "position",
    "lft",
    "rght",
    "level",
    "descendants",
    "child_count",
    "outer_left_top",
    "outer_right_top",
    "placed",
)


@dataclass
class PlacementReport:
    kind: str
    nodes: int = 0
    waiting: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems


def read_placements() -> dict[str, np.ndarray]:
    """Every placement row as int64 arrays ordered by id (-1 for NULL)."""
    table = Placement._meta.db_table
    select = f"""
        SELECT CAST(distributor_id AS bigint), CAST(COALESCE(parent_id, -1) AS bigint),
               CAST(COALESCE(position, -1) AS bigint), CAST(COALESCE(lft, -1) AS bigint),
               CAST(COALESCE(rght, -1) AS bigint), CAST(COALESCE(level, -1) AS bigint),
               CAST(descendants AS bigint), CAST(child_count AS bigint),
               CAST(COALESCE(outer_left_top, -1) AS bigint),
               CAST(COALESCE(outer_right_top, -1) AS bigint),
               CAST(CASE WHEN placed_at IS NULL THEN 0 ELSE 1 END AS bigint)
          FROM {table} ORDER BY distributor_id
    """  # noqa: S608 - table name from model meta
    arrays = read_columns(select, {}, ["int8"] * len(COLUMNS))
    return dict(zip(COLUMNS, arrays, strict=True))


def _outer_tops(index_up: np.ndarray) -> np.ndarray:
    """For each node, the node reached by following ``index_up`` until it points at itself
    (pointer doubling: log2(n) numpy steps, whatever the depth of a run)."""
    top = index_up.copy()
    for _ in range(int(np.ceil(np.log2(max(len(top), 2)))) + 1):
        nxt = top[top]
        if np.array_equal(nxt, top):
            break
        top = nxt
    return top


def check_placement_tree(policy: PlacementPolicy | None = None) -> PlacementReport:
    """Check the placement tree, read in one snapshot (as ``integrity.check_tree``)."""
    with consistent_snapshot():
        return _check_placement_tree(policy)


def _check_placement_tree(policy: PlacementPolicy | None) -> PlacementReport:
    started = time.monotonic()
    policy = policy or policy_at()
    report = PlacementReport(kind=policy.kind)
    rows = read_placements()
    ids = rows["id"]
    placed = rows["placed"].astype(bool)
    report.nodes, report.waiting = int(placed.sum()), int((~placed).sum())
    found: list[tuple[str, int, np.ndarray]] = []

    def add(description: str, mask: np.ndarray, owners: np.ndarray | None = None) -> None:
        if mask.any():
            examples = (ids if owners is None else owners)[mask][:EXAMPLES]
            found.append((description, int(mask.sum()), examples))

    if not policy.has_placement_tree:
        if len(ids):
            add("placement rows, but the plan in force has no placement tree", placed | ~placed)
        return _finish(report, found, started)

    without = np.array(
        list(
            Distributor.objects.filter(placement__isnull=True, is_house=False).values_list(
                "pk", flat=True
            )[:EXAMPLES]
        ),
        dtype=np.int64,
    )
    missing = Distributor.objects.filter(placement__isnull=True, is_house=False).count()
    if missing:
        found.append(("neither placed nor waiting in the tank", missing, without))
    waiting = ~placed
    add(
        "waiting in the tank but holds tree fields",
        waiting & ((rows["lft"] >= 0) | (rows["rght"] >= 0) | (rows["parent"] >= 0)),
    )
    p = {name: values[placed] for name, values in rows.items()}
    pid = p["id"]
    n = len(pid)
    if n == 0:
        return _finish(report, found, started)

    def add_placed(description: str, mask: np.ndarray) -> None:
        if mask.any():
            found.append((description, int(mask.sum()), pid[mask][:EXAMPLES]))

    roots = p["parent"] < 0
    house = Distributor.objects.filter(is_house=True).values_list("pk", flat=True).first()
    if roots.sum() != 1 or (house is not None and pid[roots].tolist() != [house]):
        add_placed("not exactly one root, the house", roots)
    add_placed("the root holds a position", roots & (p["position"] >= 0))
    add_placed(
        f"position outside 0..{policy.width - 1}",
        ~roots & ((p["position"] < 0) | (p["position"] >= policy.width)),
    )
    for description, mask in check_labels(
        pid,
        p["parent"],
        p["lft"],
        p["rght"],
        level=p["level"],
        descendants=p["descendants"] + waiting_below(PLACEMENT_TREE, p["lft"], p["rght"]),
    ):
        add_placed(description, mask)

    position = np.minimum(np.searchsorted(pid, p["parent"]), n - 1)
    parent_index = np.where(~roots & (pid[position] == p["parent"]), position, -1)
    add("placed under someone who is not placed", placed & np.isin(rows["parent"], ids[~placed]))
    # Positions: one child per (parent, position), and children in label order by position.
    child = np.flatnonzero(parent_index >= 0)
    order = child[np.lexsort((p["lft"][child], parent_index[child]))]
    same_parent = parent_index[order][1:] == parent_index[order][:-1]
    twice = np.zeros(n, dtype=bool)
    twice[order[1:][same_parent & (p["position"][order][1:] == p["position"][order][:-1])]] = True
    add_placed("two children in one position", twice)
    unordered = np.zeros(n, dtype=bool)
    unordered[order[1:][same_parent & (p["position"][order][1:] < p["position"][order][:-1])]] = (
        True
    )
    add_placed("children not in label order by position", unordered)
    counts = np.bincount(parent_index[child], minlength=n)
    add_placed("child_count is not the number of children", counts != p["child_count"])
    add_placed("more children than the width", counts > policy.width)
    # Outer tops: a position-0 child shares its parent's left top; anyone else is their own.
    self_index = np.arange(n)
    for column, outer in (("outer_left_top", 0), ("outer_right_top", policy.width - 1)):
        up = np.where((parent_index >= 0) & (p["position"] == outer), parent_index, self_index)
        expected = pid[_outer_tops(up)]
        add_placed(f"{column} is not the top of the node's outer run", p[column] != expected)
    return _finish(report, found, started)


def _finish(report: PlacementReport, found, started: float) -> PlacementReport:
    report.problems = [
        Problem(description, count, _numbers(np.asarray(examples, dtype=np.int64)))
        for description, count, examples in found
    ]
    report.seconds = time.monotonic() - started
    return report
