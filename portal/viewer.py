"""Reads for the graphical genealogy viewer and the placement tree page (both trees).

Everything starts from a node the person may browse (`genealogy.selectors.visible_in_tree`, the
one access rule restricted to one tree): its children come a page at a time (keyset paging, a
fixed number of queries whatever the width of the node), a search looks only inside that node's
downline, and a path is read up the parent links from the person found to the node.

Figures on a node (this month): the paid-as rank, PV and GV of the open month's projection run
when there is one (one query for a whole page); without one, PV and GV read live for the page
(one set-based query over the nodes' nested-set ranges, cached a minute) and no rank. A card for
one person reads the dashboard's own month progress (`commissions.progress.month_progress`: PV,
GV, rank, biggest sponsor legs) when there is a projection, else the same live reads; in the
placement tree, each leg's volume this period comes from the orders app
(`genealogy.policy.leg_volumes`), cached a minute. Carried volume per leg is the binary
component's queue kept with the previous month's run (`commissions.selectors.carried_leg_volumes`).
Searches start from the people matching (`genealogy.selectors.search_downline`), never from a
walk of the whole range in label order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from commissions.calendar import CommissionCalendar, commission_calendar
from commissions.models import DistributorResult
from commissions.progress import LEGS_SHOWN, month_progress
from commissions.selectors import carried_leg_volumes
from core.fragments import names_generation
from genealogy.models import COMPANY_TREE_ID, Distributor, Placement, TreeKind
from genealogy.policy import PlacementPolicy, leg_volumes, placement_policy
from genealogy.selectors import (
    prime_downline_sizes,
    search_downline,
    team_root_for,
    visible_in_tree,
    with_team_counts,
)
from orders.volume import moved_lines_sql

TREES = (TreeKind.SPONSOR.value, TreeKind.PLACEMENT.value)
CHILDREN_PAGE = 50
SEARCH_RESULTS = 20
PATH_LIMIT = 100  # levels of a path opened at once; deeper, the viewer re-roots on the way
LIVE_SECONDS = 60


class ViewerInputError(ValueError):
    """A parameter the viewer cannot use, with the message a person should read."""


def parse_tree(raw: str | None) -> str:
    tree = raw or TreeKind.SPONSOR.value
    if tree not in TREES:
        raise ViewerInputError(f"tree: one of {', '.join(TREES)}")
    return tree


def parse_cursor(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ViewerInputError("after: a whole number from the previous page")
    return int(raw)


# --- Which node -------------------------------------------------------------------------------


def browse_root(user) -> Distributor:
    """Whose tree a person opens first: their own, or the house for staff without one."""
    root = team_root_for(user)
    if root is None:
        raise Http404("You have no team.")
    return root


def tree_node(user, tree: str, number: int) -> Distributor:
    """A person ``user`` may browse in ``tree``, or 404 (never 403)."""
    node = visible_in_tree(user, tree).select_related("user").filter(number=number).first()
    if node is None:
        raise Http404("No such distributor in your team.")
    return node


def is_in_tree(user, tree: str, person: Distributor) -> bool:
    return visible_in_tree(user, tree).filter(pk=person.pk).exists()


def placement_of(distributor: Distributor) -> Placement | None:
    """The distributor's node in the placement tree, or None (not placed, or no such tree)."""
    return Placement.objects.filter(distributor_id=distributor.pk, lft__isnull=False).first()


# --- Nodes as the viewer draws them -------------------------------------------------------------


def _rank_name(calendar: CommissionCalendar, rank: int) -> str | None:
    plan = calendar.plan
    if plan is None or rank <= 0 or rank > len(plan.ranks):
        return None
    return plan.ranks[rank - 1].name


def _cents(value) -> int:
    return int((value or Decimal(0)) * 100)


