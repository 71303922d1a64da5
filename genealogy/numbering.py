"""Nested-set numbering derived from parent links, computed with numpy (no per-node loop).

Children are ordered by `order_key` (e.g. the placement position, or the moment of placement),
then by id. `genealogy.labels.spread` spaces this numbering out into gapped labels.
"""

from dataclasses import dataclass

import numpy as np


class TreeShapeError(ValueError):
    """The parent links do not form a tree (a cycle, or a parent that does not exist)."""


@dataclass(frozen=True)
class Numbering:
    ids: np.ndarray
    lft: np.ndarray
    rght: np.ndarray
    level: np.ndarray
    parent_ids: np.ndarray
    descendants: np.ndarray | None = None  # people below each node


def depths(parent_index: np.ndarray) -> np.ndarray:
    """Distance to the root for every node, by pointer doubling: O(n log depth)."""
    n = len(parent_index)
    depth = (parent_index >= 0).astype(np.int64)
    ancestor = parent_index.copy()
    for _ in range(64):
        has_ancestor = ancestor >= 0
        if not has_ancestor.any():
            return depth
        hop = ancestor[has_ancestor]
        new_depth = depth.copy()
        new_depth[has_ancestor] += depth[hop]
        new_ancestor = ancestor.copy()
        new_ancestor[has_ancestor] = ancestor[hop]
        depth, ancestor = new_depth, new_ancestor
        if depth.max(initial=0) > n:
            break
    raise TreeShapeError("the parent links contain a cycle")


def depths_or_loops(parent_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth of every node, and a mask of nodes whose links never reach a root (loops): pointer
    doubling like `depths`, for checks that report loops instead of refusing them."""
    depth = (parent_index >= 0).astype(np.int64)
    ancestor = parent_index.copy()
    for _ in range(int(np.ceil(np.log2(max(len(parent_index), 2)))) + 2):
        has = ancestor >= 0
        if not has.any():
            break
        depth[has] += depth[ancestor[has]]
        ancestor[has] = ancestor[ancestor[has]]
    return depth, ancestor >= 0


def number_tree(
    ids: np.ndarray,
    parent_ids: np.ndarray,
    *,
    first_left: int = 1,
    order_key: np.ndarray | None = None,
) -> Numbering:
    """Number one tree. `parent_ids` holds -1 for the single root; siblings are ordered by
    `order_key` (one value per node, aligned with `ids`), then by id."""
    ids = np.asarray(ids, dtype=np.int64)
    parent_ids = np.asarray(parent_ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ids, parent_ids = ids[order], parent_ids[order]
    if order_key is None:
        sibling_rank = np.arange(len(ids))
    else:
        key = np.asarray(order_key)[order]
        sibling_rank = np.empty(len(ids), dtype=np.int64)
        sibling_rank[np.lexsort((ids, key))] = np.arange(len(ids))
    n = len(ids)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Numbering(empty, empty, empty, empty, empty, empty)
    parent_index = np.full(n, -1, dtype=np.int64)
    has_parent = parent_ids >= 0
    found = np.searchsorted(ids, parent_ids[has_parent])
    found_clipped = np.minimum(found, n - 1)
    if not np.array_equal(ids[found_clipped], parent_ids[has_parent]):
        raise TreeShapeError("a parent is not among the nodes")
    parent_index[has_parent] = found_clipped
    if int((~has_parent).sum()) != 1:
        raise TreeShapeError("a tree needs exactly one root")
    level = depths(parent_index)

    # Process by level; within a level, siblings are grouped by parent and ordered by rank.
    by_level = np.lexsort((sibling_rank, parent_index, level))
    level_sorted = level[by_level]
    bounds = np.searchsorted(level_sorted, np.arange(level_sorted[-1] + 2))
    size = np.ones(n, dtype=np.int64)
    for d in range(int(level_sorted[-1]), 0, -1):
        nodes = by_level[bounds[d] : bounds[d + 1]]
        np.add.at(size, parent_index[nodes], size[nodes])  # cost: this level's nodes only
    lft = np.zeros(n, dtype=np.int64)
    lft[by_level[0]] = first_left
    for d in range(1, int(level_sorted[-1]) + 1):
        nodes = by_level[bounds[d] : bounds[d + 1]]
        parents = parent_index[nodes]
        widths = 2 * size[nodes]
        running = np.cumsum(widths) - widths
        group_start = np.r_[True, parents[1:] != parents[:-1]]
        start_offsets = np.maximum.accumulate(np.where(group_start, running, 0))
        lft[nodes] = lft[parents] + 1 + (running - start_offsets)
    rght = lft + 2 * size - 1
    return Numbering(ids, lft, rght, level, parent_ids, size - 1)
