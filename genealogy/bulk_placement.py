"""A whole binary placement tree built in bulk: the demo company's and the benchmark's.

The placement services (`genealogy.placement`) place people a batch at a time; a company of a
million people that gets a placement tree at once (the demo seed, the benchmark) needs it built
in one go instead. The shape is computed in numpy (`build_binary_placement`), labelled with
`genealogy.labels.spread`, written with one binary COPY, and recorded in the history with one
bulk `record_changes` (PLACEMENT rows of the placement tree).

The shape is a plausible spillover: every person lands inside the placement downline of the
node given for them (their sponsor); the sponsor's first recruit takes the sponsor's own leg
and the later ones spill over level by level into the positions their earlier recruits leave
free, so a big recruiter's people fill a few levels under the first one. The house's first two
recruits take both its legs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from allauth.account.models import EmailAddress
from django.db import connection, transaction

from accounts.models import User
from core.bulk import binary_copy_payload, read_columns
from outbox.models import OutboxTask

from . import downline_counts
from .demo import FIRST_NAMES, LAST_NAMES
from .history import record_changes
from .labels import PLACEMENT_TREE, spread, subtree_sizes
from .members import complete_enrollment, record_enrollment
from .models import Distributor, Placement, TreeChangeKind, TreeKind
from .placement.services import enter_tank
from .policy import PlacementPolicy
from .services import fold_downline_counts, place_pending_distributors

LEFT, RIGHT = 0, 1
DISTRIBUTORS = Distributor._meta.db_table


def build_binary_placement(
    placer: np.ndarray, *, order_key: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Parent index (-1 for the root) and position (0 left, 1 right; -1 for the root) of nodes
    0..n-1 of a binary placement tree, node 0 the root.

    ``placer[i]`` (i ≥ 1) is the node inside whose placement downline node i must land (its
    sponsor, or a node inside the sponsor's downline); ``placer[0]`` is -1. The recruits of one
    placer are taken in ``order_key`` order (default: node order, i.e. join order).

    A node's first recruit takes the node's own side (left; the root's first two recruits take
    both its legs, and the right one's own side is right). The later recruits of the same
    placer spill over level by level below the earlier ones, into the positions those leave
    free: both positions of a recruit who recruits nobody, the other side of one who does. So
    each position is used once, every node lands under its placer, and a big recruiter's
    people fill a few levels rather than one long line. Set-based: sorts and cumulative sums,
    no walk down the tree.
    """
    placer = np.asarray(placer, dtype=np.int64)
    n = len(placer)
    parent = np.full(n, -1, dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    if n <= 1:
        return parent, position
    key = np.arange(n) if order_key is None else np.asarray(order_key)
    nodes = np.arange(1, n, dtype=np.int64)
    if np.any((placer[nodes] < 0) | (placer[nodes] >= n) | (placer[nodes] == nodes)):
        raise ValueError("every node but the root needs another node to be placed under")
    order = nodes[np.lexsort((nodes, key[nodes], placer[nodes]))]
    group = placer[order]
    m = len(order)
    index = np.arange(m)
    starts = np.r_[True, group[1:] != group[:-1]]
    rank = index - np.maximum.accumulate(np.where(starts, index, 0))
    under_root = group == 0
    own_side = np.zeros(n, dtype=np.int64)
    own_side[order] = np.where(under_root & (rank == 1), RIGHT, LEFT)
    # Positions a node offers its placer's later recruits: both when it recruits nobody, else
    # the one its own first recruit leaves.
    recruits = np.bincount(placer[nodes], minlength=n)
    capacity = np.where(recruits[order] > 0, 1, 2)
    # The first recruit(s) go straight under the placer.
    heads = np.where(under_root, 2, 1)
    direct = rank < heads
    parent[order[direct]] = group[direct]
    position[order[direct]] = np.where(under_root[direct], rank[direct], own_side[group[direct]])
    # The others take the free positions of the placer's earlier recruits, in order: slot s
    # of a group belongs to the member whose cumulative capacity first exceeds s.
    spill = np.flatnonzero(~direct)
    ends = np.cumsum(capacity)
    begins = ends - capacity
    slot = begins[spill - rank[spill]] + (rank[spill] - heads[spill])
    holder = np.searchsorted(ends, slot, side="right")
    holder_id = order[holder]
    parent[order[spill]] = holder_id
    position[order[spill]] = np.where(
        capacity[holder] == 2, slot - begins[holder], 1 - own_side[holder_id]
    )
    return parent, position


def outer_tops(parent: np.ndarray, position: np.ndarray, side: int) -> np.ndarray:
    """For each node, the top of the run of ``side`` steps it is on (itself when it is not on
    that side of its parent): pointer doubling, O(n log depth)."""
    index = np.arange(len(parent), dtype=np.int64)
    up = np.where((parent >= 0) & (position == side), parent, index)
    while True:
        further = up[up]
        if np.array_equal(further, up):
            return up
        up = further


@dataclass(frozen=True)
class BuiltTree:
    rows: int
    max_level: int
    seconds: float


def write_placement_tree(
    ids: np.ndarray,
    parent_ids: np.ndarray,
    positions: np.ndarray,
    *,
    placed_us: np.ndarray,
    reason: str,
    rule: str = "",
) -> BuiltTree:
    """Write Placement rows of a whole binary tree (``parent_ids`` -1 for the single root),
    placed at ``placed_us`` (epoch microseconds per row), and record each placement in the
    history. The table must hold no placed rows for these people. Caller holds a transaction.
    """
    started = time.monotonic()
    downline_counts.discard(PLACEMENT_TREE)  # this writes every count afresh
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    parent_ids = np.asarray(parent_ids, dtype=np.int64)[order]
    positions = np.asarray(positions, dtype=np.int64)[order]
    placed_us = np.asarray(placed_us, dtype=np.int64)[order].copy()
    # The root is in the tree no later than anyone below it (the tree as of any moment has one).
    if len(placed_us):
        placed_us[parent_ids < 0] = placed_us.min()
    numbering = spread(ids, parent_ids, order_key=positions)  # children left to right
    n = len(ids)
    parent_index = np.full(n, -1, dtype=np.int64)
    has_parent = parent_ids >= 0
    parent_index[has_parent] = np.searchsorted(ids, parent_ids[has_parent])
    level = numbering.level
    descendants = subtree_sizes(parent_index, level) - 1
    child_count = np.bincount(parent_index[has_parent], minlength=n)
    left_top = ids[outer_tops(parent_index, positions, LEFT)]
    right_top = ids[outer_tops(parent_index, positions, RIGHT)]
    columns = {
        "distributor_id": ids,
        "parent_id": parent_ids,
        "position": positions,
        "lft": numbering.lft,
        "rght": numbering.rght,
        "level": level,
        "descendants": descendants,
        "child_count": child_count,
        "outer_left_top": left_top,
        "outer_right_top": right_top,
        "placed_us": placed_us,
    }
    _insert_placements(columns, rule=rule)
    record_changes(
        {
            "distributor_id": ids,
            "old_parent_id": None,
            "new_parent_id": parent_ids,
            "new_position": positions,
            "effective_at": placed_us,
            "tree": TreeKind.PLACEMENT,
            "kind": TreeChangeKind.PLACEMENT,
            "reason": reason,
        }
    )
    return BuiltTree(
        rows=n, max_level=int(level.max(initial=0)), seconds=time.monotonic() - started
    )


def _insert_placements(columns: dict[str, np.ndarray], *, rule: str) -> None:
    """Binary COPY into a temporary table, one INSERT ... SELECT (PostgreSQL); the ORM's bulk
    insert elsewhere (the small SQLite demo)."""
    if connection.vendor != "postgresql":
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        lists = {name: values.tolist() for name, values in columns.items()}
        rows = []
        for i in range(len(lists["distributor_id"])):
            moment = epoch + dt.timedelta(microseconds=lists["placed_us"][i])
            rows.append(
                Placement(
                    distributor_id=lists["distributor_id"][i],
                    parent_id=None if lists["parent_id"][i] < 0 else lists["parent_id"][i],
                    position=None if lists["position"][i] < 0 else lists["position"][i],
                    lft=lists["lft"][i],
                    rght=lists["rght"][i],
                    level=lists["level"][i],
                    descendants=lists["descendants"][i],
                    child_count=lists["child_count"][i],
                    outer_left_top=lists["outer_left_top"][i],
                    outer_right_top=lists["outer_right_top"][i],
                    entered_tank_at=moment,
                    placed_at=moment,
                    rule=rule,
                )
            )
        Placement.objects.bulk_create(rows, batch_size=2_000)
        return
    names = list(columns)
    arrays = [np.where(columns[name] < 0, 0, columns[name]).astype(np.int64) for name in names]
    nulls = [columns[name] < 0 if name in ("parent_id", "position") else None for name in names]
    table = Placement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS placement_load")
        cursor.execute(
            "CREATE TEMP TABLE placement_load ("
            + ", ".join(f"{name} bigint" for name in names)
            + ") ON COMMIT DROP"
        )
        step = 1_000_000
        with cursor.copy("COPY placement_load FROM STDIN (FORMAT binary)") as copy:
            for start in range(0, len(arrays[0]), step):
                payload = binary_copy_payload(
                    [np.ascontiguousarray(a[start : start + step]) for a in arrays],
                    [None if mask is None else mask[start : start + step] for mask in nulls],
                )
                if start > 0:
                    payload = payload[19:]  # the header only once
                if start + step < len(arrays[0]):
                    payload = payload[:-2]  # the trailer only once
                copy.write(payload)
        cursor.execute(
            f"""
            INSERT INTO {table} (distributor_id, parent_id, position, lft, rght, level,
                                 descendants, child_count, outer_left_top, outer_right_top,
                                 entered_tank_at, placed_at, rule)
            SELECT distributor_id, parent_id, position, lft, rght, level, descendants,
                   child_count, outer_left_top, outer_right_top,
                   TIMESTAMPTZ 'epoch' + placed_us * INTERVAL '1 microsecond',
                   TIMESTAMPTZ 'epoch' + placed_us * INTERVAL '1 microsecond', %s
              FROM placement_load
            """,  # noqa: S608 - table name from model meta, the rule is a parameter
            [rule],
        )
        cursor.execute("DROP TABLE placement_load")


def joined_moments_us(ids: np.ndarray) -> np.ndarray:
    """Each distributor's created_at as epoch microseconds, aligned with ``ids``."""
    ids = np.asarray(ids, dtype=np.int64)
    if connection.vendor == "postgresql":
        moment = "CAST(FLOOR(EXTRACT(EPOCH FROM created_at) * 1000000) AS bigint)"
        sql = f"SELECT CAST(id AS bigint), {moment} FROM {DISTRIBUTORS} ORDER BY id"  # noqa: S608
        known, moments = read_columns(sql, {}, ["int8", "int8"])
    else:
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        rows = sorted(Distributor.objects.values_list("id", "created_at"))
        known = np.array([r[0] for r in rows], dtype=np.int64)
        moments = np.array([(r[1] - epoch) // dt.timedelta(microseconds=1) for r in rows])
    where = np.minimum(np.searchsorted(known, ids), max(len(known) - 1, 0))
    if len(ids) and (len(known) == 0 or np.any(known[where] != ids)):
        raise ValueError("a placement for someone who is not a distributor")
    return moments[where].astype(np.int64)


def seed_placement_tree(*, progress: Callable[[str], None] = lambda _: None) -> BuiltTree:
    """Give everyone placed in the sponsor tree a place in a binary placement
    tree under the house, each inside their sponsor's placement downline, placed when they
    joined. For a company that has no placement tree yet (the demo seed)."""
    if Placement.objects.exists():
        raise ValueError("the company already has a placement tree")
    columns = "CAST(id AS bigint), CAST(COALESCE(sponsor_id, -1) AS bigint)"
    sql = f"SELECT {columns} FROM {DISTRIBUTORS} WHERE placed_at IS NOT NULL ORDER BY id"  # noqa: S608
    ids, sponsors = read_columns(sql, {}, ["int8", "int8"])
    house = int(Distributor.objects.get(is_house=True).pk)
    # Node 0 is the house: sponsors joined before their recruits, so the house sorts first.
    order = np.r_[np.flatnonzero(ids == house), np.flatnonzero(ids != house)]
    ids, sponsors = ids[order], sponsors[order]
    where = np.searchsorted(np.sort(ids), sponsors)
    by_id = np.argsort(ids, kind="stable")
    placer = np.full(len(ids), -1, dtype=np.int64)
    has_sponsor = sponsors >= 0
    found = by_id[np.minimum(where, len(ids) - 1)]
    if np.any(ids[found[has_sponsor]] != sponsors[has_sponsor]):
        raise ValueError("a sponsor is not placed in the sponsor tree yet")
    placer[has_sponsor] = found[has_sponsor]
    parent_index, positions = build_binary_placement(placer)
    parent_ids = np.where(parent_index >= 0, ids[np.maximum(parent_index, 0)], -1)
    progress(f"placement tree drawn for {len(ids):,} people")
    with transaction.atomic():
        built = write_placement_tree(
            ids,
            parent_ids,
            positions,
            placed_us=joined_moments_us(ids),
            reason="Placed when they joined (demo company)",
        )
    progress(
        f"placement tree written: {built.rows:,} people, depth {built.max_level} "
        f"in {built.seconds:.1f} s"
    )
    return built


__all__ = [
    "BuiltTree",
    "build_binary_placement",
    "joined_moments_us",
    "outer_tops",
    "seed_holding_tank",
    "seed_placement_tree",
    "write_placement_tree",
]


def seed_holding_tank(
    *,
    recruits: Sequence[tuple[Distributor, int]],
    policy: PlacementPolicy,
    password_hash: str,
    seed: int = 1,
) -> list[Distributor]:
    """New recruits of each (sponsor, count), signed up the way a person signs up (an
    enrollment, then the verified address completes it), left waiting in the holding tank for
    their sponsor to place them (the demo company's tank). Their sponsor-tree placement is done
    here; the placement tree's is the sponsor's to do before the tank's deadline."""
    rng = np.random.default_rng(seed + 7)
    made: list[Distributor] = []
    with transaction.atomic():
        for sponsor, count in recruits:
            for _ in range(count):
                first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
                last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
                email = f"{first.lower()}.{last.lower()}.tank{len(made) + 1}@example.com"
                user = User.objects.create_user(email, None)
                User.objects.filter(pk=user.pk).update(password=password_hash)
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
                record_enrollment(
                    user=user, name=f"{first} {last}", sponsor=sponsor, country=sponsor.country
                )
                distributor = complete_enrollment(user=user)
                enter_tank(distributor, policy=policy)  # even before a plan version is loaded
                made.append(distributor)
        # The seed places them in the sponsor tree itself (below) and queues nothing: the
        # "place soon" tasks their sign-ups asked for are withdrawn before they are published.
        OutboxTask.objects.filter(
            idempotency_key__startswith="genealogy.place_pending_distributors:",
            sent_at__isnull=True,
        ).delete()
    with transaction.atomic():
        place_pending_distributors()
        fold_downline_counts()  # the demo starts with every count stored, no fold queued
        OutboxTask.objects.filter(
            idempotency_key__startswith=f"{downline_counts.FOLD_TASK}:", sent_at__isnull=True
        ).delete()
    return made
