"""Everything that writes the placement tree: the holding tank, batches, hand placement, moves.

A distributor enrolled in a company whose plan has a placement tree gets a `Placement` row at
once (`enter_tank`, called by `genealogy.services.create_distributor`): waiting, with a
deadline when their sponsor places by hand (the holding tank), else due at the next batch.
`place_pending_placements` places everyone due in one batch: the rules decide in memory
(`rules.PlannedTree`), the labels of all new nodes come from one `labels.allocate` call, and the
rows, the parents' child counts, the ancestors' `descendants` and the history are written
set-based. Writers take this tree's own transaction-scoped advisory lock.

Placement is final once done for the sponsor; only a staff move (`move_placement`, audited with
a reason) changes it, leg and all.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.periods import Period

from .. import downline_counts
from ..history import HistoryError, record_change, record_changes, validate_effective_moment
from ..labels import PLACEMENT_TREE, allocate
from ..models import Distributor, Placement, TreeChangeKind, TreeKind
from ..policy import HOLDING_TANK, RULE_LABELS, RULES, PlacementPolicy, leg_volumes
from ..policy import placement_policy as policy_at
from .rules import LEFT, RIGHT, Node, PlacementRuleError, PlannedTree, Target, target_for

if TYPE_CHECKING:
    from accounts.models import User

PLACEMENT_LOCK_KEY = 0x1ADDE9  # advisory lock of the placement tree's writers
# Due people read by one batch; the rest wait for the next (a batch runs every few seconds).
BATCH_LIMIT = 20_000
# Nodes shown on a preview's path between the sponsor and the new parent (deep legs elide).
PATH_SHOWN = 8
LATE_PASS_ATTEMPTS = 1_000  # passes (or lock waits) for recruits whose sponsor came later
HAND_RULE = HOLDING_TANK  # the rule recorded for a sponsor's own placement from the tank


class PlacementError(ValueError):
    """A placement or move the genealogy refuses, with the reason a person should read."""


def acquire_placement_lock(*, wait: bool) -> bool:
    """Take the transaction-scoped placement-tree lock (PostgreSQL); always granted elsewhere."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PLACEMENT_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PLACEMENT_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def position_label(position: int | None, width: int) -> str:
    if position is None:
        return "—"
    if width == 2:
        return "left" if position == 0 else "right"
    return f"position {position + 1} of {width}"


# --- The tank ---------------------------------------------------------------------------------


def rule_for_recruit(policy: PlacementPolicy, sponsor_rule: str) -> str:
    """The rule that places a new recruit of a sponsor whose own choice is ``sponsor_rule``."""
    return policy.rule_for(sponsor_rule)


def enter_tank(
    distributor: Distributor,
    *,
    now: dt.datetime | None = None,
    policy: PlacementPolicy | None = None,
) -> Placement | None:
    """Give a newly enrolled ``distributor`` their waiting placement row (nothing without a
    placement tree). One insert; safe to call twice (the existing row is returned)."""
    now = now or timezone.now()
    policy = policy or policy_at(now)
    if not policy.has_placement_tree or distributor.is_house:
        return None
    if Distributor._meta.get_field("sponsor").is_cached(distributor):
        sponsor_rule = distributor.sponsor.placement_rule if distributor.sponsor else ""
    else:
        sponsor_rule = (
            Distributor.objects.filter(pk=distributor.sponsor_id)
            .values_list("placement_rule", flat=True)
            .first()
            or ""
        )
    rule = rule_for_recruit(policy, sponsor_rule)
    deadline = now + dt.timedelta(days=policy.tank_days) if rule == HOLDING_TANK else None
    placement, _ = Placement.objects.get_or_create(
        distributor_id=distributor.pk,
        defaults={"entered_tank_at": now, "tank_deadline": deadline, "rule": rule},
    )
    return placement


def choose_sponsor_rule(*, sponsor: Distributor, rule: str, now: dt.datetime | None = None) -> str:
    """Record the rule ``sponsor`` picks for their own recruits ("" = the company's), where the
    plan lets sponsors choose; their recruits still waiting follow it from now on."""
    now = now or timezone.now()
    policy = policy_at(now)
    if rule and rule not in policy.rules_for_sponsors():
        raise PlacementError("The company does not let sponsors choose that rule.")
    Distributor.objects.filter(pk=sponsor.pk).update(placement_rule=rule)
    effective = rule_for_recruit(policy, rule)
    waiting = Placement.objects.filter(placed_at__isnull=True, distributor__sponsor_id=sponsor.pk)
    if effective == HOLDING_TANK:
        for placement in waiting.filter(tank_deadline__isnull=True):
            Placement.objects.filter(pk=placement.pk).update(
                rule=effective,
                tank_deadline=max(now, placement.entered_tank_at)
                + dt.timedelta(days=policy.tank_days),
            )
    else:
        waiting.update(rule=effective, tank_deadline=None)
    return effective


