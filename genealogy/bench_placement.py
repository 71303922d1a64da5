"""Figures for the placement tree at the company's size. Prints, never asserts.

`run_placement_bench(stdout, size)` works on the company in the database (`bench_genealogy`
calls it at each size after its own phases; `manage.py bench_placement` runs it alone):

1. builds a binary placement tree over every placed distributor, with an outer-left leg more
   than 10,000 deep when the company has the people for it (numpy shape, `labels.spread`, one
   binary COPY: `genealogy.bulk_placement`); an existing placement tree is replaced;
2. for each rule, signs up 1,000 new people (the real path: `create_distributor`, which puts
   them in the placement tree's wait) under sponsors drawn from the whole tree, a tenth of them
   the house and a fifth people on the deep leg, and places them with `place_batch`: the batch
   time and the rows the batch wrote (PostgreSQL's own counters for the transaction);
3. moves a placement leg of about 1,000 people across the tree and back;
4. runs the placement integrity check.

The tables are vacuumed between phases (autovacuum may be off). The plan's placement section
is replaced for the run by a binary policy (the benchmark company may have no plan at all) and
restored afterwards. Returns the figures, so a caller can compare two sizes
(`print_comparison`).
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import User
from core.bulk import read_columns, vacuum_and_analyze

from . import policy as genealogy_policy
from .bulk_placement import build_binary_placement, joined_moments_us, write_placement_tree
from .models import Distributor, Placement, TreeChange, TreeKind
from .placement.integrity import check_placement_tree
from .placement.services import move_placement, place_batch
from .policy import PlacementPolicy
from .services import create_distributor, fold_downline_counts, place_pending_distributors

BATCH = 1_000
DEEP_LEG = 10_500  # people on the outer-left leg below the house, when the company has them
LEG = 1_000  # the moved leg's people
BENCH_RULES = (
    "outermost_left",
    "outermost_right",
    "weaker_leg_people",
    "weaker_leg_volume",
    "alternate",
    "breadth_first",
)
POLICY = PlacementPolicy.from_mapping(
    {"kind": "binary", "rule": "holding_tank", "auto_rule": "weaker_leg_people", "tank_days": 7}
)
BUILDER_REASON = "Placed by the benchmark's builder"
PASSWORD = make_password("bench-password-not-used")  # noqa: S106 - hashed once, reused


@contextmanager
def binary_plan() -> Iterator[PlacementPolicy]:
    """The benchmark's binary placement policy in force for the block, whatever the plan says."""
    previous = genealogy_policy._policy_provider  # noqa: SLF001 - restored below
    genealogy_policy.register_policy_provider(lambda at=None: POLICY)
    try:
        yield POLICY
    finally:
        genealogy_policy.register_policy_provider(previous)


@contextmanager
def rows_written(figures: dict[str, int]) -> Iterator[None]:
    """Rows inserted, updated and deleted in the placement and history tables by the block,
    from PostgreSQL's counters of the block's own transaction (the block runs in one)."""
    with transaction.atomic():
        yield
        if connection.vendor == "postgresql":
            tables = [Placement._meta.db_table, TreeChange._meta.db_table]
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del"
                    " FROM pg_stat_xact_user_tables WHERE relname = ANY(%s)",
                    [tables],
                )
                for name, inserted, updated, deleted in cursor.fetchall():
                    key = "placement" if name == tables[0] else "history"
                    figures[key] = int(inserted + updated + deleted)


def run_placement_bench(stdout: TextIO, size: int, *, seed: int = 1) -> dict[str, Any]:
    """Measure the placement tree of the company in the database (about ``size`` people)."""
    rng = np.random.default_rng(seed)
    figures: dict[str, Any] = {"size": size}

    def add(what: str, figure: str) -> None:
        stdout.write(f"  placement tree: {what}: {figure}")

    refuse_a_real_placement_tree()
    with binary_plan() as policy:
        place_pending_distributors()
        vacuum_and_analyze(User, Distributor, Placement, TreeChange)
        built, deep = build_tree()
        figures.update(people=built.rows, depth=built.max_level, deep_leg=deep, build=built.seconds)
        add(
            f"built over {built.rows:,} people (numpy + spread + COPY + history)",
            f"{built.seconds:.1f} s; depth {built.max_level:,}, outer-left leg {deep:,} deep",
        )
        sponsors = sponsor_pool(rng, deep)
        figures["rules"] = {}
        for rule in BENCH_RULES:
            vacuum_and_analyze(User, Distributor, Placement, TreeChange)
            people = sign_up_waiting(rng.choice(sponsors, size=BATCH))
            written: dict[str, int] = {}
            started = time.perf_counter()
            with rows_written(written):
                result = place_batch(people, rule)
            ms = (time.perf_counter() - started) * 1000
            # The uplines' counts: the fold the worker runs after the batch, timed apart.
            started = time.perf_counter()
            folded = fold_downline_counts().placement
            fold_ms = (time.perf_counter() - started) * 1000
            figures["rules"][rule] = {
                "ms": ms,
                "placed": result.placed,
                "fold_ms": fold_ms,
                "fold_counts": folded.counts_written if folded else 0,
                **written,
            }
            add(
                f"place {BATCH:,} waiting people by {rule}",
                f"{ms:.0f} ms, {result.placed:,} placed, rows written: "
                + (
                    f"{written.get('placement', 0):,} placement + "
                    f"{written.get('history', 0):,} history"
                    if written
                    else "n/a"
                )
                + f"; then the count fold: {fold_ms:.0f} ms"
                f" ({figures['rules'][rule]['fold_counts']:,} uplines' counts)",
            )
        vacuum_and_analyze(Placement, TreeChange)
        figures["move"] = measure_move(add, deep)
        vacuum_and_analyze(Placement, TreeChange)
        report = check_placement_tree(policy)
        figures["check"] = report.seconds
        figures["check_valid"] = report.is_valid
        add(
            "integrity check",
            f"{report.seconds:.1f} s ({'valid' if report.is_valid else 'PROBLEMS'}: "
            f"{report.nodes:,} placed, {report.waiting:,} waiting)",
        )
        if not report.is_valid:
            for problem in report.problems:
                add("problem", f"{problem.description} ({problem.count})")
    return figures


