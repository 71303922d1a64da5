"""Gapped nested-set labels (genealogy.labels) on a small table of their own."""

from __future__ import annotations

import os

import numpy as np
import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy import downline_counts, labels
from genealogy.labels import LabelSpace

DEEP_CHAIN = int(os.environ.get("LADDER_DEEP_CHAIN", "20000"))
SPACE = LabelSpace(
    table="label_test", scope_sql="tree = 1", id_column="id", parent_column="parent_id", tree="test"
)


@pytest.fixture
def table(db):
    yield from _table()


@pytest.fixture
def committed_table(transactional_db):
    """The same, each statement committed (a long test in one transaction keeps every dead
    row version of the relabelled windows in the indexes)."""
    yield from _table()


def _table():
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS label_test")
        cursor.execute(
            "CREATE TABLE label_test (id bigint PRIMARY KEY, parent_id bigint, lft bigint,"
            " rght bigint, level integer, descendants integer, tree integer)"
        )
        cursor.execute("CREATE INDEX label_test_lft ON label_test (tree, lft)")
        cursor.execute("CREATE INDEX label_test_rght ON label_test (tree, rght)")
    tree = Tree()
    tree.add_root()
    yield tree
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE label_test")


class Tree:
    """The table, and the shape it should have (parent links, children in insertion order)."""

    def __init__(self) -> None:
        self.parent: dict[int, int | None] = {}
        self.children: dict[int, list[int]] = {}
        self.next_id = 1

    def add_root(self, lft: int | None = None, rght: int | None = None) -> int:
        root = self.next_id
        self.next_id += 1
        lft, rght = (lft, rght) if lft else (labels.UNIVERSE // 3, 2 * labels.UNIVERSE // 3)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO label_test VALUES (%s, NULL, %s, %s, 0, 0, 1)", [root, lft, rght]
            )
        self.parent[root] = None
        self.children[root] = []
        return root

    def row(self, node: int) -> tuple[int, int, int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT lft, rght, level FROM label_test WHERE id = %s", [node])
            return cursor.fetchone()

    def add_leaf(self, parent: int, *, count_descendants: bool = True) -> int:
        node = self.next_id
        self.next_id += 1
        _, parent_rght, parent_level = self.row(parent)
        point = labels.last_child_point(SPACE, parent_rght)
        ((lft, rght),) = labels.allocate(SPACE, [(point, 2)])
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO label_test VALUES (%s, %s, %s, %s, %s, 0, 1)",
                [node, parent, lft, rght, parent_level + 1],
            )
        if count_descendants:
            labels.add_descendants(SPACE, {parent: 1})
        self.parent[node] = parent
        self.children[node] = []
        self.children[parent].append(node)
        return node

    def move(self, node: int, new_parent: int) -> None:
        labels.move_subtree(SPACE, node_id=node, new_parent_id=new_parent)
        self.children[self.parent[node]].remove(node)
        self.children[new_parent].append(node)
        self.parent[node] = new_parent

    def in_subtree(self, node: int, root: int) -> bool:
        while node is not None:
            if node == root:
                return True
            node = self.parent[node]
        return False

    def read(self) -> np.ndarray:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, COALESCE(parent_id, -1), lft, rght, level, descendants"
                " FROM label_test WHERE tree = 1 ORDER BY id"
            )
            return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 6)

    def assert_valid(self, *, descendants: bool = True) -> None:
        downline_counts.fold(SPACE)  # moves leave the uplines' counts as waiting rows
        rows = self.read()
        problems = labels.check_labels(
            rows[:, 0],
            rows[:, 1],
            rows[:, 2],
            rows[:, 3],
            level=rows[:, 4],
            descendants=rows[:, 5] if descendants else None,
        )
        assert [description for description, _ in problems] == []
        # The shape equals the parent links, children in insertion order (by lft).
        by_id = {int(r[0]): r for r in rows}
        assert {i: (None if r[1] < 0 else int(r[1])) for i, r in by_id.items()} == self.parent
        for node, kids in self.children.items():
            assert sorted(kids, key=lambda k: by_id[k][2]) == kids, node


def test_a_leaf_goes_last_under_its_parent_and_writes_only_itself_when_there_is_room(table):
    root = 1
    a = table.add_leaf(root)
    b = table.add_leaf(root)
    before = table.read()
    c = table.add_leaf(a)
    after = table.read()
    assert labels.last_allocation.windows == 0
    # Only the descendants of a and the root changed, no label of anyone else.
    assert np.array_equal(before[:, 2:4], after[: len(before), 2:4])
    lft = {int(r[0]): int(r[2]) for r in after}
    assert lft[root] < lft[a] < lft[c] < lft[b]
    table.assert_valid()