_LIVE_SQL = """
WITH nodes AS (
    SELECT id, lft, rght, tree_id, placed_at FROM genealogy_distributor WHERE {nodes}
),
members AS (
    SELECT nodes.id AS node_id, d.id AS member_id
    FROM nodes JOIN genealogy_distributor d
        ON d.tree_id = %(tree)s AND d.lft >= nodes.lft AND d.lft < nodes.rght
    WHERE nodes.placed_at IS NOT NULL AND nodes.tree_id = %(tree)s
    UNION ALL
    SELECT id, id FROM nodes WHERE placed_at IS NULL OR tree_id <> %(tree)s
),
moved AS (
{moved}
)
SELECT members.node_id, SUM(moved.pv),
    SUM(CASE WHEN moved.distributor_id = members.node_id THEN moved.pv ELSE 0 END)
FROM members JOIN moved ON moved.distributor_id = members.member_id
GROUP BY members.node_id
"""


def _live_figures(ids: list[int], calendar: CommissionCalendar) -> dict[int, tuple[int, int]]:
    """id -> (PV, GV) in cents this month, read live: one query for the ids not cached."""
    period = calendar.period
    keys = {pk: f"viewer:live:{period}:{pk}" for pk in ids}
    found = cache.get_many(list(keys.values()))
    figures = {pk: found[key] for pk, key in keys.items() if key in found}
    missing = [pk for pk in ids if pk not in figures]
    if missing:
        params: dict = {"tree": COMPANY_TREE_ID, "month": period.first_day}
        params.update({f"id{i}": pk for i, pk in enumerate(missing)})
        nodes = "id IN (" + ", ".join(f"%(id{i})s" for i in range(len(missing))) + ")"
        rows = _read_live(nodes, params)
        fresh = {pk: rows.get(pk, (0, 0)) for pk in missing}
        cache.set_many({keys[pk]: value for pk, value in fresh.items()}, LIVE_SECONDS)
        figures.update(fresh)
    return figures


def _read_live(nodes: str, params: dict) -> dict[int, tuple[int, int]]:
    sql = _LIVE_SQL.format(nodes=nodes, moved=moved_lines_sql(["distributor_id", "pv"]))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: (_cents(pv), _cents(gv)) for pk, gv, pv in cursor.fetchall()}


_RANGE_PV_SQL = """
WITH moved AS (
{moved}
)
SELECT d.lft, CAST(ROUND(SUM(moved.pv) * 100) AS BIGINT)
FROM moved JOIN genealogy_distributor d ON d.id = moved.distributor_id
WHERE d.tree_id = %(tree)s AND d.lft > %(lft)s AND d.lft < %(rght)s
GROUP BY d.lft
"""


def _biggest_legs_live(person: Distributor, calendar: CommissionCalendar) -> list[tuple[str, int]]:
    """(name, GV) of the person's biggest sponsor legs this month, read live and cached a
    minute: the PV of everyone in their range who bought this month (one query from the
    month's lines), bucketed into the direct recruits' ranges with numpy; waiting recruits
    (no range yet) count their own PV. Three queries however many recruits."""
    key = f"viewer:legs-live:{calendar.period}:{person.pk}:n{names_generation()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    recruits = list(
        Distributor.objects.filter(sponsor_id=person.pk)
        .order_by("lft")
        .values_list("pk", "lft", "rght", "placed_at", "tree_id")
    )
    placed = [r for r in recruits if r[3] is not None and r[4] == COMPANY_TREE_ID]
    gv = dict.fromkeys((r[0] for r in recruits), 0)
    if placed and person.is_placed:
        params = {
            "tree": COMPANY_TREE_ID,
            "month": calendar.period.first_day,
            "lft": person.lft,
            "rght": person.rght,
        }
        sql = _RANGE_PV_SQL.format(moved=moved_lines_sql(["distributor_id", "pv"]))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            bought = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
        starts = np.array([r[1] for r in placed], dtype=np.int64)
        ends = np.array([r[2] for r in placed], dtype=np.int64)
        leg = np.searchsorted(starts, bought[:, 0], side="right") - 1
        inside = (leg >= 0) & (bought[:, 0] < ends[np.maximum(leg, 0)])
        sums = np.bincount(leg[inside], weights=bought[inside, 1], minlength=len(placed))
        gv.update({r[0]: int(total) for r, total in zip(placed, sums, strict=True)})
    placed_ids = {r[0] for r in placed}
    waiting = [r[0] for r in recruits if r[0] not in placed_ids]
    if waiting:
        gv.update({pk: pv for pk, (pv, _) in _live_figures(waiting, calendar).items()})
    biggest = sorted(gv.items(), key=lambda item: (-item[1], item[0]))[:LEGS_SHOWN]
    shown = [(pk, total) for pk, total in biggest if total > 0]
    names = {
        d.pk: d.display_name
        for d in Distributor.objects.filter(pk__in=[pk for pk, _ in shown]).select_related("user")
    }
    legs = [(names[pk], total) for pk, total in shown]
    cache.set(key, legs, LIVE_SECONDS)
    return legs


