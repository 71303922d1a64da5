"""import_genealogy's optional placement columns: placed where they say, errors by row."""

from __future__ import annotations

import io

import pytest

from genealogy.imports import import_genealogy
from genealogy.models import Distributor, Placement, TreeChange, TreeKind
from genealogy.placement.services import place_batch
from tests.factories import house

from .helpers import assert_consistent, join

pytestmark = pytest.mark.django_db

HEADER = "number,sponsor_number,name,email,joined,status,placement_parent,placement_leg\n"


def run(text: str):
    return import_genealogy(io.StringIO(text))


def where(number: int) -> tuple[int | None, int | None]:
    row = Placement.objects.select_related("parent__distributor").get(distributor__number=number)
    return (None if row.parent is None else row.parent.distributor.number), row.position


@pytest.fixture
def binary(placement_plan):
    return placement_plan(kind="binary", rule="holding_tank", auto_rule="outermost_left")


def test_rows_are_placed_where_the_columns_say_and_the_rest_by_the_company_rule(binary):
    top = house()
    report = run(
        HEADER + f"40000001,,Ann Top,ann@example.org,2025-01-01,active,{top.number},right\n"
        "40000002,40000001,Bob Below,bob@example.org,2025-02-01,active,40000001,1\n"
        "40000003,40000001,Cy Rule,cy@example.org,2025-03-01,active,,\n"
        "40000004,40000002,Di Deep,di@example.org,2025-03-02,active,40000002,left\n"
    )
    assert report.is_valid, report.errors
    assert where(40000001) == (top.number, 1)
    assert where(40000002) == (40000001, 1)
    assert where(40000003) == (40000001, 0)  # outermost left under the sponsor
    assert where(40000004) == (40000002, 0)
    assert not Placement.objects.filter(placed_at__isnull=True).exists()
    assert TreeChange.objects.filter(tree=TreeKind.PLACEMENT).count() == 5  # the house's too
    assert_consistent()


def test_bad_placement_rows_are_reported_by_line_and_nothing_is_written(binary):
    top = house()
    placed = join(top)  # waits in the tank (holding_tank), then placed: the house's left
    place_batch([placed.pk], "outermost_left")
    other = join(top)  # still waiting in the tank
    before = Distributor.objects.count()
    report = run(
        HEADER + f"50000001,,A,a@example.org,2025-01-01,active,{top.number},middle\n"
        f"50000002,,B,b@example.org,2025-01-01,active,{top.number},left\n"
        "50000003,,C,c@example.org,2025-01-01,active,99999999,left\n"
        f"50000004,{placed.number},D,d@example.org,2025-01-01,active,{top.number},right\n"
        "50000005,,E,e@example.org,2025-01-01,active,50000006,left\n"
        "50000006,,F,f@example.org,2025-01-01,active,50000005,left\n"
        f"50000007,{other.number},G,g@example.org,2025-01-01,active,,\n"
        f"50000008,,H,h@example.org,2025-01-01,active,{placed.number},left\n"
        f"50000009,,I,i@example.org,2025-01-01,active,{placed.number},left\n"
    )
    reasons = {error.line: error.reason for error in report.errors}
    assert "bad placement_leg 'middle'" in reasons[2]
    assert "is taken in the tree" in reasons[3]
    assert "neither in the file nor in the tree" in reasons[4]
    assert "outside the sponsor's placement downline" in reasons[5]
    assert "placement loop" in reasons[6] and "placement loop" in reasons[7]
    assert "not placed in the placement tree yet" in reasons[8]
    assert "taken (line 9)" in reasons[10]
    assert 9 not in reasons
    assert Distributor.objects.count() == before


def test_placement_columns_without_a_placement_tree_are_refused(placement_plan):
    placement_plan()  # kind none
    top = house()
    report = run(HEADER + f"60000001,,A,a@example.org,2025-01-01,active,{top.number},left\n")
    assert [e.reason for e in report.errors] == [
        "placement columns, but the plan has no placement tree"
    ]
