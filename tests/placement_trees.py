"""Hand-built placement trees for tests that read them (the access rule, the placement tree page,
the viewer): Placement rows written directly with valid gapped labels, whatever the placement
services do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from genealogy.models import Distributor, Placement

GAP = 16


def build_placement_tree(
    nodes: Sequence[tuple[Distributor, Distributor | None, int | None]], *, width: int = 2
) -> dict[int, Placement]:
    """Place ``(person, parent, position)`` rows (the root has no parent), parents first.

    Labels are spaced ``GAP`` apart, children in position order; ``descendants``,
    ``child_count`` and the outer-leg tops are filled in as the placement services keep them.
    Returns the rows by distributor id.
    """
    children: dict[int | None, list[tuple[int, int]]] = {}
    for person, parent, position in nodes:
        children.setdefault(parent.pk if parent else None, []).append((position or 0, person.pk))
    for kids in children.values():
        kids.sort()
    parent_of = {p.pk: (parent.pk if parent else None, pos) for p, parent, pos in nodes}
    labels: dict[int, list[int]] = {}
    levels: dict[int, int] = {}
    counter = 0

    def walk(node: int, level: int) -> int:
        nonlocal counter
        counter += GAP
        left = counter
        levels[node] = level
        size = 0
        for _, child in children.get(node, []):
            size += 1 + walk(child, level + 1)
        counter += GAP
        labels[node] = [left, counter, size]
        return size

    (root,) = [p.pk for p, parent, _ in nodes if parent is None]
    walk(root, 0)
    now = timezone.now()
    rows = {}
    tops_left: dict[int, int] = {}
    tops_right: dict[int, int] = {}
    for person, _parent, position in nodes:
        pk = person.pk
        parent_id, _ = parent_of[pk]
        tops_left[pk] = tops_left[parent_id] if parent_id and position == 0 else pk
        tops_right[pk] = tops_right[parent_id] if parent_id and position == width - 1 else pk
        lft, rght, size = labels[pk]
        rows[pk] = Placement(
            distributor_id=pk,
            parent_id=parent_id,
            position=position,
            lft=lft,
            rght=rght,
            level=levels[pk],
            descendants=size,
            child_count=len(children.get(pk, [])),
            outer_left_top=tops_left[pk],
            outer_right_top=tops_right[pk],
            placed_at=now,
        )
    Placement.objects.bulk_create(rows.values())
    return rows


def wait_in_tank(person: Distributor, *, days: int = 7) -> Placement:
    """A recruit waiting in the holding tank (no labels yet)."""
    now = timezone.now()
    return Placement.objects.create(
        distributor=person, entered_tank_at=now, tank_deadline=now + dt.timedelta(days=days)
    )
