"""Stair-step (differential) commissions with breakaway and generation overrides.

Plan section::

    stair_step:
      percents: {bronze: 5, silver: 10, gold: 15, director: 20}   # percent per paid-as rank
      breakaway_rank: director           # optional: at or above it a leg breaks away
      generation_percents: [3, 2, 1]     # optional (needs breakaway_rank): generations 1..G
      volume: cv                         # the only volume it pays on (default)

Rules, per period, sponsor tree at the period's close:

* A distributor's stair-step percent is the percent of their paid-as rank: ranks not listed
  take the percent of the highest listed rank below them (0 % below the lowest listed rank);
  "no rank" and inactive distributors have 0 %. Percents must not decrease from a rank to a
  higher one.
* A breakaway leader is an active distributor paid as ``breakaway_rank`` or higher.
* Sources: every distributor with own CV > 0 (negative CV counts as 0); each source's CV is
  paid on by walking up from the source itself (the source first, then their sponsor, ...):
* Differential: "paid" starts at 0 %. Each person on the walk whose percent exceeds what was
  already paid below them on this volume earns the difference, ``percent − paid``, of the
  source's CV (line kind ``stair_step``), and paid becomes their percent. Someone whose
  percent does not exceed it earns nothing. The source earns their own percent on their own CV.
* Breakaway: the first breakaway leader on the walk (the source included) is the leg's leader
  L0; they still earn their differential, but nobody above them earns differential on this
  volume: it has broken away.
* Generation overrides: above L0, the breakaway leaders met in order are L1, L2, ...; Lg earns
  ``generation_percents[g - 1]`` of the source's CV (line kind ``generation_override``, level
  g): for Lg, L0 is the g-th breakaway leader below on the path. Nobody else above L0 earns on
  it, and generations beyond the list pay nothing.
* Breakage (``unpaid_raw``): stair-step: (highest percent of the schedule − the differential
  paid in total) × CV of every source; generation overrides: generation g's percent × CV of
  every source with no Lg (including sources that never broke away).

Lines: ``stair_step`` level = the earner's paid-as rank number (so the statement can say
"their percent − paid below"), base = the source's CV, rate = the difference;
``generation_override`` level = g, rate = the generation's percent. source_line is -1.

Vectorized per step of the walk, not per level: with the distinct percents p_0 = 0 < p_1 <
... < p_Q, ``Forest.nearest_ancestor`` gives, for every person and j, the nearest ancestor
whose percent exceeds p_j, and the nearest breakaway leader; each source jumps straight to
the next person who earns or breaks away, so the walk takes at most Q + 1 + G steps whatever
the tree's depth.

Checked against a published example (the test cites it): a distributor at 40 % above
downlines at 36 % earns the 4 % difference on their groups, and with 1 % first and second
generation leadership bonuses earns 1 % on a breakaway leader's group excluding that leader's
own breakaway leg (generation 1) and 1 % on that leg (generation 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from . import words
from .bonuses import KindLines, empty_lines
from .components import ComponentContext, ComponentOutput, ComponentSpec, register
from .money import rate_to_percent, raw_total
from .results import KIND_CODES

IntArray = npt.NDArray[np.int64]
VOLUMES = ("cv",)


@dataclass(frozen=True)
class StairStepOptions:
    # percent (rate units, ``money.py``) per rank number 0..R (index 0 = no rank = 0)
    rates_by_rank: tuple[int, ...]
    breakaway_rank: int | None  # rank number 1..R, None: no breakaway
    generation_rates: tuple[int, ...]
    volume: str = "cv"


def parse(reader: Any, value: Any, path: str) -> StairStepOptions:
    fields = reader.mapping(
        value,
        path,
        ("percents", "breakaway_rank", "generation_percents", "volume"),
        required=("percents",),
    )
    codes: dict[str, int] = reader.rank_codes
    table: tuple[int, ...] = (0,)
    if "percents" in fields:
        if isinstance(fields["percents"], dict) and not fields["percents"]:
            reader.fail(f"{path}.percents", "must give a percent for at least one rank")
        table = reader.by_rank(
            fields["percents"],
            f"{path}.percents",
            reader.percent,
            what="percent",
            show=lambda rate: f"{rate_to_percent(rate)} %",
        )
    breakaway = None
    if "breakaway_rank" in fields:
        code = fields["breakaway_rank"]
        if not isinstance(code, str) or code not in codes:
            reader.fail(
                f"{path}.breakaway_rank",
                f"unknown rank code {code!r} (one of {', '.join(codes) or 'the plan ranks'})",
            )
        else:
            breakaway = codes[code]
    generations: tuple[int, ...] = ()
    if "generation_percents" in fields:
        generations = reader.percent_list(
            fields["generation_percents"], f"{path}.generation_percents"
        )
        if generations and "breakaway_rank" not in fields:
            reader.fail(
                f"{path}.generation_percents",
                "needs breakaway_rank: generation overrides are paid on legs that broke away",
            )
    volume = reader.choice(fields.get("volume", "cv"), f"{path}.volume", VOLUMES) or "cv"
    return StairStepOptions(tuple(table), breakaway, generations, volume)


def compute(options: StairStepOptions, context: ComponentContext) -> ComponentOutput:
    forest = context.forest
    n = forest.n
    rate_of_rank = np.array(options.rates_by_rank, dtype=np.int64)
    rate = np.where(context.is_active, rate_of_rank[context.paid_as], 0)
    # Distinct percents 0 = p_0 < p_1 < ... ; q[v] = index of v's percent.
    steps = np.unique(np.concatenate(([0], rate_of_rank)))
    q = np.append(np.searchsorted(steps, rate), 0)
    rate = np.append(rate, 0)
    if options.breakaway_rank is None:
        leader = np.zeros(n + 1, dtype=bool)
    else:
        leader = np.append(context.is_active & (context.paid_as >= options.breakaway_rank), False)
    # above[v, j]: nearest strict ancestor whose percent exceeds p_j (n: none).
    above = forest.nearest_ancestor(q[:, None] > np.arange(len(steps))[None, :])
    nearest_leader = forest.nearest_ancestor(leader)
    rank = np.append(context.paid_as, 0)
    depth = np.append(forest.depth.astype(np.int64), -1)  # the sentinel n above every root
    cv = context.cv
    top = int(steps[-1])

    sources = np.flatnonzero(cv > 0)
    base = cv[sources]
    # The walk's state per source still differential: where it is and what was paid.
    where = sources.copy()
    paid = rate[where]  # the source earns their own percent first
    step_parts: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    earns = paid > 0
    step_parts.append((where[earns], sources[earns], base[earns], paid[earns]))
    paid_total = paid.copy()
    broke = leader[where]
    leaders = np.where(broke, where, n)  # L0 per source (n: none yet)
    live = np.flatnonzero(~broke)
    paid_q = q[where]
    while len(live):
        here = where[live]
        nxt = above[here, paid_q[live]]
        lead = nearest_leader[here]
        # The leader comes first when it is at or below the next earner (the next earner
        # being n, "none", when nobody above pays more).
        leader_first = (lead != n) & ((nxt == n) | (depth[lead] >= depth[nxt]))
        stop = (nxt == n) & (lead == n)
        to = np.where(leader_first, lead, nxt)
        go = ~stop
        live, to, leader_first = live[go], to[go], leader_first[go]
        diff = rate[to] - paid_total[live]
        earn = diff > 0
        step_parts.append(
            (to[earn], sources[live[earn]], base[live[earn]], diff[earn].astype(np.int64))
        )
        paid_total[live[earn]] = rate[to[earn]]
        paid_q[live[earn]] = q[to[earn]]
        where[live] = to
        leaders[live[leader_first]] = to[leader_first]
        live = live[~leader_first]

    stair = _sorted_lines(step_parts, rank, level_of="rank")
    stair = KindLines(
        stair.earner,
        stair.level,
        stair.source,
        stair.source_line,
        stair.base,
        stair.rate,
        raw_total(base, top - paid_total),  # exact: the company-wide sum passes int64
    )
    generations = _generation_lines(options, sources, base, leaders, nearest_leader, n)
    return ComponentOutput({"stair_step": stair, "generation_override": generations})


def _generation_lines(
    options: StairStepOptions,
    sources: IntArray,
    base: IntArray,
    leaders: IntArray,
    nearest_leader: IntArray,
    n: int,
) -> KindLines:
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    levels: list[int] = []
    unpaid = 0
    upline = leaders
    for g, rate in enumerate(options.generation_rates, start=1):
        upline = nearest_leader[upline]  # the sentinel's own entry is n
        paid = upline != n
        unpaid += int(base[~paid].sum()) * rate  # CV sums fit int64; × rate in Python ints
        if rate == 0:
            continue
        parts.append(
            (upline[paid], sources[paid], base[paid], np.full(int(paid.sum()), rate, np.int64))
        )
        levels.append(g)
    if not parts:
        return empty_lines(unpaid)
    lines = _sorted_lines(parts, None, level_of="part", part_levels=levels)
    return KindLines(
        lines.earner,
        lines.level,
        lines.source,
        lines.source_line,
        lines.base,
        lines.rate,
        unpaid,
    )


def _sorted_lines(
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray]],
    rank: IntArray | None,
    *,
    level_of: str,
    part_levels: list[int] | None = None,
) -> KindLines:
    """Lines from (earner, source, base, rate) parts, sorted by earner, level, source."""
    if not parts:
        return empty_lines()
    earner = np.concatenate([p[0] for p in parts]).astype(np.int64)
    source = np.concatenate([p[1] for p in parts]).astype(np.int64)
    base = np.concatenate([p[2] for p in parts]).astype(np.int64)
    rate = np.concatenate([p[3] for p in parts]).astype(np.int64)
    if level_of == "rank":
        assert rank is not None
        level = rank[earner]
    else:
        assert part_levels is not None
        level = np.repeat(np.array(part_levels, dtype=np.int64), [len(p[0]) for p in parts])
    order = _line_order(earner, level, source)
    return KindLines(
        earner[order],
        level[order].astype(np.int16),
        source[order],
        np.full(len(order), -1, dtype=np.int64),
        base[order],
        rate[order].astype(np.int32),
        0,
    )


def _line_order(earner: IntArray, level: IntArray, source: IntArray) -> IntArray:
    """The order of lines by (earner, level, source), unique per line: one packed int64 key
    sorted when it fits (several times faster than a three-key lexsort), else lexsort."""
    if len(earner) == 0:
        return np.zeros(0, dtype=np.int64)
    level_bound = int(level.max()) + 1
    source_bound = int(source.max()) + 1
    if (int(earner.max()) + 1) * level_bound * source_bound < 2**63:
        return np.argsort((earner * level_bound + level) * source_bound + source)
    return np.lexsort((source, level, earner))


def max_payout_percent(options: StairStepOptions) -> Decimal:
    """A cent of CV pays at most the highest percent in differentials (they add up to the
    highest percent reached on the walk) plus every generation once."""
    return rate_to_percent(max(options.rates_by_rank) + sum(options.generation_rates))


def explain(line: Any, options: StairStepOptions, kind: str | int | None = None) -> str:
    """The rule's words for one line (``level``, ``base`` cents, ``rate``; a
    ``generation_override`` line is told apart by its ``kind`` attribute or argument)."""
    named = kind if kind is not None else getattr(line, "kind", "stair_step")
    rate, base, level = int(line.rate), int(line.base), int(line.level)
    if named in ("generation_override", KIND_CODES["generation_override"]):
        return f"generation {level} override: {words.percent(rate)} % of {words.money(base)} CV"
    own = options.rates_by_rank[level] if 0 <= level < len(options.rates_by_rank) else rate
    below = own - rate
    if below <= 0:
        return f"stair-step: {words.percent(own)} % of {words.money(base)} CV"
    return (
        f"stair-step: {words.percent(own)} % − {words.percent(below)} % paid below = "
        f"{words.percent(rate)} % of {words.money(base)} CV"
    )


SPEC = register(
    ComponentSpec(
        key="stair_step",
        kinds=("stair_step", "generation_override"),
        parse=parse,
        compute=compute,
        max_payout_percent=max_payout_percent,
        explain=explain,
    )
)
