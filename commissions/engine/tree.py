"""Vectorized passes over the sponsor forest.

Every pass works one depth level at a time (hundreds of levels at most), never one node at a
time: bottom-up sums go deepest level first, "nearest ancestor such that ..." lookups go top
down. Depth is computed by pointer jumping (O(n log depth)).

Index ``n`` is used as a sentinel "nobody" in the ``*_or_none`` arrays, which have n + 1 entries
so that gathers through -1 need no masking: ``parent_or_none[n] == n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]


def compute_depth(parent: npt.NDArray[np.integer]) -> npt.NDArray[np.int32]:
    """Depth of every node of a forest (roots 0) by pointer jumping; refuses cycles."""
    n = len(parent)
    depth = (np.asarray(parent) >= 0).astype(np.int64)
    jump = np.asarray(parent, dtype=np.int64).copy()
    # Invariant: depth[v] is the distance from v to jump[v] (or to its root once jump[v] == -1).
    pending = np.flatnonzero(jump >= 0)
    for _ in range(64):
        if len(pending) == 0:
            return depth.astype(np.int32)
        targets = jump[pending]
        depth[pending] = depth[pending] + depth[targets]
        jump[pending] = jump[targets]
        pending = pending[jump[pending] >= 0]
    raise ValueError(f"parent does not form a forest (a cycle among {n} distributors)")


@dataclass(frozen=True)
class Forest:
    """The sponsor forest with its nodes grouped by depth level."""

    parent: IntArray
    depth: npt.NDArray[np.int32]
    order: IntArray
    level_starts: IntArray

    @classmethod
    def build(
        cls, parent: npt.NDArray[np.integer], depth: npt.NDArray[np.integer] | None = None
    ) -> Forest:
        parent = np.asarray(parent, dtype=np.int64)
        depth = compute_depth(parent) if depth is None else np.asarray(depth, dtype=np.int32)
        order = np.argsort(depth, kind="stable").astype(np.int64)
        counts = np.bincount(depth, minlength=1) if len(depth) else np.zeros(1, np.int64)
        level_starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        return cls(parent=parent, depth=depth, order=order, level_starts=level_starts)

    @property
    def n(self) -> int:
        return len(self.parent)

    @property
    def levels(self) -> int:
        """Number of depth levels (max depth + 1)."""
        return len(self.level_starts) - 1

    def level(self, d: int) -> IntArray:
        """Nodes at depth d, in index order."""
        return self.order[self.level_starts[d] : self.level_starts[d + 1]]

    def parent_or_none(self) -> IntArray:
        """Parents with -1 replaced by the sentinel n, plus the sentinel's own entry (n)."""
        n = self.n
        return np.append(np.where(self.parent >= 0, self.parent, n), n)

    def subtree_sum(self, values: IntArray) -> IntArray:
        """Each node's value plus the values of its whole downline (exact int64)."""
        totals = np.array(values, dtype=np.int64, copy=True)
        for d in range(self.levels - 1, 0, -1):
            nodes = self.level(d)
            np.add.at(totals, self.parent[nodes], totals[nodes])
        return totals

    def nearest_ancestor(self, qualifies: npt.NDArray[np.bool_]) -> IntArray:
        """For every node (and the sentinel), the nearest strict ancestor whose flag is set.

        ``qualifies`` has n + 1 rows (the sentinel's row is ignored) and may have a second
        axis of independent flags (e.g. "unlocks ≥ t levels" for t = 1..L); the answer has the
        same shape, with the sentinel n where no ancestor qualifies.
        """
        n = self.n
        nearest = np.full(qualifies.shape, n, dtype=np.int64)
        for d in range(1, self.levels):
            nodes = self.level(d)
            parents = self.parent[nodes]
            if qualifies.ndim == 1:
                nearest[nodes] = np.where(qualifies[parents], parents, nearest[parents])
            else:
                nearest[nodes] = np.where(qualifies[parents], parents[:, None], nearest[parents])
        return nearest
