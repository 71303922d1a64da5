"""The placement columns of `import_genealogy`: `placement_parent` and `placement_leg`.

Both optional. `placement_parent` is the distributor number of the person to place the row
under (in the file or already placed in the tree); `placement_leg` is `left` / `right` (binary;
in a matrix left is position 0 and right the last) or a position 0 .. width - 1. A row without
them is placed by the company's automatic rule (`auto_rule`) under its sponsor. The checks run
with the rest of the file's (all or nothing, every bad row reported with its line): a parent
neither in the file nor in the placement tree, a wrong leg, a position taken (in the tree or
twice in the file), a placement loop, and a parent outside the sponsor's placement downline.
Once the distributors are written, everyone imported is placed in one planned batch (one label
allocation), in dependency order, with PLACEMENT rows in the history effective from the start
of the day each person joined (as the import's own rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.utils import timezone

from core.bulk import write_rows
from core.periods import company_zone

from ..history import record_changes, to_epoch_us
from ..labels import UNIVERSE
from ..models import Distributor, Placement, TreeChangeKind, TreeKind
from ..policy import PlacementPolicy
from ..policy import placement_policy as policy_at
from .rules import PlannedTree, Target, target_for
from .services import acquire_placement_lock, ensure_placement_root, write_planned

COLUMNS = ("placement_parent", "placement_leg")
IMPORT_RULE = "import"


@dataclass
class PlacementPlan:
    """Per file row: the placement parent (file row index, or -1) or a stored parent id, and
    the position; rows without placement columns have neither."""

    parent_row: list[int] = field(default_factory=list)
    parent_id: list[int | None] = field(default_factory=list)
    position: list[int | None] = field(default_factory=list)


def read_cells(row: list[str], at: tuple[int | None, int | None]) -> tuple[str, str]:
    """The two placement cells of a CSV row (empty when the file has no such column)."""
    parent_at, leg_at = at
    parent = row[parent_at].strip() if parent_at is not None and parent_at < len(row) else ""
    leg = row[leg_at].strip().lower() if leg_at is not None and leg_at < len(row) else ""
    return parent, leg


def parse_leg(text: str, policy: PlacementPolicy) -> int:
    width = policy.width
    if text == "left":
        return 0
    if text == "right":
        return width - 1
    if text.isdigit() and int(text) < width:
        return int(text)
    choices = "left, right" + (f" or 0..{width - 1}" if policy.kind == "matrix" else ", 0 or 1")
    raise ValueError(f"bad placement_leg {text!r} (use {choices})")


def check_placement(
    lines: list[int],
    numbers: list[int],
    sponsor_numbers: list[int | None],
    sponsor_row: np.ndarray,
    parents: list[str],
    legs: list[str],
) -> tuple[PlacementPlan, list[tuple[int, str]]]:
    """Check the placement cells against each other, the file and the tree.

    Returns the plan and (line, reason) errors.
    """
    errors: list[tuple[int, str]] = []
    plan = PlacementPlan()
    n = len(lines)
    given = [bool(p or leg) for p, leg in zip(parents, legs, strict=True)]
    policy = policy_at()
    plan.parent_row, plan.parent_id, plan.position = [-1] * n, [None] * n, [None] * n
    if not policy.has_placement_tree and not any(given):
        return plan, errors
    if not policy.has_placement_tree:
        for line, has in zip(lines, given, strict=True):
            if has:
                errors.append((line, "placement columns, but the plan has no placement tree"))
        return plan, errors
    acquire_placement_lock(wait=True)  # held to the end of the import's transaction
    row_of_number = {number: index for index, number in enumerate(numbers)}
    outside = {int(p) for p in parents if p.isdigit() and int(p) not in row_of_number}
    house = Distributor.objects.filter(is_house=True).values_list("pk", "number").get()
    outside_sponsors = {s for s in sponsor_numbers if s is not None and s not in row_of_number}
    stored = {
        number: (pk, lft, rght)
        for number, pk, lft, rght in Placement.objects.filter(
            distributor__number__in=list(outside | outside_sponsors | {house[1]}),
            placed_at__isnull=False,
        ).values_list("distributor__number", "pk", "lft", "rght")
    }
    if house[1] not in stored:  # the tree starts at the house when the rows are written
        stored[house[1]] = (house[0], 0, UNIVERSE)
    taken = set(
        Placement.objects.filter(
            parent_id__in=[stored[p][0] for p in outside if p in stored], placed_at__isnull=False
        ).values_list("parent_id", "position")
    )
    parent_row = [-1] * n
    parent_id: list[int | None] = [None] * n
    position: list[int | None] = [None] * n
    seen: dict[tuple, int] = {}
    for index in range(n):
        if not given[index]:
            continue
        line, text, leg = lines[index], parents[index], legs[index]
        if not text or not leg:
            errors.append((line, "give both placement_parent and placement_leg, or neither"))
            continue
        if not text.isdigit():
            errors.append((line, f"bad placement_parent {text!r}"))
            continue
        try:
            position[index] = parse_leg(leg, policy)
        except ValueError as error:
            errors.append((line, str(error)))
            continue
        number = int(text)
        if number == numbers[index]:
            errors.append((line, "a person cannot be placed under themselves"))
            continue
        if number in row_of_number:
            parent_row[index] = row_of_number[number]
            key: tuple = ("row", parent_row[index], position[index])
        elif number in stored:
            parent_id[index] = stored[number][0]
            key = ("id", parent_id[index], position[index])
            if (parent_id[index], position[index]) in taken:
                errors.append((line, f"the {leg} position under {number} is taken in the tree"))
                continue
        else:
            errors.append(
                (line, f"placement_parent {number} is neither in the file nor in the tree")
            )
            continue
        if key in seen:
            errors.append((line, f"the {leg} position under {number} is taken (line {seen[key]})"))
            continue
        seen[key] = line
    for index in range(n):
        if sponsor_row[index] < 0:
            number = sponsor_numbers[index] if sponsor_numbers[index] is not None else house[1]
            if number not in stored and number in outside_sponsors | {house[1]}:
                errors.append(
                    (lines[index], f"sponsor {number} is not placed in the placement tree yet")
                )
    bad = {line for line, _ in errors}
    # Loops and the sponsor's downline: walk up the file's placement parents (a row placed by
    # rule lands inside its sponsor's downline: its upward path goes through its sponsor).
    sponsor_id_of = {
        index: (
            None
            if sponsor_row[index] >= 0
            else stored.get(
                sponsor_numbers[index] if sponsor_numbers[index] is not None else house[1],
                (None,),
            )[0]
        )
        for index in range(n)
    }

    def step_up(j: int) -> tuple[str, int | None]:
        """The next node above file row j: ("row", k) or ("id", stored id)."""
        if given[j] and parent_row[j] >= 0:
            return "row", parent_row[j]
        if given[j] and parent_id[j] is not None:
            return "id", parent_id[j]
        if sponsor_row[j] >= 0:
            return "row", int(sponsor_row[j])
        return "id", sponsor_id_of[j]

    labels = {pk: (lft, rght) for pk, lft, rght in stored.values()}
    for index in range(n):
        if not given[index] or lines[index] in bad:
            continue
        sponsor_file = int(sponsor_row[index])
        sponsor_id = sponsor_id_of[index]
        kind, node = step_up(index)
        visited = {index}
        ok = False
        while True:
            if kind == "row":
                if node == sponsor_file:
                    ok = True
                    break
                if node in visited:
                    errors.append((lines[index], "placement loop: the row is in its own upline"))
                    ok = None
                    break
                visited.add(node)
                kind, node = step_up(node)
                continue
            # A stored node: the sponsor must be stored and this node inside their downline.
            if sponsor_file < 0 and node is not None and sponsor_id in labels:
                lft, rght = labels[sponsor_id]
                node_lft = labels.get(node, (None,))[0]
                if node_lft is None:
                    node_lft = Placement.objects.filter(pk=node).values_list("lft", flat=True)[0]
                ok = lft <= node_lft <= rght
            break
        if ok is False:
            errors.append(
                (lines[index], "placement_parent is outside the sponsor's placement downline")
            )
    plan.parent_row, plan.parent_id, plan.position = parent_row, parent_id, position
    return plan, errors


def place_imported(
    plan: PlacementPlan,
    *,
    distributor_ids: np.ndarray,
    sponsor_ids: np.ndarray,
    joined: list[dt.date],
    reason: str,
    by=None,
) -> int:
    """Give everyone imported their placement (nothing without a placement tree): rows with
    placement columns where they say, the rest by the company's automatic rule."""
    policy = policy_at()
    if not policy.has_placement_tree:
        return 0
    n = len(distributor_ids)
    if n == 0:
        return 0
    now = timezone.now()
    acquire_placement_lock(wait=True)
    ensure_placement_root(now=now)
    ids = np.asarray(distributor_ids, dtype=np.int64)
    write_rows(
        Placement,
        ["distributor_id", "entered_tank_at", "rule"],
        {"distributor_id": ids, "entered_tank_at": [now] * n, "rule": [IMPORT_RULE] * n},
    )
    row_of_id = {int(pk): index for index, pk in enumerate(ids.tolist())}
    sponsor_rows = [row_of_id.get(int(s), -1) for s in np.asarray(sponsor_ids).tolist()]
    has_columns = len(plan.position) == n

    def depends_on(j: int) -> int:
        if has_columns and plan.position[j] is not None:
            return plan.parent_row[j]
        return sponsor_rows[j]

    # Dependency depth in the file (parents and sponsors first), iteratively.
    depth = [-1] * n
    for start in range(n):
        path = []
        j = start
        while j >= 0 and depth[j] < 0:
            path.append(j)
            j = depends_on(j)
        base = depth[j] if j >= 0 else -1
        for k in reversed(path):
            base += 1
            depth[k] = base
    order = sorted(range(n), key=lambda j: (depth[j], int(ids[j])))
    tree = PlannedTree(width=policy.width, at=now)
    needed = {int(s) for s in np.asarray(sponsor_ids).tolist()}
    if has_columns:
        needed |= {p for p in plan.parent_id if p is not None}
    tree.load(needed)
    meta = {}
    for j in order:
        person = int(ids[j])
        if has_columns and plan.position[j] is not None:
            parent_key = plan.parent_row[j]
            parent_id = int(ids[parent_key]) if parent_key >= 0 else plan.parent_id[j]
            tree.plan(person, Target(tree.node(parent_id), plan.position[j]))
            meta[person] = (IMPORT_RULE, reason)
        else:
            sponsor = tree.node(int(sponsor_ids[j]))
            tree.plan(person, target_for(tree, sponsor, policy.auto_rule))
            tree.count_recruit(int(sponsor_ids[j]))
            meta[person] = (policy.auto_rule, reason)
    write_planned(tree, meta, now=now, by=by, history=False)
    zone = company_zone()
    start_us = {
        d: to_epoch_us(dt.datetime.combine(d, dt.time(0), tzinfo=zone)) for d in set(joined)
    }
    planned = {node.id: node for node in tree.planned}
    record_changes(
        {
            "distributor_id": ids,
            "new_parent_id": np.array([planned[int(i)].parent_id for i in ids], dtype=np.int64),
            "new_position": np.array([planned[int(i)].position for i in ids], dtype=np.int64),
            "tree": TreeKind.PLACEMENT,
            "kind": TreeChangeKind.PLACEMENT,
            "reason": reason,
            "by_id": None if by is None else by.pk,
            "at": now,
            "effective_at": np.fromiter((start_us[d] for d in joined), dtype=np.int64, count=n),
        }
    )
    return n
