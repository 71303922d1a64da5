"""Small builders for hand-made placement trees."""

from __future__ import annotations

from genealogy.models import Distributor, Placement
from genealogy.placement.integrity import check_placement_tree
from genealogy.placement.services import place_pending_placements
from tests.factories import house, make_distributor


def join(sponsor: Distributor | None = None, *, place: bool = True) -> Distributor:
    """A new distributor under ``sponsor`` (the house by default); placed in the placement
    tree by the batch unless ``place`` is False."""
    person = make_distributor(sponsor=sponsor or house())
    if place:
        place_pending_placements()
    return person


def spot(person: Distributor) -> tuple[int | None, int | None]:
    """(placement parent id, position) of ``person``."""
    row = Placement.objects.get(pk=person.pk)
    return row.parent_id, row.position


def node(person: Distributor) -> Placement:
    return Placement.objects.get(pk=person.pk)


def assert_consistent() -> None:
    report = check_placement_tree()
    assert report.is_valid, [(p.description, p.count, p.examples) for p in report.problems]


def inside(person: Distributor, top: Distributor) -> bool:
    a, b = node(person), node(top)
    return b.lft < a.lft and a.rght < b.rght