def page_figures(ids: list[int], calendar: CommissionCalendar) -> dict[int, dict]:
    """This month's rank, PV and GV of each id: one query (projection) or one live query."""
    if not ids:
        return {}
    run = calendar.projection_run
    if run is not None:
        rows = DistributorResult.objects.filter(run=run, distributor_id__in=ids).values_list(
            "distributor_id", "pv", "gv", "paid_as_rank"
        )
        figures = {
            pk: {"pv": pv, "gv": gv, "rank": _rank_name(calendar, rank)}
            for pk, pv, gv, rank in rows
        }
        empty = {"pv": 0, "gv": 0, "rank": None}
        return {pk: figures.get(pk, empty) for pk in ids}
    live = _live_figures(ids, calendar)
    return {pk: {"pv": pv, "gv": gv, "rank": None} for pk, (pv, gv) in live.items()}


def leg_label(position: int | None, policy: PlacementPolicy) -> str:
    if position is None:
        return ""
    if policy.kind == "binary":
        return "Left" if position == 0 else "Right"
    return f"Position {position + 1}"


@dataclass(frozen=True)
class NodeRow:
    """One person as a tree shows them, before the figures are added."""

    distributor: Distributor
    people_below: int
    children: int
    position: int | None = None
    waiting: bool = False


def _payload(row: NodeRow, figures: dict, tree: str, policy: PlacementPolicy) -> dict[str, object]:
    person = row.distributor
    return {
        "number": person.number,
        "name": person.display_name,
        "status": person.status,
        "rank": figures.get("rank"),
        "pv": figures.get("pv", 0),
        "gv": figures.get("gv", 0),
        "people_below": row.people_below,
        "children": row.children,
        "position": row.position,
        "leg": leg_label(row.position, policy) if tree == TreeKind.PLACEMENT else "",
        "waiting": row.waiting,
        "url": reverse("team_member", args=[person.number]),
    }


def nodes_payload(rows: list[NodeRow], tree: str, *, calendar=None, policy=None) -> list[dict]:
    calendar = calendar or commission_calendar()
    policy = policy or placement_policy()
    figures = page_figures([row.distributor.pk for row in rows], calendar)
    return [_payload(row, figures.get(row.distributor.pk, {}), tree, policy) for row in rows]


def _sponsor_rows(queryset: QuerySet[Distributor]) -> list[NodeRow]:
    people = list(with_team_counts(queryset.select_related("user")))
    prime_downline_sizes(people)
    return [
        NodeRow(
            distributor=person,
            people_below=person.downline_size,
            children=person.direct_recruits,
            waiting=not person.is_placed,
        )
        for person in people
    ]


def _placement_rows(queryset: QuerySet[Placement]) -> list[NodeRow]:
    nodes = list(queryset.select_related("distributor__user"))
    prime_downline_sizes(nodes)
    return [
        NodeRow(
            distributor=node.distributor,
            people_below=node.downline_size,
            children=node.child_count,
            position=node.position,
        )
        for node in nodes
    ]


