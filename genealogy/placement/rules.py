"""Where each placement rule puts a recruit, under the sponsor's placement node.

The rules read a `PlannedTree`: the stored placement tree (read lazily by indexed lookups) plus
the nodes a batch has already planned, so a batch of a thousand people is decided in memory
and written in one go. No rule walks the tree row by row:

- the outermost node of a leg is the deepest node sharing the leg's outer top (one lookup on
  the index (outer_left_top, level), or (outer_right_top, level)), however deep the leg is;
- a leg's people are its top's stored `descendants` + 1, plus the waiting count rows inside it
  (`genealogy.downline_counts`, read once a batch) and what the batch planned inside;
- breadth first reads the sponsor's downline level by level through the (parent, position)
  index, stopping at the first level with a free position: it reads only the full levels
  above it (at most log_width(size of the downline) + 1 levels, and each at most once a
  batch).

Every rule keeps the recruit inside the sponsor's own placement downline: each starts at the
sponsor's node and only goes down.

Rules (`genealogy.policy.RULES` lists the tree kinds each works in):

- ``outermost_left`` / ``outermost_right``: the bottom of the sponsor's outer leg (position 0,
  or position width - 1 in a matrix).
- ``weaker_leg_people``: the sponsor's leg with fewer people; an empty position is the weakest
  leg of all (the recruit takes it, left first). Otherwise the recruit goes to the outermost
  position on that leg's own side (the bottom of the left leg's outer-left line, or of the
  right leg's outer-right line), the usual "weak leg, outside" placement that keeps both legs
  growing outward. A tie goes left.
- ``weaker_leg_volume``: the same with this period's volume of each leg (read through
  `genealogy.policy.leg_volumes`, which the orders app provides); an empty position is still
  weakest, equal volumes (or no volume reader) fall back to fewer people.
- ``alternate``: left, right, left... over the sponsor's own placed recruits, each to the
  outermost position of its side.
- ``breadth_first``: the first free position level by level under the sponsor, left to right
  (the usual matrix spillover).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.db.models import Count

from .. import downline_counts
from ..labels import PLACEMENT_TREE
from ..models import Distributor, Placement
from ..policy import HOLDING_TANK, leg_volumes

LEFT, RIGHT = "left", "right"
NODE_FIELDS = (
    "distributor_id",
    "parent_id",
    "position",
    "lft",
    "rght",
    "level",
    "descendants",
    "child_count",
    "outer_left_top",
    "outer_right_top",
)
# Parents whose children one query of breadth first reads.
CHILDREN_PER_QUERY = 5_000


class PlacementRuleError(ValueError):
    """A rule that cannot place here, with the reason a person should read."""


@dataclass
class Node:
    """One node of the placement tree: stored (with labels) or planned by this batch."""

    id: int
    parent_id: int | None
    position: int | None
    level: int
    outer_left_top: int
    outer_right_top: int
    lft: int | None = None
    rght: int | None = None
    descendants: int = 0
    child_count: int = 0
    # Planned nodes: the nearest stored ancestor, and the stored label right after which the
    # planned group is written.
    anchor_id: int | None = None
    point: int | None = None
    planned_below: int = 0
    planned_children: int = 0

    @property
    def is_planned(self) -> bool:
        return self.lft is None


@dataclass(frozen=True)
class Target:
    parent: Node
    position: int


@dataclass
class PlannedTree:
    """The stored placement tree, read on demand, plus this batch's planned nodes."""

    width: int
    at: dt.datetime | None = None
    _stored: dict[int, Node] = field(default_factory=dict)
    _stored_children: dict[int, dict[int, int]] = field(default_factory=dict)
    _planned: dict[int, Node] = field(default_factory=dict)
    _planned_children: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    _planned_by_level: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _planned_bottom: dict[tuple[str, int], int] = field(default_factory=dict)
    _anchor_lfts: list[int] = field(default_factory=list)
    _recruits: dict[int, int] = field(default_factory=dict)
    _volumes: dict[int, object] = field(default_factory=dict)
    _bfs_levels: dict[int, tuple[list[int], int]] = field(default_factory=dict)
    _stored_bottom: dict[tuple[str, int], int | None] = field(default_factory=dict)
    _waiting: tuple[np.ndarray, np.ndarray] | None = None  # uncounted people, read once

    # --- reading ------------------------------------------------------------------------------

    def load(self, ids: Iterable[int]) -> None:
        """Read the stored nodes of ``ids`` (those placed) in one query."""
        missing = [i for i in ids if i not in self._stored and i not in self._planned]
        if not missing:
            return
        for row in Placement.objects.filter(
            distributor_id__in=missing, placed_at__isnull=False
        ).values(*NODE_FIELDS):
            self._remember(row)

    def _remember(self, row: dict) -> Node:
        node = self._stored.get(row["distributor_id"])
        if node is None:
            node = Node(
                id=row["distributor_id"],
                parent_id=row["parent_id"],
                position=row["position"],
                level=row["level"],
                outer_left_top=row["outer_left_top"],
                outer_right_top=row["outer_right_top"],
                lft=row["lft"],
                rght=row["rght"],
                descendants=row["descendants"],
                child_count=row["child_count"],
            )
            self._stored[node.id] = node
        return node

    def node(self, node_id: int) -> Node | None:
        """The placed (or planned) node of ``node_id``; None while they are not placed."""
        if node_id in self._planned:
            return self._planned[node_id]
        if node_id not in self._stored:
            self.load([node_id])
        return self._stored.get(node_id)

    def stored_children(self, node: Node) -> dict[int, int]:
        """position -> id of ``node``'s stored children."""
        if node.is_planned or node.child_count == 0:
            return {}
        if node.id not in self._stored_children:
            children = {}
            for row in Placement.objects.filter(parent_id=node.id, placed_at__isnull=False).values(
                *NODE_FIELDS
            ):
                children[row["position"]] = self._remember(row).id
            self._stored_children[node.id] = children
        return self._stored_children[node.id]

    def children(self, node: Node) -> dict[int, Node]:
        """position -> child of ``node``, stored or planned."""
        found = {p: self._stored[i] for p, i in self.stored_children(node).items()}
        found.update({p: self._planned[i] for p, i in self._planned_children[node.id].items()})
        return found

    def child_count(self, node: Node) -> int:
        return node.child_count + node.planned_children

    def free_positions(self, node: Node) -> list[int]:
        taken = self.children(node)
        return [p for p in range(self.width) if p not in taken]

    def outer_bottom(self, node: Node, side: str) -> Node:
        """The outermost node of ``side`` below ``node`` (``node`` itself when that position is
        free): the deepest node sharing its outer top, stored or planned."""
        top = node.outer_left_top if side == LEFT else node.outer_right_top
        bottom = node
        if not node.is_planned:
            # The stored part of a run does not change during a batch: read once per run.
            if (side, top) not in self._stored_bottom:
                self.prefetch_bottoms([node], [side])
            stored_id = self._stored_bottom.get((side, top))
            if stored_id is not None and self._stored[stored_id].level > bottom.level:
                bottom = self._stored[stored_id]
        planned_id = self._planned_bottom.get((side, top))
        if planned_id is not None and self._planned[planned_id].level > bottom.level:
            bottom = self._planned[planned_id]
        return bottom

    def prefetch_bottoms(self, nodes: Iterable[Node], sides: Iterable[str]) -> None:
        """Read the stored bottom of the outer runs of ``nodes`` on ``sides`` at once (one
        query on PostgreSQL, a backward index scan per run; one query per run elsewhere)."""
        wanted: dict[str, set[int]] = {LEFT: set(), RIGHT: set()}
        for node in nodes:
            if node is None or node.is_planned:
                continue
            for side in sides:
                top = node.outer_left_top if side == LEFT else node.outer_right_top
                if (side, top) not in self._stored_bottom:
                    wanted[side].add(top)
        for side, tops in wanted.items():
            if not tops:
                continue
            column = "outer_left_top" if side == LEFT else "outer_right_top"
            for top in tops:
                self._stored_bottom[(side, top)] = None
            for row in _bottoms_of_runs(column, sorted(tops)):
                self._stored_bottom[(side, row[column])] = self._remember(row).id

    def stored_bottoms(self) -> list[Node]:
        return [self._stored[i] for i in self._stored_bottom.values() if i is not None]

    def people_in(self, node: Node) -> int:
        """People in the leg topped by ``node`` (the node and everyone below it)."""
        if node.is_planned:
            return 1 + node.planned_below
        planned = bisect.bisect_right(self._anchor_lfts, node.rght) - bisect.bisect_left(
            self._anchor_lfts, node.lft
        )
        if self._waiting is None:
            self._waiting = downline_counts.waiting_labels(PLACEMENT_TREE)
        waiting = int(downline_counts.sum_inside(*self._waiting, node.lft, node.rght))
        return node.descendants + waiting + 1 + planned

    def is_inside(self, node: Node, top: Node) -> bool:
        """Whether ``node`` is ``top`` or below it."""
        if node.id == top.id:
            return True
        if not top.is_planned:
            anchor = node if not node.is_planned else self._stored[node.anchor_id]
            return top.lft <= anchor.lft and anchor.rght <= top.rght
        current = node
        while current.is_planned and current.parent_id is not None:
            if current.parent_id == top.id:
                return True
            current = self.node(current.parent_id)
        return False

    def recruits_placed(self, sponsor: Node) -> int:
        """How many of the sponsor's own recruits are placed (stored and planned)."""
        if sponsor.id not in self._recruits:
            self.prefetch_recruits([sponsor.id])
        return self._recruits[sponsor.id]

    def prefetch_recruits(self, sponsor_ids: Iterable[int]) -> None:
        """The placed recruits of many sponsors with one grouped count."""
        wanted = [i for i in sponsor_ids if i not in self._recruits]
        if not wanted:
            return
        counts = dict(
            Distributor.objects.filter(sponsor_id__in=wanted, placement__placed_at__isnull=False)
            .order_by()  # mptt's default ordering would join the GROUP BY
            .values_list("sponsor_id")
            .annotate(placed=Count("pk"))
            .values_list("sponsor_id", "placed")
        )
        for sponsor_id in wanted:
            self._recruits[sponsor_id] = counts.get(sponsor_id, 0)

    def leg_volume(self, leg: Node):
        """This period's volume of the leg topped by ``leg`` (planned legs: none yet); None
        when nothing provides volume."""
        if leg.is_planned:
            return 0
        if leg.id not in self._volumes:
            self.prefetch_volumes([leg])
        return self._volumes[leg.id]

    def prefetch_volumes(self, legs: Iterable[Node]) -> None:
        """This period's volume of many stored legs with one call of the volume reader."""
        wanted = [leg for leg in legs if not leg.is_planned and leg.id not in self._volumes]
        if not wanted:
            return
        volumes = leg_volumes([(leg.lft, leg.rght) for leg in wanted], at=self.at)
        for index, leg in enumerate(wanted):
            self._volumes[leg.id] = None if volumes is None else volumes[index]

    def first_free(self, sponsor: Node) -> Target:
        """The first free position level by level under ``sponsor``, left to right.

        Breadth first over the levels: a level's nodes come in left-to-right order (each
        node's children in position order), the first one with a free position wins, and the
        next level is read with one query on the (parent, position) index per chunk of the
        level. The first level with a free position is remembered per sponsor for the rest of
        the batch (a level that is full stays full), so a batch reads each full level once.
        """
        level_nodes, start = self._bfs_levels.get(sponsor.id, ([sponsor.id], 0))
        while True:
            for index in range(start, len(level_nodes)):
                node = self.node(level_nodes[index])
                if self.child_count(node) < self.width:
                    # Nodes before this one are full and stay full: the next recruit of this
                    # sponsor starts here. The partly filled nodes ahead get their children in
                    # one query (their free positions and insertion points need them).
                    self._bfs_levels[sponsor.id] = (level_nodes, index)
                    if node.child_count and node.id not in self._stored_children:
                        ahead = level_nodes[index : index + CHILDREN_PER_QUERY]
                        self.load_children([self.node(i) for i in ahead])
                    return Target(node, self.free_positions(node)[0])
            nodes = [self.node(i) for i in level_nodes]
            start = 0
            self.load_children([n for n in nodes if not n.is_planned])
            below = []
            for node in nodes:
                children = self.children(node)
                below.extend(children[p].id for p in sorted(children))
            if not below:
                raise PlacementRuleError("No free position below the sponsor (check_genealogy).")
            level_nodes = below

    def load_children(self, nodes: list[Node]) -> None:
        """Read the stored children of many nodes at once (chunks of CHILDREN_PER_QUERY)."""
        missing = [
            n.id
            for n in nodes
            if not n.is_planned and n.child_count and n.id not in self._stored_children
        ]
        step = CHILDREN_PER_QUERY if connection.vendor == "postgresql" else 900  # SQLite's limit
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            for node_id in chunk:
                self._stored_children[node_id] = {}
            for row in Placement.objects.filter(
                parent_id__in=chunk, placed_at__isnull=False
            ).values(*NODE_FIELDS):
                self._stored_children[row["parent_id"]][row["position"]] = self._remember(row).id

    # --- planning -----------------------------------------------------------------------------

    def insertion_point(self, parent: Node, position: int) -> int:
        """The stored label right after which a new child of stored ``parent`` at ``position``
        is written: the rght of its nearest stored child with a smaller position, else its lft."""
        if position == 0 or parent.child_count == 0:
            return parent.lft  # no stored child before it: no query
        children = self.stored_children(parent)
        smaller = [p for p in children if p < position]
        if smaller:
            return self._stored[children[max(smaller)]].rght
        return parent.lft

    def plan(self, person_id: int, target: Target) -> Node:
        """Plan ``person_id`` at ``target`` (checked free): later rules in the batch see it."""
        parent, position = target.parent, target.position
        if position in self.children(parent):
            raise PlacementRuleError("That position is taken.")
        if parent.is_planned:
            anchor_id, point = parent.anchor_id, parent.point
        else:
            anchor_id = parent.id
            point = self.insertion_point(parent, position)
        node = Node(
            id=person_id,
            parent_id=parent.id,
            position=position,
            level=parent.level + 1,
            outer_left_top=parent.outer_left_top if position == 0 else person_id,
            outer_right_top=parent.outer_right_top if position == self.width - 1 else person_id,
            anchor_id=anchor_id,
            point=point,
        )
        self._planned[person_id] = node
        self._planned_children[parent.id][position] = person_id
        self._planned_by_level[node.level].append(person_id)
        parent.planned_children += 1
        current = parent
        while current.is_planned:
            current.planned_below += 1
            current = self.node(current.parent_id)
        bisect.insort(self._anchor_lfts, self._stored[anchor_id].lft)
        for side, top in ((LEFT, node.outer_left_top), (RIGHT, node.outer_right_top)):
            self._planned_bottom[(side, top)] = person_id
        return node

    def count_recruit(self, sponsor_id: int) -> None:
        if sponsor_id in self._recruits:
            self._recruits[sponsor_id] += 1

    @property
    def planned(self) -> list[Node]:
        return list(self._planned.values())


