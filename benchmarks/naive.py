"""A straightforward ORM implementation of the commission rules: the benchmark's reference and
a test oracle for the numpy engine on small random trees.

Deliberately naive, as a first version would be written: one query per distributor for their
volume, children and prior balance, plain Python loops and recursion over the tree, ``Decimal``
for rounding, ``Fraction`` for the payout cap. It reads the same database the service reads
and applies the rules as ``commissions/engine/plan.py`` states them (``upline: period_close``
and ``rounding_point: line`` only). Never used to pay anyone.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from functools import cache
from typing import Any

from django.db.models import Sum

from commissions.engine.plan import Plan
from commissions.models import (
    Adjustment,
    AdjustmentStatus,
    Clawback,
    DistributorResult,
    Hold,
    HoldStatus,
)
from core.money import quantize, to_cents
from core.periods import Period
from genealogy.models import Distributor, DistributorStatus
from orders.models import OrderLine, RefundLine

RATE_ONE = 100_000_000  # 100 % in rate units (1e-8 of 1); raw = cents × rate, 1e-8 cent
KIND_NAMES = ("unilevel", "matching", "retail_profit", "fast_start", "rank_advancement")


def _cents(value) -> int:
    return to_cents(value or 0)


def _round(raw: int, mode: str) -> int:
    """raw (cents × rate units, 1e-8 cent) → cents."""
    return int(quantize(Decimal(raw) / RATE_ONE, Decimal(1), mode=mode))


def naive_period(period: Period, plan: Plan, *, prior_run_id: int | None = None) -> dict[str, Any]:
    """Every distributor's figures and lines for ``period``, the slow and obvious way."""
    people = list(Distributor.objects.order_by("id"))
    ids = [p.pk for p in people]
    parent = {p.pk: (p.parent_id or p.sponsor_id) for p in people}
    enroller = {p.pk: p.sponsor_id for p in people}
    status = {p.pk: p.status for p in people}
    joined = {p.pk: p.joined_on for p in people}
    children: dict[int, list[int]] = {}
    pv: dict[int, int] = {}
    cv: dict[int, int] = {}
    carried: dict[int, int] = {}
    extras: dict[int, int] = {}
    prior_highest: dict[int, int] = {}
    prior_paid: dict[int, int] = {}
    for person in ids:  # one set of queries per distributor
        children[person] = list(
            Distributor.objects.filter(parent_id=person).order_by("id").values_list("id", flat=True)
        ) + list(
            Distributor.objects.filter(parent__isnull=True, sponsor_id=person)
            .order_by("id")
            .values_list("id", flat=True)
        )
        paid = OrderLine.objects.filter(
            distributor_id=person, commission_month=period.first_day
        ).aggregate(pv=Sum("pv"), cv=Sum("cv"))
        back = RefundLine.objects.filter(
            distributor_id=person, commission_month=period.first_day
        ).aggregate(pv=Sum("pv"), cv=Sum("cv"))
        pv[person] = max(0, _cents(paid["pv"]) - _cents(back["pv"]))
        cv[person] = max(0, _cents(paid["cv"]) - _cents(back["cv"]))
        prior = (
            DistributorResult.objects.filter(run_id=prior_run_id, distributor_id=person).first()
            if prior_run_id
            else None
        )
        carried[person] = prior.carried_out if prior else 0
        prior_highest[person] = prior.highest_rank if prior else 0
        prior_paid[person] = prior.advancement_paid_rank if prior else 0
        extras[person] = (
            Adjustment.objects.filter(
                period__month=period.first_day,
                distributor_id=person,
                status=AdjustmentStatus.APPROVED,
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        ) + (
            Clawback.objects.filter(period__month=period.first_day, earner_id=person).aggregate(
                total=Sum("amount")
            )["total"]
            or 0
        )
    on_hold = set(
        Hold.objects.filter(status=HoldStatus.ACTIVE).values_list("distributor_id", flat=True)
    )
    options = plan.options
    active = {
        p: status[p] == DistributorStatus.ACTIVE and pv[p] >= plan.activity_personal_pv for p in ids
    }

    @cache
    def group_volume(person: int) -> int:
        return pv[person] + sum(group_volume(child) for child in children[person])

    gv = {p: group_volume(p) for p in ids}
    active_enrollees = defaultdict(int)
    for p in ids:
        if enroller[p] is not None and active[p]:
            active_enrollees[enroller[p]] += 1

    def counted(person: int, rank) -> int:
        if rank.leg_cap_rate is None:
            return gv[person]
        base = rank.group_volume if options.leg_cap_basis == "required" else gv[person]
        cap = rank.leg_cap_rate * base // RATE_ONE
        own = min(pv[person], cap) if options.leg_cap_includes_personal else pv[person]
        return own + sum(min(gv[child], cap) for child in children[person])

    paid_as: dict[int, int] = {}

    def rank_of(person: int) -> int:
        if person in paid_as:
            return paid_as[person]
        best = 0
        for number, rank in enumerate(plan.ranks, start=1):
            legs = 0
            if rank.qualified_legs_count:
                legs = sum(
                    1
                    for child in children[person]
                    if best_in_leg(child) >= rank.qualified_legs_min_rank
                )
            ok = (
                active[person]
                and pv[person] >= rank.personal_pv
                and counted(person, rank) >= rank.group_volume
                and active_enrollees[person] >= rank.personally_enrolled_active
                and legs >= rank.qualified_legs_count
            )
            if ok:
                best = number
            elif options.cumulative_ranks:
                break
        paid_as[person] = best
        return best

    @cache
    def best_in_leg(person: int) -> int:
        return max([rank_of(person), *(best_in_leg(child) for child in children[person])])

    for p in ids:
        rank_of(p)
    unlocked = {p: plan.ranks[paid_as[p] - 1].unilevel_levels if paid_as[p] else 0 for p in ids}
    generations = {
        p: plan.ranks[paid_as[p] - 1].matching_generations if paid_as[p] else 0 for p in ids
    }
    lines: list[dict] = []

    def add(earner, kind, level, source, source_line, base, rate):
        lines.append(
            {
                "earner": earner,
                "kind": kind,
                "level": level,
                "source": source,
                "source_line": source_line,
                "base": base,
                "rate": rate,
                "amount": _round(base * rate, options.rounding),
            }
        )

    # Unilevel: walk up from each source.
    for source in ids:
        if cv[source] <= 0:
            continue
        upline = parent[source]
        for level, rate in enumerate(plan.unilevel_rates, start=1):
            if options.compression == "none":
                if upline is None:
                    break
                if unlocked[upline] >= level and rate:
                    add(upline, 0, level, source, None, cv[source], rate)
                upline = parent[upline]
            elif options.compression == "skip_inactive":
                while upline is not None and not active[upline]:
                    upline = parent[upline]
                if upline is None:
                    break
                if unlocked[upline] >= level and rate:
                    add(upline, 0, level, source, None, cv[source], rate)
                upline = parent[upline]
            else:
                while upline is not None and unlocked[upline] < level:
                    upline = parent[upline]
                if upline is None:
                    break
                if rate:
                    add(upline, 0, level, source, None, cv[source], rate)
                upline = parent[upline]
    unilevel_total = defaultdict(int)
    for line in lines:
        unilevel_total[line["earner"]] += line["amount"]
    # Matching on personal enrollees' unilevel totals, by enroller generation.
    for source in ids:
        if unilevel_total[source] <= 0:
            continue
        upline = enroller[source]
        for generation, rate in enumerate(plan.matching_rates, start=1):
            if upline is None:
                break
            if active[upline] and generations[upline] >= generation and rate:
                add(upline, 1, generation, source, None, unilevel_total[source], rate)
            upline = enroller[upline]
    # Retail profit and fast start, per order line counting in the period (net of same-period
    # refunds of that line).
    order_lines = OrderLine.objects.filter(commission_month=period.first_day)
    for line in order_lines.order_by("distributor_id", "id"):
        back = RefundLine.objects.filter(
            order_line_id=line.pk, commission_month=period.first_day
        ).aggregate(cv=Sum("cv"), profit=Sum("retail_profit"))
        line_cv = max(0, _cents(line.cv) - _cents(back["cv"]))
        profit = max(0, _cents(line.retail_profit) - _cents(back["profit"]))
        seller = line.distributor_id
        if plan.retail_profit_enabled and profit > 0 and status[seller] == "active":
            add(seller, 2, 0, seller, line.pk, profit, RATE_ONE)
        days_in = (line.paid_at.astimezone(period.start.tzinfo).date() - joined[seller]).days
        sponsor = enroller[seller]
        if (
            plan.fast_start_rate
            and line_cv > 0
            and sponsor is not None
            and 0 <= days_in < plan.fast_start_days
            and active[sponsor]
        ):
            add(sponsor, 3, 0, seller, line.pk, line_cv, plan.fast_start_rate)
    # Advancement bonuses.
    for person in ids:
        start = prior_paid[person]
        if paid_as[person] <= start:
            continue
        top = paid_as[person] if options.rank_advancement == "all_at_once" else start + 1
        for number in range(start + 1, top + 1):
            bonus = plan.ranks[number - 1].advancement_bonus
            if bonus:
                lines.append(
                    {
                        "earner": person,
                        "kind": 4,
                        "level": number,
                        "source": None,
                        "source_line": None,
                        "base": bonus,
                        "rate": RATE_ONE,
                        "amount": bonus,
                    }
                )
    # Payout cap.
    lines.sort(
        key=lambda x: (x["earner"], x["kind"], x["level"], x["source"] or 0, x["source_line"] or 0)
    )
    for line in lines:
        line["paid"] = line["amount"]
    total_cv = sum(cv.values())
    if plan.payout_cap_rate is not None:
        cap = plan.payout_cap_rate * total_cv // RATE_ONE
        if sum(x["amount"] for x in lines) > cap:
            protected = {KIND_NAMES.index(k) for k in plan.protected_kinds}
            if plan.payout_cap_method == "all_pro_rata":
                _scale(lines, cap)
            else:
                kept = [x for x in lines if x["kind"] in protected]
                rest = [x for x in lines if x["kind"] not in protected]
                kept_total = sum(x["amount"] for x in kept)
                if kept_total <= cap:
                    _scale(rest, cap - kept_total)
                else:
                    _scale(kept, cap)
                    for x in rest:
                        x["paid"] = 0
    totals = defaultdict(int)
    for line in lines:
        totals[line["earner"]] += line["paid"]
    people_out = {}
    for person in ids:
        period_total = totals[person] + extras[person]
        balance = carried[person] + period_total
        payable = (
            balance
            if balance > 0 and balance >= plan.minimum_payout and person not in on_hold
            else 0
        )
        people_out[person] = {
            "paid_as_rank": paid_as[person],
            "period_total": period_total,
            "balance": balance,
            "payable": payable,
        }
    return {"people": people_out, "lines": lines, "total_cv": total_cv}


def _scale(lines: list[dict], target: int) -> None:
    """Scale lines to add up to ``target``: floors plus largest remainders (earlier first)."""
    total = sum(x["amount"] for x in lines)
    if total == 0:
        for x in lines:
            x["paid"] = 0
        return
    quotas = [Fraction(x["amount"] * target, total) for x in lines]
    floors = [q.numerator // q.denominator for q in quotas]
    left = target - sum(floors)
    order = sorted(range(len(lines)), key=lambda i: (-(quotas[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    for x, value in zip(lines, floors, strict=True):
        x["paid"] = value