class PlacementBenchRefused(ValueError):
    """The database holds a placement tree the benchmark did not build: it is never replaced."""


def refuse_a_real_placement_tree() -> None:
    """The benchmark replaces the placement tree: only one it built itself (the house's latest
    placement is the builder's), or none."""
    if not Placement.objects.exists():
        return
    house = Distributor.objects.get(is_house=True)
    latest = (
        TreeChange.objects.filter(tree=TreeKind.PLACEMENT, distributor=house)
        .order_by("-at", "-id")
        .values_list("reason", flat=True)
        .first()
    )
    if latest != BUILDER_REASON:
        raise PlacementBenchRefused(
            "This database has a placement tree the benchmark did not build, and the benchmark "
            "replaces it: run it on a benchmark database (e.g. a fresh one seeded by "
            "bench_genealogy or seed_company)."
        )


def build_tree():
    """Replace the placement tree with one over every placed distributor: the first DEEP_LEG
    people in the sponsor tree's preorder form the house's outer-left leg (each one's sponsor
    is above them on it), everyone else is placed under their sponsor by the demo's spillover
    shape. Returns the build and the outer-left leg's depth."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute(f"TRUNCATE {Placement._meta.db_table}")
        else:
            cursor.execute(f"DELETE FROM {Placement._meta.db_table}")  # noqa: S608
    vacuum_and_analyze(Placement)
    columns = "CAST(id AS bigint), CAST(COALESCE(sponsor_id, -1) AS bigint), CAST(lft AS bigint)"
    sql = f"SELECT {columns} FROM {Distributor._meta.db_table} WHERE placed_at IS NOT NULL"  # noqa: S608
    ids, sponsors, lft = read_columns(sql, {}, ["int8", "int8", "int8"])
    preorder = np.argsort(lft, kind="stable")  # the house first, every sponsor before recruits
    ids, sponsors = ids[preorder], sponsors[preorder]
    n = len(ids)
    by_id = np.argsort(ids, kind="stable")
    index_of_sponsor = np.full(n, -1, dtype=np.int64)
    has_sponsor = sponsors >= 0
    index_of_sponsor[has_sponsor] = by_id[np.searchsorted(ids[by_id], sponsors[has_sponsor])]
    deep = min(DEEP_LEG, max(0, (n - 1) // 2))
    placer = index_of_sponsor.copy()
    chain = np.arange(1, deep + 1)
    placer[chain] = chain - 1  # each one under the previous: inside their sponsor's downline
    order_key = np.ones(n, dtype=np.int64)
    order_key[chain] = 0  # the leg's next person is the first recruit of the one above
    parent_index, positions = build_binary_placement(placer, order_key=order_key)
    parent_ids = np.where(parent_index >= 0, ids[np.maximum(parent_index, 0)], -1)
    with transaction.atomic():
        built = write_placement_tree(
            ids,
            parent_ids,
            positions,
            placed_us=joined_moments_us(ids),
            reason=BUILDER_REASON,
        )
    vacuum_and_analyze(Placement, TreeChange)
    outer = Placement.objects.filter(outer_left_top=int(ids[0])).order_by("-level").first()
    return built, int(outer.level) if outer else 0


def sponsor_pool(rng: np.random.Generator, deep: int) -> np.ndarray:
    """Sponsors for the new people: the house a tenth of the time, a person on the deep leg
    a fifth, anyone placed otherwise."""
    house = Distributor.objects.get(is_house=True).pk
    everyone = np.array(
        Placement.objects.filter(placed_at__isnull=False).values_list("pk", flat=True)
    )
    leg = np.array(
        Placement.objects.filter(outer_left_top=house, level__gt=0)
        .order_by("level")
        .values_list("pk", flat=True)[: max(deep, 1)]
    )
    draws = 1_000
    pool = rng.choice(everyone, size=draws)
    pool[: draws // 10] = house
    if len(leg):
        pool[draws // 10 : draws * 3 // 10] = rng.choice(leg, size=draws * 2 // 10)
    return pool


def sign_up_waiting(sponsor_ids: np.ndarray) -> list[int]:
    """New distributors signed up the way people sign up (in one transaction, so the
    outbox relays once), placed in the sponsor tree, and waiting in the placement tree's
    holding tank."""
    ids = []
    with transaction.atomic():
        for sponsor_id in sponsor_ids.tolist():
            user = User.objects.create(
                email=f"bench-{uuid.uuid4().hex}@bench.invalid",
                name="Bench Person",
                password=PASSWORD,
            )
            person = create_distributor(user=user, sponsor=Distributor(pk=sponsor_id))
            ids.append(person.pk)
    place_pending_distributors()
    return ids


def measure_move(add, deep: int) -> dict[str, float]:
    """Move a placement leg of about LEG people (off the deep leg) under a free position far
    away, and back."""
    house = Distributor.objects.get(is_house=True).pk
    leg = (
        Placement.objects.filter(
            descendants__range=(LEG - LEG // 10, LEG + LEG // 10), placed_at__isnull=False
        )
        .exclude(outer_left_top=house)
        .order_by("lft")
        .first()
    )
    if leg is None:
        leg = (
            Placement.objects.filter(descendants__lt=LEG, level__gt=0)
            .exclude(outer_left_top=house)
            .order_by("-descendants")
            .first()
        )
    if leg is None:
        add("move a leg", "skipped (no leg to move)")
        return {}
    target = (
        Placement.objects.filter(child_count__lt=2, placed_at__isnull=False)
        .exclude(lft__gte=leg.lft, lft__lte=leg.rght)
        .order_by("-lft")
        .first()
    )
    taken = set(Placement.objects.filter(parent_id=target.pk).values_list("position", flat=True))
    position = 0 if 0 not in taken else 1
    person = Distributor.objects.get(pk=leg.pk)
    old_parent = Distributor.objects.get(pk=leg.parent_id)
    started = time.perf_counter()
    move_placement(
        distributor=person,
        new_parent=Distributor.objects.get(pk=target.pk),
        position=position,
        reason="benchmark",
        by=None,
    )
    there = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    move_placement(
        distributor=person,
        new_parent=old_parent,
        position=leg.position,
        reason="benchmark",
        by=None,
    )
    back = (time.perf_counter() - started) * 1000
    add(
        f"move a leg of {leg.descendants + 1:,} people across the tree and back",
        f"{there:.0f} ms there, {back:.0f} ms back",
    )
    return {"people": leg.descendants + 1, "there": there, "back": back}


def print_comparison(stdout: TextIO, small: dict[str, Any], large: dict[str, Any]) -> None:
    """The placement figures at two sizes side by side, with the batch ratio per rule."""
    stdout.write("")
    stdout.write(
        f"Placement tree: {small['people']:,} and {large['people']:,} people "
        f"(outer-left leg {small['deep_leg']:,} and {large['deep_leg']:,} deep)"
    )
    stdout.write(f"| what | {small['size']:,} | {large['size']:,} | ratio |")
    stdout.write("|---|---|---|---|")
    for rule in BENCH_RULES:
        a, b = small["rules"].get(rule), large["rules"].get(rule)
        if not a or not b:
            continue
        stdout.write(
            f"| place {BATCH:,} by {rule} (rows written) | {a['ms']:.0f} ms "
            f"({a.get('placement', 0) + a.get('history', 0):,}) | {b['ms']:.0f} ms "
            f"({b.get('placement', 0) + b.get('history', 0):,}) | {b['ms'] / a['ms']:.2f}× |"
        )
    folds = [
        (small["rules"][rule].get("fold_ms"), large["rules"][rule].get("fold_ms"))
        for rule in BENCH_RULES
        if rule in small["rules"] and rule in large["rules"]
    ]
    if folds and all(a is not None and b is not None for a, b in folds):
        stdout.write(
            "| the count fold after each batch (the worker's, not the batch's), median "
            f"| {statistics.median(a for a, _ in folds):.0f} ms "
            f"| {statistics.median(b for _, b in folds):.0f} ms | |"
        )
    if small.get("move") and large.get("move"):
        stdout.write(
            f"| move a leg ({small['move']['people']:,} / {large['move']['people']:,} people) "
            f"| {small['move']['there']:.0f} ms | {large['move']['there']:.0f} ms | |"
        )
    stdout.write(f"| build the tree | {small['build']:.1f} s | {large['build']:.1f} s | |")
    stdout.write(f"| integrity check | {small['check']:.2f} s | {large['check']:.1f} s | |")
