"""Rank grace, staff rank overrides and the volume that late refunds leave: who is paid as what.

Rules (plan ``options.rank_grace_months`` = N, ``options.late_refunds``; inputs
``prior_paid_as_rank``, ``grace_months_used``, ``rank_override``):

* **Qualified** rank: what the rank requirements give (``ranks.py``), with the legs below
  counting their people's paid-as ranks (grace and overrides included).
* **Rank grace**: an ACTIVE person who qualifies below last period's paid-as rank P keeps P
  while they have used fewer than N grace months in a row: paid-as = P and the counter goes
  up by one. So with N = 2 a person qualifying lower three months running is paid as P in the
  first two and as what they qualify for in the third. A month at or above P (or a month they
  are inactive) sets the counter back to 0; after the drop the lower rank is the one held, and
  a later drop below it starts a new grace. N = 0: no grace.
* **Staff override** R (0 none): an ACTIVE person is paid as at least R ("at least", not
  "exactly": staff can lift a rank, never take one away; a demotion is a hold's business).
  Activity stays required: a rank only ever belongs to someone who bought product. An override
  that lifts the person to or above P ends any grace (counter 0).
* Paid-as = max(qualified, override, P while in grace). Grace and overrides carry like any
  paid-as rank: highest rank, advancement bonuses and the next month's P follow paid-as.
* **Late refunds** (``late_refunds``): PV may be negative in a period when a refund of an
  earlier period's order lands. ``floored`` (default, the engine's rule before the option):
  negative PV counts as 0 for activity, ranks and GV. ``negative``: the PV as it is counts for
  activity, the personal PV requirement and GV (a person's GV and their uplines' go down by it).
  CV is never negative (what was paid on the refunded order is clawed back instead).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .inputs import EngineInputs
from .plan import Plan

IntArray = npt.NDArray[np.int64]


def rank_volume(plan: Plan, inputs: EngineInputs) -> IntArray:
    """Own PV as activity, ranks and GV count it (``late_refunds``)."""
    if plan.options.late_refunds == "negative":
        return inputs.pv.astype(np.int64)
    return np.maximum(inputs.pv, 0)


def rank_floor(plan: Plan, inputs: EngineInputs, is_active: npt.NDArray[np.bool_]) -> IntArray:
    """The rank each person is paid as at least: the override, and last period's rank while in
    grace (only active people; 0 otherwise)."""
    rank_count = len(plan.ranks)
    override = np.minimum(inputs.rank_override, rank_count).astype(np.int64)
    prior = np.minimum(inputs.prior_paid_as_rank, rank_count).astype(np.int64)
    may_keep = inputs.grace_months_used < plan.options.rank_grace_months
    floor = np.maximum(override, np.where(may_keep, prior, 0))
    return np.where(is_active, floor, 0)


def grace_months_after(
    plan: Plan,
    inputs: EngineInputs,
    *,
    is_active: npt.NDArray[np.bool_],
    qualified: npt.NDArray[np.integer],
) -> npt.NDArray[np.int16]:
    """The grace counter to hand to the next period: months in a row paid as last period's
    rank while qualifying lower (0 for everyone not in grace this period)."""
    rank_count = len(plan.ranks)
    prior = np.minimum(inputs.prior_paid_as_rank, rank_count).astype(np.int64)
    override = np.minimum(inputs.rank_override, rank_count).astype(np.int64)
    below = prior > np.maximum(qualified.astype(np.int64), override)
    in_grace = is_active & below & (inputs.grace_months_used < plan.options.rank_grace_months)
    return np.where(in_grace, inputs.grace_months_used.astype(np.int64) + 1, 0).astype(np.int16)


__all__ = ["grace_months_after", "rank_floor", "rank_volume"]
