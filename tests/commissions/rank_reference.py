"""A plain-Python reference for who is paid as what, written from the words of
``commissions/engine/rank_grace.py`` and ``ranks.py`` (no numpy, one person at a time), for
the property tests of rank grace, staff overrides and late refunds."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from commissions.engine import EngineInputs, Plan

RATE_ONE = 100_000_000  # 100 % in rate units of 1e-8 of 1


def reference_ranks(plan: Plan, inputs: EngineInputs) -> dict[str, Any]:
    n = inputs.n
    parent = [int(p) for p in inputs.parent]
    rank_count = len(plan.ranks)
    grace_months = plan.options.rank_grace_months
    # late_refunds: "floored" counts negative PV as 0, "negative" as it is.
    if plan.options.late_refunds == "negative":
        pv = [int(v) for v in inputs.pv]
    else:
        pv = [max(0, int(v)) for v in inputs.pv]
    children: dict[int, list[int]] = defaultdict(list)
    for person in range(n):
        if parent[person] >= 0:
            children[parent[person]].append(person)
    active = [int(inputs.status[i]) == 0 and pv[i] >= plan.activity_personal_pv for i in range(n)]
    gv = list(pv)
    for person in range(n):
        up = parent[person]
        while up >= 0:
            gv[up] += pv[person]
            up = parent[up]
    enrollees = [
        sum(1 for j in range(n) if int(inputs.enroller[j]) == i and active[j]) for i in range(n)
    ]
    prior = [min(int(v), rank_count) for v in inputs.prior_paid_as_rank]
    override = [min(int(v), rank_count) for v in inputs.rank_override]
    used = [int(v) for v in inputs.grace_months_used]

    def downline(person: int) -> list[int]:
        found = [person]
        for child in children[person]:
            found.extend(downline(child))
        return found

    def counted(person: int, number: int) -> int:
        rank = plan.ranks[number - 1]
        if rank.leg_cap_rate is None:
            return gv[person]
        base = rank.group_volume if plan.options.leg_cap_basis == "required" else gv[person]
        cap = rank.leg_cap_rate * base // RATE_ONE
        own = min(pv[person], cap) if plan.options.leg_cap_includes_personal else pv[person]
        return own + sum(min(gv[child], cap) for child in children[person])

    @cache
    def qualified(person: int) -> int:
        def meets(number: int) -> bool:
            rank = plan.ranks[number - 1]
            if not active[person] or pv[person] < rank.personal_pv:
                return False
            if counted(person, number) < rank.group_volume:
                return False
            if enrollees[person] < rank.personally_enrolled_active:
                return False
            if rank.qualified_legs_count:
                legs = sum(
                    1
                    for child in children[person]
                    if max(paid_as(x) for x in downline(child)) >= rank.qualified_legs_min_rank
                )
                if legs < rank.qualified_legs_count:
                    return False
            return True

        best = 0
        for number in range(1, rank_count + 1):
            if meets(number):
                best = number
            elif plan.options.cumulative_ranks:
                break
        return best

    def in_grace(person: int) -> bool:
        # Active, qualifying (and overridden) below last period's rank, grace months left.
        return (
            active[person]
            and used[person] < grace_months
            and prior[person] > max(qualified(person), override[person])
        )

    @cache
    def paid_as(person: int) -> int:
        rank = qualified(person)
        if active[person]:
            rank = max(rank, override[person])
            if in_grace(person):
                rank = prior[person]
        return rank

    return {
        "is_active": active,
        "gv": gv,
        "qualified": [qualified(i) for i in range(n)],
        "paid_as_rank": [paid_as(i) for i in range(n)],
        "grace_months_used": [used[i] + 1 if in_grace(i) else 0 for i in range(n)],
    }