def ensure_placement_root(*, now: dt.datetime | None = None) -> int:
    """The house's node, the root of the placement tree, created when the tree starts."""
    now = now or timezone.now()
    house_id = Distributor.objects.filter(is_house=True).values_list("pk", flat=True).get()
    if Placement.objects.filter(distributor_id=house_id, placed_at__isnull=False).exists():
        return house_id
    ((lft, rght),) = allocate(PLACEMENT_TREE, [(0, 2)])
    Placement.objects.update_or_create(
        distributor_id=house_id,
        defaults={
            "parent": None,
            "position": None,
            "lft": lft,
            "rght": rght,
            "level": 0,
            "descendants": 0,
            "child_count": 0,
            "outer_left_top": house_id,
            "outer_right_top": house_id,
            "entered_tank_at": now,
            "tank_deadline": None,
            "placed_at": now,
            "rule": "",
        },
    )
    record_change(
        kind=TreeChangeKind.PLACEMENT,
        tree=TreeKind.PLACEMENT,
        distributor_id=house_id,
        new_parent_id=None,
        reason="The placement tree starts at the house",
        at=now,
    )
    return house_id


# --- Batches ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    placed: int
    waiting: int = 0  # due, but their sponsor is not placed yet
    method: str = "placed"  # "placed", "none", "no_tree" or "locked"
    seconds: float = 0.0
    placed_ids: list[int] = field(default_factory=list)


def due_rule(row_rule: str, policy: PlacementPolicy) -> str:
    """The rule that places a due row now: its own, or the company's deadline rule for a tank
    entry (and for a rule the plan no longer allows)."""
    rule = row_rule or policy.rule
    if rule == HOLDING_TANK or policy.kind not in RULES.get(rule, ()):
        return policy.auto_rule
    return rule


def place_pending_placements(*, now: dt.datetime | None = None) -> BatchResult:
    """One batch: everyone due (automatic rules, and tank entries past their deadline) whose
    sponsor is placed or placed in this batch. Safe to run twice: the second finds nobody."""
    started = timezone.now()
    now = now or started
    with transaction.atomic():
        if not acquire_placement_lock(wait=False):
            return BatchResult(0, method="locked")
        policy = policy_at(now)
        if not policy.has_placement_tree:
            return BatchResult(0, method="no_tree")
        ensure_placement_root(now=now)
        sponsor_node = "distributor__sponsor__placement__"
        ready_sponsor = Q(**{f"{sponsor_node}placed_at__isnull": False}) | Q(
            Q(**{f"{sponsor_node}tank_deadline__isnull": True})
            | Q(**{f"{sponsor_node}tank_deadline__lte": now}),
            **{f"{sponsor_node}distributor__isnull": False},
        )
        due = list(
            Placement.objects.filter(placed_at__isnull=True)
            .filter(Q(tank_deadline__isnull=True) | Q(tank_deadline__lte=now))
            .filter(ready_sponsor)
            .order_by("distributor_id")
            .values_list("distributor_id", "distributor__sponsor_id", "rule", "tank_deadline")[
                :BATCH_LIMIT
            ]
        )
        if not due:
            return BatchResult(0, method="none")
        items = [
            (
                person_id,
                sponsor_id,
                due_rule(rule, policy),
                _batch_reason(rule, deadline, policy),
            )
            for person_id, sponsor_id, rule, deadline in due
            if sponsor_id is not None
        ]
        placed = _place_by_rules(items, policy=policy, now=now, by=None)
    seconds = (timezone.now() - started).total_seconds()
    return BatchResult(len(placed), len(items) - len(placed), "placed", seconds, placed)


def _batch_reason(rule: str, deadline, policy: PlacementPolicy) -> str:
    applied = due_rule(rule, policy)
    if (rule or policy.rule) == HOLDING_TANK and deadline is not None:
        return f"Placed at the holding tank's deadline: {RULE_LABELS[applied]}"
    return f"Placed by rule: {RULE_LABELS[applied]}"