def test_a_deep_chain_of_inserts_at_one_point_stays_valid_and_relabels_small_windows(
    committed_table,
):
    table = committed_table
    # Each new person is the only child of the previous one: every insert lands right after
    # the newest lft. (Downline counts are left out: each insert would walk the whole chain.)
    node, (point, _, level) = 1, table.row(1)
    windows, relabelled = 0, 0
    for _ in range(DEEP_CHAIN if connection.vendor == "postgresql" else 2_000):
        ((lft, rght),) = labels.allocate(SPACE, [(point, 2)])
        windows += labels.last_allocation.windows
        relabelled += labels.last_allocation.relabelled
        child = table.next_id
        table.next_id += 1
        level += 1
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO label_test VALUES (%s, %s, %s, %s, %s, 0, 1)",
                [child, node, lft, rght, level],
            )
        table.parent[child], table.children[child] = node, []
        table.children[node].append(child)
        node, point = child, lft
    table.assert_valid(descendants=False)
    inserts = table.next_id - 2
    assert windows > 0  # the gap ran out and windows were relabelled
    # Amortized: a few dozen labels per insert, far from rewriting the tree each time.
    assert relabelled / inserts < 64


def test_a_relabel_touches_only_its_window(table):
    # Two subtrees far apart; squeezing inserts into one never moves the other's labels.
    root = 1
    left = table.add_leaf(root)
    right = table.add_leaf(root)
    far = [table.add_leaf(right) for _ in range(20)]
    far_before = {n: table.row(n)[:2] for n in [right, *far]}
    node = left
    for _ in range(300):
        node = table.add_leaf(node)
    assert {n: table.row(n)[:2] for n in [right, *far]} == far_before
    table.assert_valid()


def test_allocate_spreads_several_requests_and_repeated_points(table):
    root = 1
    a = table.add_leaf(root)
    lft_a, rght_a, _ = table.row(a)
    first, second, third = labels.allocate(SPACE, [(lft_a, 2), (rght_a, 4), (lft_a, 2)])
    lft_a, rght_a, _ = table.row(a)
    assert lft_a < first[0] < first[1] < third[0] < third[1] < rght_a
    assert rght_a < second[0] < second[1] < second[2] < second[3] < table.row(root)[1]


def test_allocate_relabels_a_full_gap_and_keeps_handed_out_labels_in_order(table):
    # A tree whose labels are packed tight: every gap is 1, so every request needs a window.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE label_test SET lft = 10, rght = 11 WHERE id = 1")
    table.children[1] = []
    points = [10, 10]
    out = labels.allocate(SPACE, [(p, 3) for p in points])
    lft, rght, _ = table.row(1)
    values = [v for group in out for v in group]
    assert lft < values[0] and values == sorted(values) and values[-1] < rght
    assert len(set(values)) == 6


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.sampled_from(["leaf", "chain", "move"]), st.integers(0, 10_000)),
        min_size=1,
        max_size=40,
    )
)
def test_random_inserts_chains_and_moves_keep_a_valid_nesting_equal_to_the_links(table, ops):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM label_test")
    table.__init__()
    # A tight start, so windows are relabelled often.
    table.add_root(lft=1 << 20, rght=(1 << 20) + 7)
    for kind, pick in ops:
        nodes = sorted(table.parent)
        if kind == "leaf":
            table.add_leaf(nodes[pick % len(nodes)])
        elif kind == "chain":
            node = nodes[pick % len(nodes)]
            for _ in range(1 + pick % 30):
                node = table.add_leaf(node)
        else:
            movable = [n for n in nodes if table.parent[n] is not None]
            if not movable:
                continue
            node = movable[pick % len(movable)]
            targets = [
                n for n in nodes if not table.in_subtree(n, node) and n != table.parent[node]
            ]
            if targets:
                table.move(node, targets[(pick // 7) % len(targets)])
        table.assert_valid()


def test_spread_gives_a_gapped_numbering_ordered_by_the_key():
    ids = np.array([1, 2, 3, 4])
    parents = np.array([-1, 1, 1, 2])
    numbering = labels.spread(ids, parents, order_key=np.array([0, 5, 1, 0]))
    lft = dict(zip(numbering.ids.tolist(), numbering.lft.tolist(), strict=True))
    rght = dict(zip(numbering.ids.tolist(), numbering.rght.tolist(), strict=True))
    assert lft[1] < lft[3] < rght[3] < lft[2] < lft[4] < rght[4] < rght[2] < rght[1]
    assert (
        min(
            b - a
            for a, b in zip(
                sorted([*lft.values(), *rght.values()])[:-1],
                sorted([*lft.values(), *rght.values()])[1:],
                strict=True,
            )
        )
        > 1 << 58
    )
    assert (
        labels.check_labels(
            numbering.ids,
            numbering.parent_ids,
            numbering.lft,
            numbering.rght,
            level=numbering.level,
        )
        == []
    )


def test_check_labels_finds_crossing_intervals_and_wrong_counts():
    ids = np.array([1, 2, 3])
    parents = np.array([-1, 1, 1])
    # 2 and 3 cross: (20, 40) and (30, 50), both inside the root.
    found = labels.check_labels(
        ids,
        parents,
        np.array([10, 20, 30]),
        np.array([100, 40, 50]),
        descendants=np.array([2, 0, 1]),
    )
    descriptions = {d for d, _ in found}
    assert any("crossing" in d for d in descriptions)
    assert any("descendants" in d for d in descriptions)
