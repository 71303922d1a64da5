"""The bonuses: unilevel (with compression), matching, retail profit, fast start, advancement.

Each function returns the unrounded lines of one kind (``KindLines``), sorted in the result
order (earner, level, source, source order line), plus the raw amount nobody qualified for
(breakage). A line exists when its base and rate are both positive and its earner qualifies;
amounts are ``base × rate`` raw units (cents × rate units of 1e-8: 1e-8 cent, ``money.py``),
rounded later in ``compute.py``.

Unilevel walk (per source distributor with CV > 0, or per order line with ``upline ==
"order_time"``), for levels k = 1..L:

* ``none``: level k goes to the k-th upline if they unlock ≥ k levels, else it is breakage;
* ``skip_inactive``: inactive uplines (not active this period, whatever the reason) are skipped
  and use up no level; the k-th ACTIVE upline gets level k if they unlock it, otherwise level k
  is breakage (forfeited) and the next active upline is offered level k + 1;
* ``dynamic``: level k goes to the nearest upline above the previous level's earner who
  unlocks ≥ k levels; whoever does not is skipped without using up the level.

Levels left when the root is passed are breakage. Each is vectorized as one gather per level
through precomputed "nearest qualifying ancestor" tables (``Forest.nearest_ancestor``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from .inputs import STATUS_ACTIVE, EngineInputs
from .money import RATE_ONE, raw_parts, raw_total
from .plan import Plan
from .tree import Forest

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class KindLines:
    """Unrounded lines of one kind, in result order, and the raw amount left unpaid."""

    earner: IntArray
    level: npt.NDArray[np.int16]
    source: IntArray
    source_line: IntArray
    base: IntArray
    rate: npt.NDArray[np.int32]
    unpaid_raw: int

    def raw_parts(self) -> tuple[IntArray, IntArray]:
        """Each line's raw amount as whole cents (floor) and fraction (``money.raw_parts``):
        exact for any base, where ``base × rate`` itself could pass int64."""
        return raw_parts(self.base, self.rate)

    def raw_total(self, where: npt.NDArray[np.bool_] | None = None) -> int:
        """The exact sum of the raw amounts (of the lines ``where`` is set), a Python int."""
        if where is None:
            return raw_total(self.base, self.rate)
        return raw_total(self.base[where], self.rate[where])

    def __len__(self) -> int:
        return len(self.earner)


@dataclass(frozen=True)
class Items:
    """What pays lines, in result order: source distributor, order line id and base (cents)."""

    source: IntArray
    source_line: IntArray
    base: IntArray

    def __len__(self) -> int:
        return len(self.source)


def empty_lines(unpaid_raw: int = 0) -> KindLines:
    empty = np.zeros(0, dtype=np.int64)
    return KindLines(
        empty, empty.astype(np.int16), empty, empty, empty, empty.astype(np.int32), unpaid_raw
    )


def lines_by_order(inputs: EngineInputs) -> IntArray:
    """Order line indices sorted by (buyer, line_id): the order of lines in the results."""
    if inputs.m == 0:
        return np.zeros(0, dtype=np.int64)
    low = int(inputs.line_id.min())
    span = int(inputs.line_id.max()) - low + 1
    if inputs.n * span < 2**63:
        # Unique keys, so the (faster) unstable sort is deterministic.
        return np.argsort(inputs.line_buyer * span + (inputs.line_id - low)).astype(np.int64)
    return np.lexsort((inputs.line_id, inputs.line_buyer)).astype(np.int64)


def _lines_by_level(
    earners: list[IntArray], rates: list[int], items: Items, nobody: int
) -> KindLines:
    """Lines from per-level earner arrays over the same items (``nobody`` = unpaid).

    ``earners[k - 1][i]`` earns level k on item i. Lines come out sorted by (earner, level,
    item): each line is packed into one int64 key (earner, level, item) and the keys are sorted
    (no argsort, no gathers of whole line columns), then unpacked.
    """
    level_bound = len(earners) + 1
    item_bound = max(len(items), 1)
    unpaid_raw = 0
    keys: list[IntArray] = []
    item_index = np.arange(len(items), dtype=np.int64)
    packable = nobody * level_bound * item_bound < 2**63
    parts: list[tuple[IntArray, IntArray, IntArray]] = []
    for level, (earner, rate) in enumerate(zip(earners, rates, strict=True), start=1):
        if rate == 0:
            continue
        paid = earner != nobody
        unpaid_raw += int(items.base[~paid].sum()) * rate
        if packable:
            keys.append((earner[paid] * level_bound + level) * item_bound + item_index[paid])
        else:
            parts.append((earner[paid], np.full(int(paid.sum()), level), item_index[paid]))
    if packable:
        if not keys:
            return empty_lines(unpaid_raw)
        key = np.concatenate(keys)
        del keys
        key.sort()
        earner = key // (level_bound * item_bound)  # (// and % beat np.divmod by far)
        level = key // item_bound % level_bound
        item = key % item_bound
        del key
    else:
        if not parts:
            return empty_lines(unpaid_raw)
        earner, level, item = (np.concatenate(c) for c in zip(*parts, strict=True))
        order = np.lexsort((item, level, earner))
        earner, level, item = earner[order], level[order], item[order]
    rate_table = np.array([0, *rates], dtype=np.int32)
    return KindLines(
        earner,
        level.astype(np.int16),
        items.source[item],
        items.source_line[item],
        items.base[item],
        rate_table[level],
        unpaid_raw,
    )


def unilevel_lines(
    plan: Plan,
    forest: Forest,
    inputs: EngineInputs,
    *,
    is_active: BoolArray,
    unlocked_levels: IntArray,
    cv: IntArray,
    line_order: IntArray,
) -> KindLines:
    """Unilevel lines with the plan's compression (see module docstring)."""
    n = forest.n
    depth_levels = len(plan.unilevel_rates)
    if depth_levels == 0:  # a weekly run's plan (schedules.py) pays no unilevel
        return empty_lines()
    parent_or_none = forest.parent_or_none()
    if plan.options.upline == "period_close":
        sources = np.flatnonzero(cv > 0)
        items = Items(sources, np.full(len(sources), -1, dtype=np.int64), cv[sources])
        first = parent_or_none[sources]
    else:
        ordered = line_order[inputs.line_cv[line_order] > 0]
        items = Items(inputs.line_buyer[ordered], inputs.line_id[ordered], inputs.line_cv[ordered])
        at_order = inputs.line_parent_at_order[ordered]
        first = np.where(at_order >= 0, at_order, n)
    unlocked = np.append(unlocked_levels, 0)
    active = np.append(is_active, False)
    walk = {"none": _walk_none, "skip_inactive": _walk_skip_inactive, "dynamic": _walk_dynamic}[
        plan.options.compression
    ]
    earners = list(walk(forest, first, unlocked, active, parent_or_none, depth_levels))
    return _lines_by_level(earners, list(plan.unilevel_rates), items, n)