def place_batch(
    person_ids: Sequence[int], rule: str, *, now: dt.datetime | None = None, by: User | None = None
) -> BatchResult:
    """Place the given waiting people by ``rule`` in one batch (the benchmark's entry point;
    staff tools). People already placed, or whose sponsor is not placed, are left as they are."""
    started = timezone.now()
    now = now or started
    with transaction.atomic():
        acquire_placement_lock(wait=True)
        policy = policy_at(now)
        if not policy.has_placement_tree:
            raise PlacementError("The plan in force has no placement tree.")
        if rule not in RULES or rule == HOLDING_TANK or policy.kind not in RULES[rule]:
            raise PlacementError(f"{rule!r} cannot place people in a {policy.kind} tree.")
        ensure_placement_root(now=now)
        rows = list(
            Placement.objects.filter(distributor_id__in=list(person_ids), placed_at__isnull=True)
            .order_by("distributor_id")
            .values_list("distributor_id", "distributor__sponsor_id")
        )
        reason = f"Placed by rule: {RULE_LABELS[rule]}"
        items = [(pid, sid, rule, reason) for pid, sid in rows if sid is not None]
        placed = _place_by_rules(items, policy=policy, now=now, by=by)
    seconds = (timezone.now() - started).total_seconds()
    return BatchResult(len(placed), len(items) - len(placed), "placed", seconds, placed)


def _place_by_rules(
    items: Iterable[tuple[int, int, str, str]],
    *,
    policy: PlacementPolicy,
    now: dt.datetime,
    by: User | None,
) -> list[int]:
    """Decide every item's target in memory (in order: sponsors placed earlier in the batch
    count), then write them all; returns the ids placed. Caller holds the lock."""
    items = list(items)
    tree = PlannedTree(width=policy.width, at=now)
    prefetch(tree, {sponsor_id for _, sponsor_id, _, _ in items}, {rule for *_, rule, _ in items})
    meta: dict[int, tuple[str, str]] = {}
    for person_id, sponsor_id, rule, reason in items:
        sponsor = tree.node(sponsor_id)
        if sponsor is None:
            continue  # the sponsor is not placed yet: the person waits
        tree.plan(person_id, target_for(tree, sponsor, rule))
        tree.count_recruit(sponsor_id)
        meta[person_id] = (rule, reason)
    write_planned(tree, meta, now=now, by=by)
    return list(meta)


def prefetch(tree: PlannedTree, sponsor_ids: set[int], rules: set[str]) -> None:
    """Read in a few queries what the batch's rules will ask of the stored tree: the
    sponsors, their children (and, for alternate, how many recruits each has placed), the
    bottoms of the outer runs the rules follow, and the children of those bottoms (for the new
    labels' insertion points)."""
    tree.load(sponsor_ids)
    sponsors = [tree.node(i) for i in sponsor_ids]
    sponsors = [s for s in sponsors if s is not None]
    tops = list(sponsors)
    if "alternate" in rules:
        tree.prefetch_recruits(sponsor_ids)
    if rules & {"weaker_leg_people", "weaker_leg_volume", "breadth_first"}:
        tree.load_children(sponsors)
        legs = [child for s in sponsors for child in tree.children(s).values()]
        tops += legs
        if "weaker_leg_volume" in rules:
            tree.prefetch_volumes(legs)
    if rules & {
        "outermost_left",
        "outermost_right",
        "alternate",
        "weaker_leg_people",
        "weaker_leg_volume",
    }:
        tree.prefetch_bottoms(tops, [LEFT, RIGHT])
        tree.load_children(tree.stored_bottoms())


