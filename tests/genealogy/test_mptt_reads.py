"""django-mptt's reads stay right on gapped labels, after placements, moves and roll-ups."""

import pytest

from genealogy.models import Distributor
from genealogy.services import move_distributor, terminate_distributor
from tests.factories import assert_tree_matches_sponsor_links, house, make_chain, make_distributor

pytestmark = pytest.mark.django_db


def downline_by_links(root_id: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for node, sponsor in Distributor.objects.filter(placed_at__isnull=False).values_list(
        "id", "sponsor_id"
    ):
        children.setdefault(sponsor, []).append(node)
    found, stack = set(), [root_id]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def upline_by_links(node_id: int) -> list[int]:
    sponsor = dict(Distributor.objects.values_list("id", "sponsor_id"))
    line, current = [], sponsor[node_id]
    while current is not None:
        line.append(current)
        current = sponsor[current]
    return line[::-1]


def assert_mptt_reads_match_the_links() -> None:
    for person in Distributor.objects.filter(placed_at__isnull=False):
        below = downline_by_links(person.pk)
        assert {d.pk for d in person.get_descendants()} == below
        assert person.downline_size == len(below)
        assert [a.pk for a in person.get_ancestors()] == upline_by_links(person.pk)
        assert person.is_leaf_node() == (not below)
        children = list(person.get_children())
        assert all(c.sponsor_id == person.pk for c in children)
        assert {c.pk for c in children} == set(
            Distributor.objects.filter(sponsor=person, placed_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        lfts = [c.lft for c in children]
        assert lfts == sorted(lfts)  # children come in placement order, by lft


def test_mptt_reads_follow_placements_moves_and_roll_ups():
    a = make_chain(4)
    b = make_chain(3)
    for _ in range(3):
        make_distributor(sponsor=a[1])
    assert_mptt_reads_match_the_links()
    move_distributor(distributor=a[1], new_sponsor=b[2], reason="test", by=None)
    assert_mptt_reads_match_the_links()
    terminate_distributor(distributor=b[0], roll_up_recruits=True, reason="test", by=None)
    assert_mptt_reads_match_the_links()
    assert [c.pk for c in house().get_children()][-1] == b[1].pk  # rolled up, last
    assert_tree_matches_sponsor_links()