def _bottoms_of_runs(column: str, tops: list[int]) -> list[dict]:
    """The deepest stored node of each run (``column`` = its top): one LATERAL query on
    PostgreSQL (a backward scan of the (top, level) index per run), one query per run
    elsewhere."""
    if connection.vendor != "postgresql":
        rows = []
        for top in tops:
            row = (
                Placement.objects.filter(**{column: top}, placed_at__isnull=False)
                .order_by("-level")
                .values(*NODE_FIELDS)
                .first()
            )
            if row is not None:
                rows.append(row)
        return rows
    table = Placement._meta.db_table
    fields = ", ".join(f"p.{name}" for name in NODE_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT {fields} FROM unnest(%s::bigint[]) AS t(top)
            CROSS JOIN LATERAL (
                SELECT * FROM {table} q
                 WHERE q.{column} = t.top AND q.placed_at IS NOT NULL
                 ORDER BY q.level DESC LIMIT 1
            ) p
            """,  # noqa: S608 - names from model meta and constants, values are parameters
            [tops],
        )
        return [dict(zip(NODE_FIELDS, row, strict=True)) for row in cursor.fetchall()]


# --- The rules ------------------------------------------------------------------------------


def _outermost(tree: PlannedTree, top: Node, side: str) -> Target:
    bottom = tree.outer_bottom(top, side)
    return Target(bottom, 0 if side == LEFT else tree.width - 1)


def _weaker_leg(tree: PlannedTree, sponsor: Node, *, by_volume: bool) -> Target:
    legs = tree.children(sponsor)
    for position in range(tree.width):
        if position not in legs:  # an empty leg is the weakest
            return Target(sponsor, position)
    left, right = legs[0], legs[tree.width - 1]
    weaker = None
    if by_volume:
        left_volume, right_volume = tree.leg_volume(left), tree.leg_volume(right)
        if left_volume is not None and right_volume is not None and left_volume != right_volume:
            weaker = LEFT if left_volume < right_volume else RIGHT
    if weaker is None:
        weaker = LEFT if tree.people_in(left) <= tree.people_in(right) else RIGHT
    return _outermost(tree, left if weaker == LEFT else right, weaker)


def _alternate(tree: PlannedTree, sponsor: Node) -> Target:
    side = LEFT if tree.recruits_placed(sponsor) % 2 == 0 else RIGHT
    return _outermost(tree, sponsor, side)


def target_for(tree: PlannedTree, sponsor: Node, rule: str) -> Target:
    """Where ``rule`` puts a new recruit of ``sponsor`` (placed) in ``tree``."""
    if rule == "outermost_left":
        return _outermost(tree, sponsor, LEFT)
    if rule == "outermost_right":
        return _outermost(tree, sponsor, RIGHT)
    if rule == "weaker_leg_people":
        return _weaker_leg(tree, sponsor, by_volume=False)
    if rule == "weaker_leg_volume":
        return _weaker_leg(tree, sponsor, by_volume=True)
    if rule == "alternate":
        return _alternate(tree, sponsor)
    if rule == "breadth_first":
        return tree.first_free(sponsor)
    if rule == HOLDING_TANK:
        raise PlacementRuleError("The holding tank waits for the sponsor to place by hand.")
    raise PlacementRuleError(f"Unknown placement rule {rule!r}.")