def rows_for(tree: str, ids: list[int]) -> list[NodeRow]:
    """The given people as ``tree`` shows them, in the order of ``ids`` (one query)."""
    if tree == TreeKind.PLACEMENT:
        rows = _placement_rows(Placement.objects.filter(distributor_id__in=ids, lft__isnull=False))
    else:
        rows = _sponsor_rows(Distributor.objects.filter(pk__in=ids))
    by_id = {row.distributor.pk: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


@dataclass(frozen=True)
class ChildrenPage:
    rows: list[NodeRow]
    next_cursor: int | None  # `after` for the next page, None on the last one


def children_page(
    node: Distributor, tree: str, *, after: int | None = None, limit: int = CHILDREN_PAGE
) -> ChildrenPage:
    """One page of ``node``'s children in ``tree``: by id (sponsor tree: their direct
    recruits, placed or waiting) or by position (placement tree), keyset-paged."""
    if tree == TreeKind.PLACEMENT:
        queryset = Placement.objects.filter(parent_id=node.pk, lft__isnull=False)
        if after is not None:
            queryset = queryset.filter(position__gt=after)
        rows = _placement_rows(queryset.order_by("position")[: limit + 1])
        key = lambda row: row.position  # noqa: E731
    else:
        queryset = Distributor.objects.filter(sponsor_id=node.pk)
        if after is not None:
            queryset = queryset.filter(pk__gt=after)
        rows = _sponsor_rows(queryset.order_by("pk")[: limit + 1])
        key = lambda row: row.distributor.pk  # noqa: E731
    more = len(rows) > limit
    rows = rows[:limit]
    return ChildrenPage(rows=rows, next_cursor=key(rows[-1]) if more else None)


def search(
    root: Distributor, tree: str, query: str, *, limit: int = SEARCH_RESULTS
) -> list[NodeRow]:
    """People matching ``query`` in ``root``'s downline in ``tree`` (``limit`` of them, by
    name)."""
    term = query.strip()
    if not term:
        return []
    ids = list(search_downline(root, tree, term).values_list("pk", flat=True)[:limit])
    rows = rows_for(tree, ids)
    return sorted(
        rows, key=lambda row: (row.distributor.display_name.lower(), row.distributor.number)
    )


_PATH_SQL = """
WITH RECURSIVE up(node, parent, depth) AS (
    SELECT {id}, {parent}, 0 FROM {table} WHERE {id} = %(target)s
    UNION ALL
    SELECT t.{id}, t.{parent}, up.depth + 1 FROM {table} t JOIN up ON t.{id} = up.parent
    WHERE up.node <> %(root)s AND up.depth < %(limit)s
)
SELECT node FROM up ORDER BY depth DESC
"""


def path_ids(root: Distributor, target: Distributor, tree: str, *, limit: int = PATH_LIMIT):
    """Ids from ``root`` (or, when deeper than ``limit`` levels, the ancestor ``limit`` levels
    up) down to ``target`` along the parent links of ``tree``: (ids, reaches_root)."""
    if tree == TreeKind.PLACEMENT:
        table, id_column, parent_column = "genealogy_placement", "distributor_id", "parent_id"
    else:
        table, id_column, parent_column = "genealogy_distributor", "id", "sponsor_id"
    sql = _PATH_SQL.format(table=table, id=id_column, parent=parent_column)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"target": target.pk, "root": root.pk, "limit": limit})
        ids = [row[0] for row in cursor.fetchall()]
    return ids, bool(ids) and ids[0] == root.pk


# --- One person's card ------------------------------------------------------------------------


@dataclass(frozen=True)
class LegFigures:
    position: int
    label: str
    top: Distributor | None
    people: int
    volume: Decimal | None  # PV this period; None when nothing provides it
    carried: Decimal | None  # carried into this period; None without a binary plan


