"""Activity, group volume with leg caps, and paid-as ranks.

Rules (see ``plan.py`` for the fields):

* Counted GV for rank r = own PV (capped like a leg when ``leg_cap_includes_personal``) plus,
  over each child c, ``min(GV[c], cap_r)``, where ``cap_r`` = the rank's ``leg_cap_percent`` of
  its required GV (basis ``required``) or of the person's actual GV (basis ``actual``), rounded
  down to the cent. Without ``leg_cap_percent`` counted GV = GV. With
  ``options.group_volume_levels`` N, GV counts N levels (``group_volume.py``) and a child's
  leg is its own first N - 1 levels.
* Rank r's requirements: active, own PV ≥ personal_pv, counted GV ≥ group_volume, ACTIVE
  personal enrollees ≥ personally_enrolled_active, and at least ``qualified_legs.count``
  children whose leg holds someone paid as ``min_rank`` or higher. With ``cumulative_ranks``
  rank r also needs rank r-1 to qualify. Paid-as = highest qualifying rank, 0 if none.
* Qualified legs need the ranks of the downline first, so ranks are then computed level by
  level from the deepest, carrying the highest paid-as rank found in each leg upward.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from .group_volume import group_volume_to_levels
from .money import RATE_ONE, apply_rate_floor
from .plan import Plan, Rank
from .tree import Forest

IntArray = npt.NDArray[np.int64]


def leg_cap(plan: Plan, rank: Rank, gv: IntArray | int) -> IntArray | int | None:
    """The most one leg may add toward ``rank`` (cents, rounded down), for people whose own GV
    is ``gv`` (an array or one number); None when the rank has no leg cap."""
    if rank.leg_cap_rate is None:
        return None
    basis = rank.group_volume if plan.options.leg_cap_basis == "required" else gv
    if isinstance(basis, int):
        return rank.leg_cap_rate * basis // RATE_ONE  # Python ints: exact at any size
    return apply_rate_floor(basis, rank.leg_cap_rate)  # exact where rate × GV passes int64


def counted_group_volume(
    plan: Plan, rank: Rank, forest: Forest, pv: IntArray, gv: IntArray
) -> IntArray:
    """GV that counts toward ``rank`` under its leg cap (see module docstring)."""
    cap = leg_cap(plan, rank, gv)
    if cap is None:
        return gv
    cap = np.broadcast_to(np.asarray(cap, dtype=np.int64), (forest.n,))
    has_parent = forest.parent >= 0
    legs = np.zeros(forest.n, dtype=np.int64)
    parents = forest.parent[has_parent]
    levels = plan.options.group_volume_levels  # a leg adds its first N - 1 levels then
    leg_gv = gv if levels is None else group_volume_to_levels(forest, pv, levels - 1)
    np.add.at(legs, parents, np.minimum(leg_gv[has_parent], cap[parents]))
    own = np.minimum(pv, cap) if plan.options.leg_cap_includes_personal else pv
    return own + legs


def compute_ranks(
    plan: Plan,
    forest: Forest,
    *,
    is_active: npt.NDArray[np.bool_],
    pv: IntArray,
    gv: IntArray,
    enroller: IntArray,
) -> tuple[npt.NDArray[np.int16], IntArray]:
    """Paid-as rank (0..R) and counted GV (for the paid-as rank, or rank 1 if none)."""
    paid_as, counted_gv, _ = compute_ranks_with_floor(
        plan, forest, is_active=is_active, pv=pv, gv=gv, enroller=enroller, floor=None
    )
    return paid_as, counted_gv


def compute_ranks_with_floor(
    plan: Plan,
    forest: Forest,
    *,
    is_active: npt.NDArray[np.bool_],
    pv: IntArray,
    gv: IntArray,
    enroller: IntArray,
    floor: npt.NDArray[np.integer] | None,
) -> tuple[npt.NDArray[np.int16], IntArray, npt.NDArray[np.int16]]:
    """Paid-as rank, counted GV and the rank each person qualifies for by the requirements.

    With ``floor`` (a rank per person: rank grace and staff overrides, ``rank_grace.py``)
    paid-as = max(qualified, floor), and the qualified legs of everyone above count that
    paid-as rank. Without it paid-as = qualified."""
    n = forest.n
    ranks = plan.ranks
    enrolled_by_active = (enroller >= 0) & is_active
    active_enrollees = np.bincount(enroller[enrolled_by_active], minlength=n)[:n]

    counted: list[IntArray] = []
    meets: list[npt.NDArray[np.bool_]] = []  # every requirement except qualified legs
    for rank in ranks:
        counted_r = counted_group_volume(plan, rank, forest, pv, gv)
        counted.append(counted_r)
        meets.append(
            is_active
            & (pv >= rank.personal_pv)
            & (counted_r >= rank.group_volume)
            & (active_enrollees >= rank.personally_enrolled_active)
        )

    floor16 = None if floor is None else np.asarray(floor, dtype=np.int16)
    if any(rank.qualified_legs_count > 0 for rank in ranks):
        paid_as, qualified = _ranks_with_legs(plan, forest, meets, floor16)
    else:
        qualified = _best_rank(plan, meets)
        paid_as = qualified if floor16 is None else np.maximum(qualified, floor16)

    counted_gv = counted[0].copy()
    for number in range(2, len(ranks) + 1):
        shown = paid_as == number
        counted_gv[shown] = counted[number - 1][shown]
    return paid_as, counted_gv, qualified


def _best_rank(plan: Plan, qualifies: list[npt.NDArray[np.bool_]]) -> npt.NDArray[np.int16]:
    """Highest rank number whose flag is set (all lower ones too when ranks are cumulative)."""
    size = len(qualifies[0])
    best = np.zeros(size, dtype=np.int16)
    still = np.ones(size, dtype=bool)
    for number, flags in enumerate(qualifies, start=1):
        if plan.options.cumulative_ranks:
            still &= flags
            best[still] = number
        else:
            best[flags] = number
    return best


def _ranks_with_legs(
    plan: Plan,
    forest: Forest,
    meets: list[npt.NDArray[np.bool_]],
    floor: npt.NDArray[np.int16] | None = None,
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16]]:
    """Paid-as and qualified ranks when some rank needs qualified legs: deepest level first
    (a leg counts its people's paid-as ranks, floors included)."""
    n = forest.n
    ranks = plan.ranks
    min_ranks = sorted({r.qualified_legs_min_rank for r in ranks if r.qualified_legs_count > 0})
    legs_at_least = {m: np.zeros(n, dtype=np.int64) for m in min_ranks}
    best_below = np.zeros(n, dtype=np.int16)  # highest paid-as rank among a node's downline
    paid_as = np.zeros(n, dtype=np.int16)
    qualified = np.zeros(n, dtype=np.int16)
    for d in range(forest.levels - 1, -1, -1):
        nodes = forest.level(d)
        qualifies = []
        for rank, meets_r in zip(ranks, meets, strict=True):
            flags = meets_r[nodes]
            if rank.qualified_legs_count > 0:
                legs = legs_at_least[rank.qualified_legs_min_rank][nodes]
                flags = flags & (legs >= rank.qualified_legs_count)
            qualifies.append(flags)
        qualified[nodes] = _best_rank(plan, qualifies)
        paid_as[nodes] = (
            qualified[nodes] if floor is None else np.maximum(qualified[nodes], floor[nodes])
        )
        if d == 0:
            break
        leg_best = np.maximum(paid_as[nodes], best_below[nodes])
        parents = forest.parent[nodes]
        np.maximum.at(best_below, parents, leg_best)
        for m, counts in legs_at_least.items():
            np.add.at(counts, parents[leg_best >= m], 1)
    return paid_as, qualified


def counted_volume(plan: Plan, rank: Rank, *, pv: int, gv: int, leg_gvs: Sequence[int]) -> int:
    """One person's GV that counts toward ``rank``: own PV and the GV of each direct leg
    (``leg_gvs``), under the rank's leg cap; ``counted_group_volume`` for a single person (it
    runs that very function on the person and their legs)."""
    forest = Forest.build(np.array([-1] + [0] * len(leg_gvs), dtype=np.int64))
    counted = counted_group_volume(
        plan,
        rank,
        forest,
        np.array([pv] + [0] * len(leg_gvs), dtype=np.int64),
        np.array([gv, *leg_gvs], dtype=np.int64),
    )
    return int(counted[0])
