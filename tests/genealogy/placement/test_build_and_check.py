"""build_placement_tree for a company that switches plans, and check_genealogy's report."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from genealogy.models import Placement
from tests.factories import house, make_distributor

from .helpers import assert_consistent, inside, spot

pytestmark = pytest.mark.django_db


def test_a_company_switching_to_a_binary_plan_gets_everyone_placed_in_join_order(
    placement_plan, capsys
):
    placement_plan()  # no placement tree yet
    top = house()
    a = make_distributor(sponsor=top)
    b = make_distributor(sponsor=top)
    c = make_distributor(sponsor=a)
    d = make_distributor(sponsor=c)
    assert not Placement.objects.exists()

    placement_plan(kind="binary", rule="holding_tank", auto_rule="weaker_leg_people")
    call_command("build_placement_tree", batch=2)
    out = capsys.readouterr().out
    assert "Placed 4 people in 2 batches" in out and "batch 1: 2 of 4 placed" in out
    assert (spot(a), spot(b)) == ((top.pk, 0), (top.pk, 1))
    assert spot(c) == (a.pk, 0) and inside(d, c)
    assert_consistent()
    # Again: nobody is left to place.
    call_command("build_placement_tree")
    assert "Placed 0 people" in capsys.readouterr().out


def test_build_refuses_without_a_placement_tree(placement_plan):
    placement_plan()
    with pytest.raises(CommandError, match="no placement tree"):
        call_command("build_placement_tree")


def test_check_genealogy_reports_the_placement_tree_too(placement_plan, capsys):
    placement_plan(kind="binary", rule="outermost_left")
    top = house()
    person = make_distributor(sponsor=top)
    from genealogy.placement.services import place_pending_placements

    place_pending_placements()
    call_command("check_genealogy")
    out = capsys.readouterr().out
    assert "placement tree" in out.lower() and "consistent" in out.lower()
    Placement.objects.filter(pk=person.pk).update(child_count=3)
    with pytest.raises(CommandError):
        call_command("check_genealogy")
    assert "child_count" in capsys.readouterr().out
