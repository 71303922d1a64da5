"""Explain and re-derive unilevel lines from a run's frozen per-distributor results.

The ledger stores unilevel aggregated per (earner, level): at a million distributors the
engine produces ~3.7M unilevel lines (one per earner, source and level) but only ~110k
(earner, level) pairs, and writing the detail would cost ~10 s of the 30 s budget. The detail
is exact to re-derive, because a run freezes everything the walk reads: each distributor's
parent at close, activity and paid-as rank (hence the levels they unlock) and CV.

* ``aggregate_unilevel(lines)`` folds per-source unilevel lines into (earner, level) lines.
* ``unilevel_sources(...)`` re-runs the engine's own walk over the frozen forest and returns
  the sources that paid one earner (optionally one level), with the per-line amounts.
* ``explain_unilevel_path(chain, ...)`` says, for one source and one earner, who between them
  was skipped and why ("Ben was inactive and was skipped").
* ``unilevel_payers(chain, ...)`` lists who was paid each level of one source's CV (clawbacks).

Pure numpy/Python: no Django, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .bonuses import _walk_dynamic, _walk_none, _walk_skip_inactive
from .money import round_product
from .plan import Plan
from .results import KIND_CODES, ResultLines
from .tree import Forest

IntArray = npt.NDArray[np.int64]
UNILEVEL = KIND_CODES["unilevel"]


def aggregate_unilevel(lines: ResultLines) -> ResultLines:
    """Lines with every unilevel run of one (earner, level) folded into one line.

    Keeps the result order (earner, kind, level, ...): unilevel lines of one earner and level
    are contiguous. The folded line has ``source`` and ``source_line`` -1, ``base`` and both
    amounts summed, the level's rate.
    """
    is_unilevel = lines.kind == UNILEVEL
    if not is_unilevel.any():
        return lines
    # A new group starts at every line that is not unilevel, or whose (earner, level) differs
    # from the previous line's, or whose predecessor is not unilevel.
    n = len(lines)
    starts = np.ones(n, dtype=bool)
    same = (
        is_unilevel[1:]
        & is_unilevel[:-1]
        & (lines.earner[1:] == lines.earner[:-1])
        & (lines.level[1:] == lines.level[:-1])
    )
    starts[1:] = ~same
    first = np.flatnonzero(starts)
    folded = np.add.reduceat
    grouped_unilevel = is_unilevel[first]
    return ResultLines(
        earner=lines.earner[first],
        kind=lines.kind[first],
        level=lines.level[first],
        source=np.where(grouped_unilevel, -1, lines.source[first]),
        source_line=np.where(grouped_unilevel, -1, lines.source_line[first]),
        base=folded(lines.base, first),
        rate=lines.rate[first],
        amount_before_cap=folded(lines.amount_before_cap, first),
        amount=folded(lines.amount, first),
    )


@dataclass(frozen=True)
class FrozenForest:
    """What a run froze, indexed 0..n-1: parent index (-1 root), activity, paid-as rank, CV."""

    parent: IntArray
    is_active: npt.NDArray[np.bool_]
    paid_as_rank: IntArray
    cv: IntArray


@dataclass(frozen=True)
class SourceLines:
    """Re-derived unilevel lines of one earner: source index, level, base (CV), rate, amount
    (rounded per line, before any payout cap)."""

    source: IntArray
    level: IntArray
    base: IntArray
    rate: IntArray
    amount: IntArray

    def __len__(self) -> int:
        return len(self.source)


def unilevel_sources(
    plan: Plan, frozen: FrozenForest, earner: int, level: int | None = None
) -> SourceLines:
    """The unilevel lines ``earner`` was paid (one level or all), re-derived with the engine's
    walk over the frozen forest; ordered by level, then source (the engine's order).

    Only for plans with ``upline: period_close`` (per-source unilevel); amounts are rounded per
    line, as ``rounding_point: line`` does.
    """
    forest = Forest.build(frozen.parent)
    depth_levels = len(plan.unilevel_rates)
    unlocked_levels = plan.rank_table("unilevel_levels")[frozen.paid_as_rank]
    sources = np.flatnonzero(frozen.cv > 0)
    first = forest.parent_or_none()[sources]
    unlocked = np.append(unlocked_levels, 0)
    active = np.append(frozen.is_active, False)
    walk = {"none": _walk_none, "skip_inactive": _walk_skip_inactive, "dynamic": _walk_dynamic}[
        plan.options.compression
    ]
    found_source: list[IntArray] = []
    found_level: list[IntArray] = []
    for k, earners in enumerate(
        walk(forest, first, unlocked, active, forest.parent_or_none(), depth_levels), start=1
    ):
        if level is not None and k != level:
            continue
        hits = sources[earners == earner]
        found_source.append(hits)
        found_level.append(np.full(len(hits), k, dtype=np.int64))
    if not found_source:
        empty = np.zeros(0, dtype=np.int64)
        return SourceLines(empty, empty, empty, empty, empty)
    source = np.concatenate(found_source)
    levels = np.concatenate(found_level)
    rates = np.array([0, *plan.unilevel_rates], dtype=np.int64)[levels]
    keep = rates > 0
    source, levels, rates = source[keep], levels[keep], rates[keep]
    base = frozen.cv[source]
    return SourceLines(
        source, levels, base, rates, round_product(base, rates, plan.options.rounding)
    )


@dataclass(frozen=True)
class Upline:
    """One person above a source, nearest first: id, active this period, levels unlocked."""

    distributor_id: int
    is_active: bool
    unlocked_levels: int


@dataclass(frozen=True)
class Skip:
    distributor_id: int
    reason: str  # "inactive" or "not_unlocked"
    level: int  # the level that passed them by


@dataclass(frozen=True)
class Payer:
    """Who was paid one level of a source's CV, and who was skipped on the way up to them."""

    level: int
    distributor_id: int | None  # None: nobody qualified (breakage)
    skipped: tuple[Skip, ...]


def unilevel_payers(chain: Sequence[Upline], *, levels: int, compression: str) -> list[Payer]:
    """Who earns each level 1..``levels`` of one source's CV, walking ``chain`` (the source's
    uplines, nearest first) with the plan's compression, exactly as ``bonuses.py`` does."""
    payers: list[Payer] = []
    position = 0  # next person in the chain to consider
    for k in range(1, levels + 1):
        skipped: list[Skip] = []
        earner: int | None = None
        if compression == "none":
            if position < len(chain):
                person = chain[position]
                position += 1
                if person.unlocked_levels >= k:
                    earner = person.distributor_id
                else:
                    reason = "inactive" if not person.is_active else "not_unlocked"
                    skipped.append(Skip(person.distributor_id, reason, k))
        elif compression == "skip_inactive":
            while position < len(chain) and not chain[position].is_active:
                skipped.append(Skip(chain[position].distributor_id, "inactive", k))
                position += 1
            if position < len(chain):
                person = chain[position]
                position += 1
                if person.unlocked_levels >= k:
                    earner = person.distributor_id
                else:
                    skipped.append(Skip(person.distributor_id, "not_unlocked", k))
        else:  # dynamic
            while position < len(chain) and chain[position].unlocked_levels < k:
                person = chain[position]
                reason = "inactive" if not person.is_active else "not_unlocked"
                skipped.append(Skip(person.distributor_id, reason, k))
                position += 1
            if position < len(chain):
                earner = chain[position].distributor_id
                position += 1
        payers.append(Payer(k, earner, tuple(skipped)))
    return payers


def explain_unilevel_path(
    chain: Sequence[Upline], *, earner_id: int, level: int, compression: str, levels: int
) -> tuple[Skip, ...] | None:
    """The people skipped between a source and ``earner_id`` for ``level`` (all levels up to
    it), or None when the walk does not pay ``earner_id`` that level."""
    payers = unilevel_payers(chain, levels=levels, compression=compression)
    if level > len(payers) or payers[level - 1].distributor_id != earner_id:
        return None
    skipped: list[Skip] = []
    for payer in payers[:level]:
        skipped.extend(payer.skipped)
    return tuple(skipped)
