import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone

from genealogy.integrity import check_tree
from genealogy.models import Distributor
from tests.factories import assert_tree_matches_sponsor_links, house, make_chain, make_distributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def company():
    chain = make_chain(4)
    side = [make_distributor(sponsor=chain[0]) for _ in range(3)]
    return {"chain": chain, "side": side}


def check(capsys, *, fix: bool = False) -> tuple[bool, str]:
    try:
        call_command("check_genealogy", fix=fix)
        passed = True
    except CommandError:
        passed = False
    return passed, capsys.readouterr().out


def test_a_consistent_tree_passes(company, capsys):
    passed, out = check(capsys)
    assert passed and "consistent" in out
    assert "8 distributors (0 waiting" in out


def test_a_shifted_range_is_reported_with_examples_and_fixed(company, capsys):
    # Given a row whose labels were moved by hand out of its parent's interval
    victim = company["chain"][2]
    parent = Distributor.objects.get(pk=victim.parent_id)
    Distributor.objects.filter(pk=victim.pk).update(lft=parent.rght + 1, rght=parent.rght + 2)
    # When the tree is checked, the problem and the person are reported, with a failing exit
    passed, out = check(capsys)
    assert not passed
    assert "not strictly inside the parent's interval" in out and str(victim.number) in out
    assert "crossing" in out
    # And --fix renumbers it from the sponsor links
    passed, out = check(capsys, fix=True)
    assert passed and "consistent" in out
    assert_tree_matches_sponsor_links()


def test_each_kind_of_problem_is_named():
    chain = make_chain(3)
    Distributor.objects.filter(pk=chain[2].pk).update(level=9)
    Distributor.objects.filter(pk=chain[1].pk).update(parent_id=house().pk)
    Distributor.objects.filter(pk=chain[0].pk).update(rght=F("lft"))
    report = check_tree()
    described = {p.description: p for p in report.problems}
    assert chain[2].number in described["level is not the parent's level + 1"].examples
    assert described["placed position (parent) is not the sponsor"].examples == [chain[1].number]
    assert "lft is not below rght" in described
    assert "a label is used twice" in described


def test_a_wrong_stored_downline_count_is_caught_and_fixed(company, capsys):
    leader = company["chain"][0]
    Distributor.objects.filter(pk=leader.pk).update(descendants=F("descendants") + 1)
    described = {p.description: p for p in check_tree().problems}
    assert described["the stored downline count (descendants) is wrong"].examples == [leader.number]
    passed, _ = check(capsys, fix=True)
    assert passed
    assert Distributor.objects.get(pk=leader.pk).downline_size == 6


def test_a_sponsor_changed_behind_the_services_back_is_caught(company):
    chain, side = company["chain"], company["side"]
    Distributor.objects.filter(pk=chain[3].pk).update(sponsor_id=side[0].pk)
    report = check_tree()
    assert not report.is_valid
    assert {p.description: p.examples for p in report.problems} == {
        "placed position (parent) is not the sponsor": [chain[3].number]
    }


def test_people_waiting_too_long_are_reported_and_placed_by_fix(company, capsys, settings):
    settings.LADDER_PLACEMENT_MAX_PENDING_MINUTES = 5
    recent = make_distributor(place=False)
    stuck = make_distributor(place=False)
    Distributor.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=6)
    )
    report = check_tree()
    assert report.pending == 2
    assert [(p.description, p.examples) for p in report.problems] == [
        ("waiting for placement longer than allowed", [stuck.number])
    ]
    passed, _ = check(capsys, fix=True)
    assert passed
    assert Distributor.objects.get(pk=recent.pk).is_placed


def test_a_sponsor_loop_is_reported_and_not_renumbered(company, capsys):
    a, b = company["side"][:2]
    Distributor.objects.filter(pk=a.pk).update(sponsor_id=b.pk)
    Distributor.objects.filter(pk=b.pk).update(sponsor_id=a.pk)
    passed, out = check(capsys, fix=True)
    assert not passed
    assert "loop" in out and str(a.number) in out