def _walk_none(
    forest: Forest,
    first: IntArray,
    unlocked: IntArray,
    active: BoolArray,
    parent_or_none: IntArray,
    depth_levels: int,
) -> Iterator[IntArray]:
    n = forest.n
    upline = first
    for k in range(1, depth_levels + 1):
        yield np.where(unlocked[upline] >= k, upline, n)
        upline = parent_or_none[upline]


def _walk_skip_inactive(
    forest: Forest,
    first: IntArray,
    unlocked: IntArray,
    active: BoolArray,
    parent_or_none: IntArray,
    depth_levels: int,
) -> Iterator[IntArray]:
    n = forest.n
    nearest_active = forest.nearest_ancestor(active)
    upline = np.where(active[first], first, nearest_active[first])
    for k in range(1, depth_levels + 1):
        yield np.where(unlocked[upline] >= k, upline, n)
        upline = nearest_active[upline]


def _walk_dynamic(
    forest: Forest,
    first: IntArray,
    unlocked: IntArray,
    active: BoolArray,
    parent_or_none: IntArray,
    depth_levels: int,
) -> Iterator[IntArray]:
    # unlocks[v, t - 1]: v unlocks level t; nearest[v, t - 1]: nearest strict ancestor who does.
    unlocks = unlocked[:, None] >= np.arange(1, depth_levels + 1)[None, :]
    nearest = forest.nearest_ancestor(unlocks)
    upline = np.where(unlocks[first, 0], first, nearest[first, 0])
    for k in range(1, depth_levels + 1):
        if k > 1:
            upline = nearest[upline, k - 1]
        yield upline


def matching_lines(
    plan: Plan,
    inputs: EngineInputs,
    *,
    unilevel_total: IntArray,
    matching_generations: IntArray,
    is_active: BoolArray,
) -> KindLines:
    """Matching on each personal enrollee's (rounded) unilevel total, by enroller generation."""
    n = inputs.n
    generations = len(plan.matching_rates)
    sources = np.flatnonzero(unilevel_total > 0)
    if generations == 0 or len(sources) == 0:
        return empty_lines()
    enroller_or_none = np.append(np.where(inputs.enroller >= 0, inputs.enroller, n), n)
    unlocked = np.append(np.where(is_active, matching_generations, 0), 0)
    items = Items(sources, np.full(len(sources), -1, dtype=np.int64), unilevel_total[sources])
    earners = []
    upline = enroller_or_none[sources]
    for g in range(1, generations + 1):
        earners.append(np.where(unlocked[upline] >= g, upline, n))
        upline = enroller_or_none[upline]
    return _lines_by_level(earners, list(plan.matching_rates), items, n)


