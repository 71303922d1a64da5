"""Group volume counted to N levels only (``options.group_volume_levels``).

``GV_N(v)`` = own PV of v + the PV of everyone in v's downline at most N levels below v
(N = 0: own PV only). Computed without walking anyone's downline: the whole-downline sum
``S = Forest.subtree_sum(pv)`` counts every level, so

    GV_N(v) = S(v) - Σ S(u) over the people u exactly N + 1 levels below v,

since the subtree of each such u holds exactly the levels below N of v's downline that pass
through u. Each person's ancestor N + 1 levels up is found with N + 1 gathers through the
parent array; one exact int64 scatter subtracts. No floats.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .tree import Forest

IntArray = npt.NDArray[np.int64]


def group_volume_to_levels(forest: Forest, pv: IntArray, levels: int | None) -> IntArray:
    """Own PV plus the downline's PV at most ``levels`` below (None: the whole downline)."""
    totals = forest.subtree_sum(pv)
    if levels is None:
        return totals
    if levels < 0:
        return np.zeros(forest.n, dtype=np.int64)  # (a leg's share when N = 0: nothing)
    if levels + 1 >= forest.levels:
        return totals  # nobody is N + 1 levels below anyone: the whole downline counts
    n = forest.n
    parent_or_none = forest.parent_or_none()
    ancestor = np.arange(n, dtype=np.int64)
    for _ in range(levels + 1):
        ancestor = parent_or_none[ancestor]
    below = ancestor < n  # people with an ancestor N + 1 levels up
    limited = totals.copy()
    np.subtract.at(limited, ancestor[below], totals[below])
    return limited