def placement_legs(
    node: Placement, policy: PlacementPolicy, *, now: dt.datetime | None = None
) -> list[LegFigures]:
    """Every position under ``node`` (both legs of a binary tree, each position of a matrix):
    its top, people count, this period's volume and carried volume."""
    now = now or timezone.now()
    width = 2 if policy.kind != "matrix" else policy.width
    tops = {
        child.position: child
        for child in Placement.objects.filter(parent_id=node.pk, lft__isnull=False)
        .select_related("distributor__user")
        .order_by("position")
    }
    prime_downline_sizes(list(tops.values()))
    width = max([width, *(position + 1 for position in tops)])
    volumes = _leg_volumes_cached([tops[p] for p in sorted(tops)], now)
    calendar = commission_calendar(now)
    carried = carried_leg_volumes(distributor_id=node.distributor_id, period=calendar.period)
    legs = []
    for position in range(width):
        top = tops.get(position)
        legs.append(
            LegFigures(
                position=position,
                label=leg_label(position, policy) or f"Position {position + 1}",
                top=top.distributor if top else None,
                people=top.downline_size + 1 if top else 0,
                volume=(volumes.get(position) if top else Decimal("0.00"))
                if volumes is not None
                else None,
                carried=None if carried is None else Decimal(carried.get(position, 0)) / 100,
            )
        )
    return legs


def _leg_volumes_cached(tops: list[Placement], now: dt.datetime) -> dict[int, Decimal] | None:
    if not tops:
        return {}
    period = commission_calendar(now).period
    labels = [(top.lft, top.rght) for top in tops]
    key = f"viewer:legs:{period}:" + ",".join(f"{low}-{high}" for low, high in labels)
    cached = cache.get(key)
    if cached is not None:
        return cached
    volumes = leg_volumes(labels, at=now)
    if volumes is None:
        return None
    result = {top.position: volume for top, volume in zip(tops, volumes, strict=True)}
    cache.set(key, result, LIVE_SECONDS)
    return result


def card(person: Distributor, tree: str, *, now: dt.datetime | None = None) -> dict[str, object]:
    """What the viewer's card says about one person: this month's figures and legs.

    With a projection run: the dashboard's own month progress (rank, PV, GV, biggest legs).
    Without one: PV and GV read live like the children pages, no rank, and (sponsor tree) the
    biggest legs read live, each cached a minute, so a card at the top of a big company stays
    a couple of set-based queries.
    """
    now = now or timezone.now()
    calendar = commission_calendar(now)
    policy = placement_policy(now)
    if calendar.projection_run is not None:
        progress = month_progress(person, now=now, calendar=calendar)
        rank = progress.paid_as_rank_name if progress.paid_as_rank else None
        pv, gv, as_of = progress.pv, progress.gv, progress.as_of
        sponsor_legs = [(leg.name, leg.gv) for leg in progress.legs_shown]
    else:
        pv, gv = _live_figures([person.pk], calendar)[person.pk]
        rank, as_of = None, now
        sponsor_legs = _biggest_legs_live(person, calendar) if tree == TreeKind.SPONSOR else []
    data: dict[str, object] = {
        "number": person.number,
        "name": person.display_name,
        "status": person.get_status_display(),
        "rank": rank,
        "rank_is_estimated": False,
        "pv": pv,
        "gv": gv,
        "as_of": as_of.isoformat(),
        "people_below": person.downline_size,
        "url": reverse("team_member", args=[person.number]),
        "legs": [],
    }
    if tree == TreeKind.PLACEMENT:
        node = placement_of(person)
        data["people_below"] = node.downline_size if node else 0
        legs = placement_legs(node, policy, now=now) if node else []
        data["legs"] = [
            {
                "label": leg.label,
                "number": leg.top.number if leg.top else None,
                "people": leg.people,
                "volume": None if leg.volume is None else _cents(leg.volume),
                "carried": None if leg.carried is None else _cents(leg.carried),
            }
            for leg in legs
        ]
    else:
        data["legs"] = [
            {"label": name, "number": None, "people": None, "volume": leg_gv, "carried": None}
            for name, leg_gv in sponsor_legs
        ]
    return data
