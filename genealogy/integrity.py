"""Is the stored tree what the sponsor links say it is? Set-based checks for `check_genealogy`.

Everything is read in one query (COPY on PostgreSQL) into numpy arrays and each kind of problem
is counted with up to `EXAMPLES` examples. The labels are gapped (`genealogy.labels`), so the
stored tree cannot equal a fresh numbering; its structure is checked instead
(`genealogy.labels.check_labels`): labels distinct, lft < rght, each node strictly inside its
parent's interval, the labels inside each interval exactly twice the people below by the links
(which catches crossing intervals), the stored `descendants` equal to that count, level = the
parent's + 1; and parent = sponsor for everyone placed.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.bulk import consistent_snapshot

from .downline_counts import waiting_below
from .labels import SPONSOR_TREE, check_labels
from .models import COMPANY_TREE_ID, Distributor
from .numbering import depths_or_loops

EXAMPLES = 20
COLUMNS = (
    "id",
    "sponsor",
    "parent",
    "lft",
    "rght",
    "level",
    "tree",
    "pending",
    "overdue",
    "descendants",
)


@dataclass
class Problem:
    description: str
    count: int
    examples: list[int]  # distributor numbers


@dataclass
class IntegrityReport:
    nodes: int
    pending: int
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.problems

    @property
    def has_cycles(self) -> bool:
        return any(p.description.startswith("sponsor links form a loop") for p in self.problems)


def read_tree(now: dt.datetime | None = None) -> dict[str, np.ndarray]:
    """Every distributor's links and tree fields, as int64 arrays ordered by id (-1 for NULL)."""
    now = now or timezone.now()
    overdue_before = now - dt.timedelta(minutes=settings.LADDER_PLACEMENT_MAX_PENDING_MINUTES)
    table = Distributor._meta.db_table
    select = f"""
        SELECT id, COALESCE(sponsor_id, -1), COALESCE(parent_id, -1), lft, rght, level, tree_id,
               CASE WHEN placed_at IS NULL THEN 1 ELSE 0 END,
               CASE WHEN placed_at IS NULL AND created_at < %s THEN 1 ELSE 0 END, descendants
          FROM {table} ORDER BY id
    """  # noqa: S608 - table name from model meta
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            chunks = []
            query = f"COPY ({select.replace('%s', '%(before)s')}) TO STDOUT"
            with cursor.copy(query, {"before": overdue_before}) as copy:
                for block in copy:
                    chunks.append(bytes(block))
            text = b"".join(chunks).replace(b"\t", b" ").replace(b"\n", b" ")
            flat = np.array(text.split(), dtype=np.int64)
        else:
            cursor.execute(select, [overdue_before])
            flat = np.array(cursor.fetchall(), dtype=np.int64).ravel()
    table_view = flat.reshape(-1, len(COLUMNS))
    return {name: table_view[:, i].copy() for i, name in enumerate(COLUMNS)}


def check_tree(now: dt.datetime | None = None) -> IntegrityReport:
    """Check the sponsor tree; the tree and its waiting count rows are read in one snapshot, so
    a placement or a count fold committing meanwhile is never reported as a problem."""
    with consistent_snapshot():
        return _check_tree(now)


def _check_tree(now: dt.datetime | None) -> IntegrityReport:
    started = time.monotonic()
    tree = read_tree(now)
    ids = tree["id"]
    n = len(ids)
    pending = tree["pending"].astype(bool)
    report = IntegrityReport(nodes=n, pending=int(pending.sum()))
    found: list[tuple[str, int, np.ndarray]] = []

    def add(description: str, mask: np.ndarray) -> None:
        if mask.any():
            found.append((description, int(mask.sum()), ids[mask][:EXAMPLES]))

    def index_of(values: np.ndarray) -> np.ndarray:
        """Row index of each id in `values` (-1 for -1 or an unknown id)."""
        position = np.minimum(np.searchsorted(ids, values), max(n - 1, 0))
        return np.where((values >= 0) & (ids[position] == values), position, -1)

    sponsor_index = index_of(tree["sponsor"])
    roots = sponsor_index < 0
    if roots.sum() != 1:
        add("not exactly one distributor without a sponsor (the house)", roots)
    _depth, in_loop = depths_or_loops(sponsor_index)
    add("sponsor links form a loop (or hang below one)", in_loop)
    add("waiting for placement longer than allowed", tree["overdue"].astype(bool))

    placed = ~pending
    sponsor_pending = placed & ~roots & pending[np.maximum(sponsor_index, 0)]
    add("placed, but the sponsor is still waiting for placement", sponsor_pending)
    add("placed outside the company tree", placed & (tree["tree"] != COMPANY_TREE_ID))
    add(
        "waiting for placement but holds tree fields",
        pending
        & ((tree["tree"] != 0) | (tree["lft"] != 1) | (tree["rght"] != 2) | (tree["parent"] >= 0)),
    )
    add("placed position (parent) is not the sponsor", placed & (tree["parent"] != tree["sponsor"]))

    in_company = placed & (tree["tree"] == COMPANY_TREE_ID)
    if roots.sum() == 1 and not in_loop.any():
        subset = np.flatnonzero(in_company)
        parents = np.where(roots, -1, tree["parent"])[subset]
        for description, mask in check_labels(
            ids[subset],
            parents,
            tree["lft"][subset],
            tree["rght"][subset],
            level=tree["level"][subset],
            descendants=tree["descendants"][subset]
            + waiting_below(SPONSOR_TREE, tree["lft"][subset], tree["rght"][subset]),
        ):
            found.append((description, int(mask.sum()), ids[subset][mask][:EXAMPLES]))

    report.problems = [
        Problem(description, count, _numbers(examples)) for description, count, examples in found
    ]
    report.seconds = time.monotonic() - started
    return report


def _numbers(ids: np.ndarray) -> list[int]:
    by_id = dict(Distributor.objects.filter(pk__in=ids.tolist()).values_list("id", "number"))
    return [by_id[i] for i in ids.tolist() if i in by_id]