def write_planned(
    tree: PlannedTree,
    meta: dict[int, tuple[str, str]],
    *,
    now: dt.datetime,
    by: User | None,
    history: bool = True,
) -> int:
    """Write the planned nodes of ``tree``: labels from one `allocate` call, the rows, the
    stored parents' child counts, the ancestors' descendants and the history (set-based)."""
    planned = tree.planned
    if not planned:
        return 0
    by_parent: dict[int, list[Node]] = defaultdict(list)
    for node in planned:
        by_parent[node.parent_id].append(node)
    for children in by_parent.values():
        children.sort(key=lambda n: n.position)
    planned_ids = {node.id for node in planned}
    # Groups: the planned children of stored parents, by the stored label they go after.
    groups: dict[int, list[Node]] = defaultdict(list)
    for node in planned:
        if node.parent_id not in planned_ids:
            groups[node.point].append(node)
    points = sorted(groups)
    for point in points:
        groups[point].sort(key=lambda n: n.position)
    requests = [(point, 2 * sum(n.planned_below + 1 for n in groups[point])) for point in points]
    allocated = allocate(PLACEMENT_TREE, requests)
    lft: dict[int, int] = {}
    rght: dict[int, int] = {}
    for point, labels in zip(points, allocated, strict=True):
        cursor = iter(labels)
        stack = [(node, False) for node in reversed(groups[point])]
        while stack:
            node, closing = stack.pop()
            if closing:
                rght[node.id] = next(cursor)
                continue
            lft[node.id] = next(cursor)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(by_parent.get(node.id, [])))
    ids = [node.id for node in planned]
    columns = {
        "distributor_id": ids,
        "parent_id": [node.parent_id for node in planned],
        "position": [node.position for node in planned],
        "lft": [lft[i] for i in ids],
        "rght": [rght[i] for i in ids],
        "level": [node.level for node in planned],
        "descendants": [node.planned_below for node in planned],
        "child_count": [node.planned_children for node in planned],
        "outer_left_top": [node.outer_left_top for node in planned],
        "outer_right_top": [node.outer_right_top for node in planned],
        "rule": [meta[i][0] for i in ids],
    }
    _update_placed_rows(columns, now=now, by_id=None if by is None else by.pk)
    stored_parents: dict[int, int] = defaultdict(int)
    below_stored: dict[int, int] = defaultdict(int)
    for node in planned:
        if node.parent_id not in planned_ids:
            stored_parents[node.parent_id] += 1
            below_stored[node.parent_id] += node.planned_below + 1
    _add_child_counts(stored_parents)
    downline_counts.record(PLACEMENT_TREE, below_stored)  # the uplines: folded later
    if history:
        reasons = [meta[i][1] for i in ids]
        record_changes(
            {
                "distributor_id": ids,
                "old_parent_id": None,
                "new_parent_id": columns["parent_id"],
                "new_position": columns["position"],
                "tree": TreeKind.PLACEMENT,
                "kind": TreeChangeKind.PLACEMENT,
                "reason": reasons[0] if len(set(reasons)) == 1 else reasons,
                "by_id": None if by is None else by.pk,
                "at": now,
                "effective_at": now,
            }
        )
    return len(planned)


_ROW_COLUMNS = (
    "parent_id",
    "position",
    "lft",
    "rght",
    "level",
    "descendants",
    "child_count",
    "outer_left_top",
    "outer_right_top",
    "rule",
)


def _update_placed_rows(columns: dict[str, list], *, now: dt.datetime, by_id: int | None) -> None:
    table = Placement._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types = ["bigint", "int", "bigint", "bigint", "int", "int", "int", "bigint", "bigint"]
            arrays = ", ".join(
                f"%({name})s::{kind}[]" for name, kind in zip(_ROW_COLUMNS, types, strict=False)
            )
            cursor.execute(
                f"""
                UPDATE {table} AS p
                   SET parent_id = u.parent_id, position = u.position, lft = u.lft,
                       rght = u.rght, level = u.level, descendants = u.descendants,
                       child_count = u.child_count, outer_left_top = u.outer_left_top,
                       outer_right_top = u.outer_right_top, rule = u.rule,
                       placed_at = %(now)s, placed_by_id = %(by)s
                  FROM unnest(%(distributor_id)s::bigint[], {arrays}, %(rule)s::text[])
                       AS u(distributor_id, {", ".join(_ROW_COLUMNS)})
                 WHERE p.distributor_id = u.distributor_id AND p.placed_at IS NULL
                """,  # noqa: S608 - table name from model meta, values are parameters
                {**columns, "now": now, "by": by_id},
            )
            return
        rows = zip(
            *(columns[name] for name in _ROW_COLUMNS), columns["distributor_id"], strict=True
        )
        assignments = ", ".join(f"{name} = %s" for name in _ROW_COLUMNS)
        cursor.executemany(
            f"UPDATE {table} SET {assignments}, placed_at = %s, placed_by_id = %s"  # noqa: S608
            " WHERE distributor_id = %s AND placed_at IS NULL",
            [(*row[:-1], now, by_id, row[-1]) for row in rows],
        )


