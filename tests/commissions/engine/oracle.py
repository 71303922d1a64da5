"""A slow, obvious reference implementation of the commission rules, for property tests.

Written from the rules text, not from the numpy code: plain loops over Python lists and dicts,
walking the tree one person at a time, ``Decimal`` for rounding and ``Fraction`` for the cap.
Only meant for trees of a few dozen people.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from commissions.engine import KINDS, EngineInputs, Plan

RATE_ONE = 100_000_000  # 100 % in rate units of 1e-8 of 1 (a plan percent has 6 decimals)
RAW_PER_CENT = 100_000_000  # raw = cents × rate units, in 1e-8 cent
DECIMAL_MODES = {
    "half_up": ROUND_HALF_UP,
    "half_even": ROUND_HALF_EVEN,
    "toward_zero": ROUND_DOWN,
    "away_from_zero": ROUND_UP,
}


def decimal_round(raw: int, mode: str) -> int:
    """raw (1e-8 cent) → cents with Decimal's own rounding."""
    return int((Decimal(raw) / RAW_PER_CENT).quantize(Decimal(1), rounding=DECIMAL_MODES[mode]))


def largest_remainder(quotas: list[Fraction], seats: int) -> list[int]:
    """Hamilton's method: floors, then one seat each to the largest fractional parts (ties by
    position)."""
    floors = [q.numerator // q.denominator for q in quotas]
    left = seats - sum(floors)
    by_fraction = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in by_fraction[:left]:
        floors[i] += 1
    return floors


def run_oracle(plan: Plan, inputs: EngineInputs) -> dict[str, Any]:
    n = inputs.n
    parent = [int(p) for p in inputs.parent]
    enroller = [int(e) for e in inputs.enroller]
    status = [int(s) for s in inputs.status]
    pv = [max(0, int(v)) for v in inputs.pv]
    cv = [max(0, int(v)) for v in inputs.cv]
    options = plan.options
    children: dict[int, list[int]] = defaultdict(list)
    for person in range(n):
        if parent[person] >= 0:
            children[parent[person]].append(person)

    active = [status[i] == 0 and pv[i] >= plan.activity_personal_pv for i in range(n)]

    gv = list(pv)
    for person in range(n):
        up = parent[person]
        while up >= 0:
            gv[up] += pv[person]
            up = parent[up]

    def downline(person: int) -> list[int]:
        found = [person]
        for child in children[person]:
            found.extend(downline(child))
        return found

    def counted(person: int, number: int) -> int:
        rank = plan.ranks[number - 1]
        if rank.leg_cap_rate is None:
            return gv[person]
        base = rank.group_volume if options.leg_cap_basis == "required" else gv[person]
        cap = rank.leg_cap_rate * base // RATE_ONE
        own = min(pv[person], cap) if options.leg_cap_includes_personal else pv[person]
        return own + sum(min(gv[child], cap) for child in children[person])

    active_enrollees = [
        sum(1 for j in range(n) if enroller[j] == i and active[j]) for i in range(n)
    ]

    @cache
    def paid_as(person: int) -> int:
        def qualifies(number: int) -> bool:
            rank = plan.ranks[number - 1]
            if not active[person] or pv[person] < rank.personal_pv:
                return False
            if counted(person, number) < rank.group_volume:
                return False
            if active_enrollees[person] < rank.personally_enrolled_active:
                return False
            if rank.qualified_legs_count:
                legs = 0
                for child in children[person]:
                    best = max(paid_as(x) for x in downline(child))
                    if best >= rank.qualified_legs_min_rank:
                        legs += 1
                if legs < rank.qualified_legs_count:
                    return False
            return True

        best = 0
        for number in range(1, len(plan.ranks) + 1):
            if qualifies(number):
                best = number
            elif options.cumulative_ranks:
                break
        return best

    ranks = [paid_as(i) for i in range(n)]

    def unlocked(person: int) -> int:
        if not active[person] or ranks[person] == 0:
            return 0
        return plan.ranks[ranks[person] - 1].unilevel_levels

    lines: list[dict[str, Any]] = []
    unpaid: dict[str, int] = dict.fromkeys(KINDS, 0)
    is_company = [bool(flag) for flag in inputs.is_company]

    def add(
        earner: int, kind: str, level: int, source: int, source_line: int, base: int, rate: int
    ) -> None:
        lines.append(
            {
                "earner": earner,
                "kind": KINDS.index(kind),
                "level": level,
                "source": source,
                "source_line": source_line,
                "base": base,
                "rate": rate,
            }
        )

    # Unilevel: the items whose CV climbs the tree.
    items = []
    if options.upline == "period_close":
        items = [(s, parent[s], cv[s], -1) for s in range(n) if cv[s] > 0]
    else:
        for j in range(inputs.m):
            if int(inputs.line_cv[j]) > 0:
                items.append(
                    (
                        int(inputs.line_buyer[j]),
                        int(inputs.line_parent_at_order[j]),
                        int(inputs.line_cv[j]),
                        int(inputs.line_id[j]),
                    )
                )
    rates = plan.unilevel_rates
    levels = len(rates)
    for source, first, base, source_line in items:
        earners: dict[int, int] = {}
        if options.compression == "none":
            person = first
            for k in range(1, levels + 1):
                if person < 0:
                    break
                if unlocked(person) >= k:
                    earners[k] = person
                person = parent[person]
        elif options.compression == "skip_inactive":
            person, k = first, 1
            while person >= 0 and k <= levels:
                if active[person]:
                    if unlocked(person) >= k:
                        earners[k] = person
                    k += 1
                person = parent[person]
        else:
            person, k = first, 1
            while person >= 0 and k <= levels:
                if unlocked(person) >= k:
                    earners[k] = person
                    k += 1
                person = parent[person]
        for k in range(1, levels + 1):
            if rates[k - 1] == 0:
                continue
            if k in earners:
                add(earners[k], "unilevel", k, source, source_line, base, rates[k - 1])
            else:
                unpaid["unilevel"] += base * rates[k - 1]

    def round_kind(kind: str) -> None:
        # The company's own root never earns: its lines go, their raw amount is breakage.
        company = [x for x in lines if x["kind"] == KINDS.index(kind) and is_company[x["earner"]]]
        for line in company:
            unpaid[kind] += line["base"] * line["rate"]
        drop(company)
        mine = sorted(
            (line for line in lines if line["kind"] == KINDS.index(kind)),
            key=lambda x: (x["earner"], x["level"], x["source"], x["source_line"]),
        )
        if options.rounding_point == "line":
            for line in mine:
                line["before"] = decimal_round(line["base"] * line["rate"], options.rounding)
                if line["before"] == 0:  # not written, and nothing of it is paid
                    unpaid[kind] += line["base"] * line["rate"]
            drop([line for line in mine if line["before"] == 0])
            return
        by_earner: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in mine:
            by_earner[line["earner"]].append(line)
        for group in by_earner.values():
            raws = [line["base"] * line["rate"] for line in group]
            total = decimal_round(sum(raws), options.rounding)
            shares = largest_remainder([Fraction(r, RAW_PER_CENT) for r in raws], total)
            for line, share in zip(group, shares, strict=True):
                line["before"] = share
            if total == 0:  # the earner's total rounds to 0: all of it is rounded away
                unpaid[kind] += sum(raws)
        drop([line for line in mine if line["before"] == 0])  # 0.00 lines are not written

    def drop(gone: list[dict[str, Any]]) -> None:
        ids = {id(line) for line in gone}
        lines[:] = [line for line in lines if id(line) not in ids]

    round_kind("unilevel")
    unilevel_total = [0] * n
    for line in lines:
        unilevel_total[line["earner"]] += line["before"]

    # Matching through the enroller chain, no compression.
    for d in range(n):
        if unilevel_total[d] <= 0:
            continue
        upline = enroller[d]
        for g, rate in enumerate(plan.matching_rates, start=1):
            qualified = (
                upline >= 0
                and active[upline]
                and ranks[upline] > 0
                and plan.ranks[ranks[upline] - 1].matching_generations >= g
            )
            if rate:
                if qualified:
                    add(upline, "matching", g, d, -1, unilevel_total[d], rate)
                else:
                    unpaid["matching"] += unilevel_total[d] * rate
            upline = enroller[upline] if upline >= 0 else -1

    for j in range(inputs.m):
        buyer = int(inputs.line_buyer[j])
        line_id = int(inputs.line_id[j])
        profit = int(inputs.line_retail_profit[j])
        if plan.retail_profit_enabled and profit > 0:
            if status[buyer] == 0:
                add(buyer, "retail_profit", 0, buyer, line_id, profit, RATE_ONE)
            else:
                unpaid["retail_profit"] += profit * RATE_ONE
        line_cv = int(inputs.line_cv[j])
        days_in = int(inputs.line_paid_day[j]) - int(inputs.join_day[buyer])
        sponsor = enroller[buyer]
        if (
            plan.fast_start_rate
            and line_cv > 0
            and sponsor >= 0
            and 0 <= days_in < plan.fast_start_days
        ):
            if active[sponsor]:
                add(sponsor, "fast_start", 0, buyer, line_id, line_cv, plan.fast_start_rate)
            else:
                unpaid["fast_start"] += line_cv * plan.fast_start_rate

    advancement_paid = []
    for person in range(n):
        prior = int(inputs.prior_advancement_paid_rank[person])
        reached = ranks[person]
        if reached > prior:
            top = reached if options.rank_advancement == "all_at_once" else prior + 1
            for number in range(prior + 1, top + 1):
                bonus = plan.ranks[number - 1].advancement_bonus
                if bonus > 0:
                    add(person, "rank_advancement", number, -1, -1, bonus, RATE_ONE)
            advancement_paid.append(top)
        else:
            advancement_paid.append(prior)

    for kind in KINDS[1:]:
        round_kind(kind)
    lines.sort(key=lambda x: (x["earner"], x["kind"], x["level"], x["source"], x["source_line"]))

    # Payout cap.
    total_cv = sum(cv)
    for line in lines:
        line["after"] = line["before"]
    if plan.payout_cap_rate is not None:
        cap = plan.payout_cap_rate * total_cv // RATE_ONE
        if sum(line["before"] for line in lines) > cap:
            protected = [
                line
                for line in lines
                if plan.payout_cap_method == "protect_kinds"
                and KINDS[line["kind"]] in plan.protected_kinds
            ]
            protected_ids = {id(line) for line in protected}
            others = [line for line in lines if id(line) not in protected_ids]
            protected_total = sum(line["before"] for line in protected)
            if protected_total <= cap:
                scaled, room = others, cap - protected_total
            else:
                scaled, room = protected, cap
                for line in others:
                    line["after"] = 0
            scaled_total = sum(line["before"] for line in scaled)
            shares = largest_remainder(
                [Fraction(line["before"] * room, scaled_total) for line in scaled], room
            )
            for line, share in zip(scaled, shares, strict=True):
                line["after"] = share

    period_total = [0] * n
    for line in lines:
        period_total[line["earner"]] += line["after"]
    balance = [int(inputs.carried_in[i]) + period_total[i] for i in range(n)]
    payable = [
        b if b > 0 and b >= plan.minimum_payout and not bool(inputs.on_hold[i]) else 0
        for i, b in enumerate(balance)
    ]
    display = [max(r, 1) for r in ranks]
    return {
        "is_active": active,
        "gv": gv,
        "counted_gv": [counted(i, display[i]) for i in range(n)],
        "paid_as_rank": ranks,
        "highest_rank": [max(int(inputs.prior_highest_rank[i]), ranks[i]) for i in range(n)],
        "advancement_paid_rank": advancement_paid,
        "period_total": period_total,
        "balance": balance,
        "payable": payable,
        "carried_out": [b - p for b, p in zip(balance, payable, strict=True)],
        "lines": [
            (
                x["earner"],
                x["kind"],
                x["level"],
                x["source"],
                x["source_line"],
                x["base"],
                x["rate"],
                x["before"],
                x["after"],
            )
            for x in lines
        ],
        "breakage": {kind: decimal_round(unpaid[kind], options.rounding) for kind in KINDS},
    }