def retail_profit_lines(plan: Plan, inputs: EngineInputs, line_order: IntArray) -> KindLines:
    """Each order line's retail profit to its seller, when the seller's status is active."""
    if not plan.retail_profit_enabled or inputs.m == 0:
        return empty_lines()
    ordered = line_order[inputs.line_retail_profit[line_order] > 0]
    sellers = inputs.line_buyer[ordered]
    paid = inputs.status[sellers] == STATUS_ACTIVE
    unpaid_raw = int(inputs.line_retail_profit[ordered[~paid]].sum()) * RATE_ONE
    ordered, sellers = ordered[paid], sellers[paid]  # already by (seller, line id)
    count = len(ordered)
    return KindLines(
        sellers,
        np.zeros(count, dtype=np.int16),
        sellers,
        inputs.line_id[ordered],
        inputs.line_retail_profit[ordered],
        np.full(count, RATE_ONE, dtype=np.int32),
        unpaid_raw,
    )


def fast_start_lines(
    plan: Plan, inputs: EngineInputs, *, is_active: BoolArray, line_order: IntArray
) -> KindLines:
    """The enroller's percent of the CV of lines paid in a new enrollee's first days; with
    ``fast_start.percents`` each enroller generation g its own percent, at level g (an
    inactive or missing g-th enroller: breakage, no compression)."""
    generations = plan.fast_start_generation_rates
    if (plan.fast_start_rate == 0 and not any(generations)) or inputs.m == 0:
        return empty_lines()
    buyers = inputs.line_buyer[line_order]
    enrollers = inputs.enroller[buyers]
    days_in = inputs.line_paid_day[line_order].astype(np.int64) - inputs.join_day[buyers]
    eligible = (
        (inputs.line_cv[line_order] > 0)
        & (enrollers >= 0)
        & (days_in >= 0)
        & (days_in < plan.fast_start_days)
    )
    ordered = line_order[eligible]
    items = Items(inputs.line_buyer[ordered], inputs.line_id[ordered], inputs.line_cv[ordered])
    if generations:
        n = inputs.n
        enroller_or_none = np.append(np.where(inputs.enroller >= 0, inputs.enroller, n), n)
        active = np.append(is_active, False)
        by_generation = []
        upline = enroller_or_none[items.source]
        for _ in generations:
            by_generation.append(np.where(active[upline], upline, n))
            upline = enroller_or_none[upline]
        return _lines_by_level(by_generation, list(generations), items, n)
    earners = inputs.enroller[items.source]
    earners = np.where(is_active[earners], earners, inputs.n)
    lines = _lines_by_level([earners], [plan.fast_start_rate], items, inputs.n)
    return replace(lines, level=np.zeros(len(lines), dtype=np.int16))


def advancement_lines(
    plan: Plan,
    inputs: EngineInputs,
    paid_as_rank: IntArray,
) -> tuple[KindLines, npt.NDArray[np.int16]]:
    """Advancement bonuses for ranks newly reached; returns lines and the new paid-up rank."""
    prior = inputs.prior_advancement_paid_rank.astype(np.int64)
    advanced = paid_as_rank > prior
    if plan.options.rank_advancement == "all_at_once":
        new_paid = np.where(advanced, paid_as_rank, prior)
    else:
        new_paid = np.where(advanced, prior + 1, prior)
    people = np.flatnonzero(advanced)
    counts = (new_paid - prior)[people]
    earners = np.repeat(people, counts)
    first_line = np.repeat(np.cumsum(counts) - counts, counts)
    ranks = prior[earners] + 1 + (np.arange(len(earners)) - first_line)
    bonuses = plan.rank_table("advancement_bonus")[ranks]
    keep = bonuses > 0
    earners, ranks, bonuses = earners[keep], ranks[keep], bonuses[keep]
    count = len(earners)
    none = np.full(count, -1, dtype=np.int64)
    lines = KindLines(
        earners,
        ranks.astype(np.int16),
        none,
        none,
        bonuses,
        np.full(count, RATE_ONE, dtype=np.int32),
        0,
    )
    return lines, new_paid.astype(np.int16)