def _add_child_counts(counts: dict[int, int]) -> None:
    if not counts:
        return
    table = Placement._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                UPDATE {table} AS p SET child_count = p.child_count + u.amount
                  FROM unnest(%s::bigint[], %s::int[]) AS u(node, amount)
                 WHERE p.distributor_id = u.node
                """,  # noqa: S608
                [list(counts), list(counts.values())],
            )
            return
        cursor.executemany(
            f"UPDATE {table} SET child_count = child_count + %s"  # noqa: S608
            " WHERE distributor_id = %s",
            [(amount, node) for node, amount in counts.items()],
        )


# --- The sponsor's own placement from the tank --------------------------------------------------


@dataclass(frozen=True)
class PathStep:
    distributor_id: int
    number: int
    name: str
    position: int | None


@dataclass(frozen=True)
class Preview:
    """Where a person lands: under ``parent`` at ``position``, ``level`` levels below the
    sponsor, by way of ``path`` (the sponsor first; ``skipped`` levels elided in between)."""

    parent_id: int
    parent_number: int
    position: int
    position_label: str
    level: int
    path: list[PathStep]
    skipped: int
    rule: str | None


def _check_recruit(sponsor: Distributor, person: Distributor) -> Placement:
    placement = Placement.objects.filter(distributor_id=person.pk).first()
    if person.sponsor_id != sponsor.pk:
        raise PlacementError(f"#{person.number} is not your recruit.")
    if placement is None:
        raise PlacementError(f"#{person.number} is not waiting for placement.")
    if placement.is_placed:
        raise PlacementError(f"#{person.number} is already placed: placement is final.")
    return placement


def _hand_target(tree: PlannedTree, sponsor: Node, parent_id: int, position: int | None) -> Target:
    parent = tree.node(parent_id)
    number = Distributor.objects.filter(pk=parent_id).values_list("number", flat=True).first()
    if parent is None:
        raise PlacementError(f"#{number} is not in the placement tree.")
    if not tree.is_inside(parent, sponsor):
        raise PlacementError(f"#{number} is not in your placement downline.")
    free = tree.free_positions(parent)
    if position is None:
        if not free:
            raise PlacementError(f"Every position under #{number} is taken.")
        return Target(parent, free[0])
    if not 0 <= position < tree.width:
        raise PlacementError(f"There is no position {position} under #{number}.")
    if position not in free:
        label = position_label(position, tree.width)
        raise PlacementError(f"The {label} position under #{number} is taken.")
    return Target(parent, position)


def preview_placement(
    *,
    sponsor: Distributor,
    person: Distributor,
    parent: Distributor | None = None,
    position: int | None = None,
    rule: str | None = None,
    now: dt.datetime | None = None,
) -> Preview:
    """Where ``person`` (the sponsor's waiting recruit) would land: under ``parent`` at
    ``position`` when given, else where ``rule`` (default: the company's deadline rule for a
    tank entry, or the person's own rule) puts them. Reads only; the batch writes the same."""
    now = now or timezone.now()
    policy = policy_at(now)
    if not policy.has_placement_tree:
        raise PlacementError("The plan in force has no placement tree.")
    placement = _check_recruit(sponsor, person)
    tree = PlannedTree(width=policy.width, at=now)
    sponsor_node = tree.node(sponsor.pk)
    if sponsor_node is None:
        raise PlacementError("You are not placed yet: your recruits wait until you are.")
    if parent is not None:
        target = _hand_target(tree, sponsor_node, parent.pk, position)
        rule = None
    else:
        rule = rule or due_rule(placement.rule, policy)
        if rule not in RULES or policy.kind not in RULES[rule] or rule == HOLDING_TANK:
            raise PlacementError(f"{rule!r} cannot place people in a {policy.kind} tree.")
        try:
            target = target_for(tree, sponsor_node, rule)
        except PlacementRuleError as error:
            raise PlacementError(str(error)) from error
    path, skipped = _path(sponsor_node, target.parent)
    number = Distributor.objects.filter(pk=target.parent.id).values_list("number", flat=True).get()
    return Preview(
        parent_id=target.parent.id,
        parent_number=number,
        position=target.position,
        position_label=position_label(target.position, policy.width),
        level=target.parent.level + 1 - sponsor_node.level,
        path=path,
        skipped=skipped,
        rule=rule,
    )


def _path(sponsor: Node, parent: Node) -> tuple[list[PathStep], int]:
    """The sponsor, then up to PATH_SHOWN nodes above and including ``parent``; the levels
    elided in between. One recursive query up the parent links (primary key lookups)."""
    table = Placement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(node, parent, steps) AS (
                SELECT distributor_id, parent_id, 0 FROM {table} WHERE distributor_id = %s
                UNION ALL
                SELECT p.distributor_id, p.parent_id, up.steps + 1 FROM {table} p
                  JOIN up ON p.distributor_id = up.parent
                 WHERE up.node <> %s AND up.steps < %s
            )
            SELECT node FROM up ORDER BY steps DESC
            """,  # noqa: S608 - table name from model meta, values are parameters
            [parent.id, sponsor.id, PATH_SHOWN],
        )
        chain = [row[0] for row in cursor.fetchall()]
    if sponsor.id not in chain:
        chain = [sponsor.id, *chain]
    rows = {
        row[0]: row[1:]
        for row in Distributor.objects.filter(pk__in=chain).values_list(
            "pk", "number", "user__name", "user__email", "placement__position"
        )
    }
    steps = [
        PathStep(i, rows[i][0], rows[i][1] or rows[i][2], rows[i][3]) for i in chain if i in rows
    ]
    skipped = max(0, (parent.level - sponsor.level + 1) - len(steps))
    return steps, skipped


def place_by_hand(
    *,
    sponsor: Distributor,
    person: Distributor,
    parent: Distributor,
    position: int | None,
    by: User | None,
    now: dt.datetime | None = None,
) -> Placement:
    """The sponsor places their waiting recruit under ``parent`` (in their own placement
    downline) at ``position`` (None: the first free one). Refuses someone else's recruit, a
    target outside the sponsor's downline, a taken position and a person already placed."""
    now = now or timezone.now()
    with transaction.atomic():
        acquire_placement_lock(wait=True)
        policy = policy_at(now)
        if not policy.has_placement_tree:
            raise PlacementError("The plan in force has no placement tree.")
        _check_recruit(sponsor, person)
        tree = PlannedTree(width=policy.width, at=now)
        sponsor_node = tree.node(sponsor.pk)
        if sponsor_node is None:
            raise PlacementError("You are not placed yet: your recruits wait until you are.")
        target = _hand_target(tree, sponsor_node, parent.pk, position)
        tree.plan(person.pk, target)
        write_planned(tree, {person.pk: (HAND_RULE, "Placed by the sponsor")}, now=now, by=by)
    return Placement.objects.get(pk=person.pk)


def place_by_rule_now(
    *,
    sponsor: Distributor,
    person: Distributor,
    rule: str,
    by: User | None,
    now: dt.datetime | None = None,
) -> Placement:
    """The sponsor places their waiting recruit now by ``rule`` (what the preview showed)."""
    now = now or timezone.now()
    with transaction.atomic():
        acquire_placement_lock(wait=True)
        policy = policy_at(now)
        _check_recruit(sponsor, person)
        if rule not in RULES or rule == HOLDING_TANK or policy.kind not in RULES[rule]:
            raise PlacementError(f"{rule!r} cannot place people in a {policy.kind} tree.")
        tree = PlannedTree(width=policy.width, at=now)
        sponsor_node = tree.node(sponsor.pk)
        if sponsor_node is None:
            raise PlacementError("You are not placed yet: your recruits wait until you are.")
        tree.plan(person.pk, target_for(tree, sponsor_node, rule))
        reason = f"Placed by the sponsor: {RULE_LABELS[rule]}"
        write_planned(tree, {person.pk: (rule, reason)}, now=now, by=by)
    return Placement.objects.get(pk=person.pk)


# --- Staff moves --------------------------------------------------------------------------------


def _clean_reason(reason: str) -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise PlacementError("Give a reason: every change to the genealogy is recorded with one.")
    return cleaned


def move_warnings(distributor: Distributor, *, now: dt.datetime | None = None) -> list[str]:
    """What a staff member should know before moving this placement leg."""
    now = now or timezone.now()
    placement = Placement.objects.filter(distributor_id=distributor.pk).first()
    if placement is None or not placement.is_placed:
        return []
    warnings = []
    if placement.placed_at < Period.containing(now).start:
        warnings.append(
            "This leg was placed before the current period: volume has already flowed through "
            "it, and closed months keep the tree as it stood."
        )
    volumes = leg_volumes([(placement.lft, placement.rght)], at=now)
    if volumes and volumes[0]:
        warnings.append(
            f"The leg has {volumes[0]} PV this period: moving it changes whose legs it counts in."
        )
    return warnings


def move_placement_check(
    *,
    distributor: Distributor,
    new_parent: Distributor,
    position: int,
    effective_at: dt.datetime | None = None,
) -> list[Period]:
    """Raise PlacementError if ``move_placement`` would refuse this move (the same checks it
    makes under the lock), so a form can say so before asking for confirmation; else return
    the open periods the move changes (from the effective moment's month to now's)."""
    now = timezone.now()
    _, _, periods = _refuse_move(
        distributor, new_parent, position, policy=policy_at(now), effective_at=effective_at, now=now
    )
    return periods


def _refuse_move(
    distributor: Distributor,
    new_parent: Distributor,
    position: int,
    *,
    policy: PlacementPolicy,
    effective_at: dt.datetime | None,
    now: dt.datetime,
) -> tuple[Placement, Placement, list[Period]]:
    rows = {p.pk: p for p in Placement.objects.filter(pk__in=[distributor.pk, new_parent.pk])}
    node, target = rows.get(distributor.pk), rows.get(new_parent.pk)
    if node is None or not node.is_placed:
        raise PlacementError(f"#{distributor.number} is not placed: nothing to move.")
    if node.parent_id is None:
        raise PlacementError("The house is the root of the placement tree and cannot move.")
    if target is None or not target.is_placed:
        raise PlacementError(f"#{new_parent.number} is not in the placement tree.")
    if node.lft <= target.lft <= node.rght:
        raise PlacementError(
            f"#{new_parent.number} is in the leg of #{distributor.number}: the move would "
            "make a loop."
        )
    if not 0 <= position < policy.width:
        raise PlacementError(f"There is no position {position} in a {policy.kind} tree.")
    if node.parent_id == target.pk and node.position == position:
        raise PlacementError(f"#{distributor.number} is already there.")
    if Placement.objects.filter(parent_id=target.pk, position=position).exists():
        label = position_label(position, policy.width)
        raise PlacementError(f"The {label} position under #{new_parent.number} is taken.")
    try:
        periods = validate_effective_moment(
            [node.pk],
            effective_at or now,
            tree=TreeKind.PLACEMENT,
            parent_ids=[target.pk],
            now=now,
        )
    except HistoryError as error:
        raise PlacementError(str(error)) from error
    return node, target, periods


def move_placement(
    *,
    distributor: Distributor,
    new_parent: Distributor,
    position: int,
    reason: str,
    by: User | None,
    effective_at: dt.datetime | None = None,
) -> Placement:
    """Move ``distributor``'s placement node with their whole leg under ``new_parent`` at
    ``position``. Staff only, audited with a reason, now or backdated into an open period.

    Refuses the root, a person not placed, a target inside the leg (a loop), and a taken
    position. The leg's labels are reallocated at the new place in one `allocate` call and
    rewritten in order; levels, parents' child counts, both ancestor lines' descendants and the
    leg's outer tops are updated set-based.
    """
    reason = _clean_reason(reason)
    if by is not None and not by.is_staff:
        raise PlacementError("Only staff move placements.")
    now = timezone.now()
    with transaction.atomic():
        acquire_placement_lock(wait=True)
        policy = policy_at(now)
        node, target, _ = _refuse_move(
            distributor, new_parent, position, policy=policy, effective_at=effective_at, now=now
        )
        old_parent_id, old_position = node.parent_id, node.position
        _move_leg(node, target, position, width=policy.width)
        record_change(
            kind=TreeChangeKind.MOVE,
            tree=TreeKind.PLACEMENT,
            distributor_id=node.pk,
            old_parent_id=old_parent_id,
            new_parent_id=target.pk,
            old_position=old_position,
            new_position=position,
            reason=reason,
            by_id=None if by is None else by.pk,
            at=now,
            effective_at=effective_at or now,
        )
    return Placement.objects.get(pk=distributor.pk)


def _move_leg(node: Placement, target: Placement, position: int, *, width: int) -> None:
    table = Placement._meta.db_table
    old_parent_id = node.parent_id
    leg_ids = list(
        Placement.objects.filter(lft__gte=node.lft, lft__lte=node.rght).values_list(
            "distributor_id", flat=True
        )
    )
    m = len(leg_ids)
    _add_child_counts({node.parent_id: -1})
    tree = PlannedTree(width=width)
    point = tree.insertion_point(tree.node(target.pk), position)
    (labels,) = allocate(PLACEMENT_TREE, [(point, 2 * m)])
    # A relabelled window may have moved the leg's own labels: read them again.
    leg = np.array(
        list(
            Placement.objects.filter(distributor_id__in=leg_ids).values_list(
                "distributor_id", "lft", "rght"
            )
        ),
        dtype=np.int64,
    ).reshape(-1, 3)
    old_values = np.concatenate([leg[:, 1], leg[:, 2]])
    rank = np.empty(2 * m, dtype=np.int64)
    rank[np.argsort(old_values, kind="stable")] = np.arange(2 * m)
    new_values = np.asarray(labels, dtype=np.int64)[rank]
    level_shift = target.level + 1 - node.level
    ids, lfts, rghts = leg[:, 0].tolist(), new_values[:m].tolist(), new_values[m:].tolist()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                UPDATE {table} AS p SET lft = u.lft, rght = u.rght, level = p.level + %s
                  FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(node, lft, rght)
                 WHERE p.distributor_id = u.node
                """,  # noqa: S608
                [level_shift, ids, lfts, rghts],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET lft = %s, rght = %s, level = level + %s"  # noqa: S608
                " WHERE distributor_id = %s",
                [(lf, rg, level_shift, i) for i, lf, rg in zip(ids, lfts, rghts, strict=True)],
            )
    moved = Placement.objects.get(pk=node.pk)
    new_left = target.outer_left_top if position == 0 else node.pk
    new_right = target.outer_right_top if position == width - 1 else node.pk
    in_leg = Q(lft__gte=moved.lft, lft__lte=moved.rght)
    if new_left != node.outer_left_top:
        Placement.objects.filter(in_leg, outer_left_top=node.outer_left_top).update(
            outer_left_top=new_left
        )
    if new_right != node.outer_right_top:
        Placement.objects.filter(in_leg, outer_right_top=node.outer_right_top).update(
            outer_right_top=new_right
        )
    Placement.objects.filter(pk=node.pk).update(parent_id=target.pk, position=position)
    _add_child_counts({target.pk: 1})
    downline_counts.record_move(
        PLACEMENT_TREE, leg_ids, source_id=old_parent_id, target_id=target.pk
    )


# --- A company that gets a placement tree ----------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    placed: int
    batches: int
    waiting: int


def build_placement_tree(
    *, batch_size: int = 1_000, progress: Callable[[str], object] = lambda _message: None
) -> BuildResult:
    """Place everyone without a placement row, in join order (joined_on, then id), by the
    plan's automatic rule, ``batch_size`` at a time (each batch its own transaction: a long
    run can be stopped and started again). People whose sponsor joined later wait for the
    sponsor's batch and are placed by a last pass."""
    policy = policy_at()
    if not policy.has_placement_tree:
        raise PlacementError("The plan in force has no placement tree.")
    placed = batches = 0
    total = Distributor.objects.filter(placement__isnull=True, is_house=False).count()
    while True:
        with transaction.atomic():
            acquire_placement_lock(wait=True)
            now = timezone.now()
            ids = list(
                Distributor.objects.filter(placement__isnull=True, is_house=False)
                .order_by("joined_on", "id")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            Placement.objects.bulk_create(
                [
                    Placement(distributor_id=pk, entered_tank_at=now, rule=policy.auto_rule)
                    for pk in ids
                ]
            )
        result = place_batch(ids, policy.auto_rule, now=now)
        placed += result.placed
        batches += 1
        progress(f"batch {batches:,}: {placed:,} of {total:,} placed")
    # Recruits whose sponsor came in a later batch: their rows are due now.
    for _attempt in range(LATE_PASS_ATTEMPTS):
        result = place_pending_placements()
        if result.method == "locked":  # the regular batch is running: try again shortly
            time.sleep(1)
            continue
        if result.placed == 0:
            break
        placed += result.placed
        batches += 1
        progress(f"batch {batches:,}: {placed:,} placed (late sponsors)")
    waiting = Placement.objects.filter(placed_at__isnull=True, tank_deadline__isnull=True).count()
    return BuildResult(placed, batches, waiting)
