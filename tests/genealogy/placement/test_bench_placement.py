"""The placement benchmark runs end to end on a small company and never replaces a real tree."""

from __future__ import annotations

import io

import pytest

from genealogy import bench_placement
from genealogy.bulk_placement import seed_placement_tree
from genealogy.demo import seed_company
from genealogy.models import Placement
from tests.factories import house

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(bench_placement, "BATCH", 20)
    monkeypatch.setattr(bench_placement, "DEEP_LEG", 30)
    monkeypatch.setattr(bench_placement, "LEG", 10)


def test_the_benchmark_places_a_batch_by_every_rule_and_leaves_a_valid_tree(small_batches):
    house()
    seed_company(distributors=120, seed=4)
    out = io.StringIO()

    figures = bench_placement.run_placement_bench(out, 120)

    assert figures["deep_leg"] >= 30
    assert set(figures["rules"]) == set(bench_placement.BENCH_RULES)
    assert all(rule["placed"] == 20 for rule in figures["rules"].values())
    assert figures["move"]["people"] > 1
    assert figures["check_valid"]
    assert Placement.objects.filter(placed_at__isnull=True).count() == 0
    assert "integrity check" in out.getvalue()
    # A second run replaces the benchmark's own tree.
    again = bench_placement.run_placement_bench(io.StringIO(), 120)
    assert again["check_valid"] and again["people"] == figures["people"] + 6 * 20


def test_the_benchmark_refuses_a_placement_tree_it_did_not_build(small_batches):
    house()
    seed_company(distributors=30, seed=4)
    seed_placement_tree()

    with pytest.raises(bench_placement.PlacementBenchRefused, match="did not build"):
        bench_placement.run_placement_bench(io.StringIO(), 30)
    assert Placement.objects.count() == 31
