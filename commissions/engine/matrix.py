"""Matrix: level commissions that follow the placement tree instead of the sponsor tree.

Plan section::

    placement: {kind: matrix, width: 3, depth: 7}     # the tree (genealogy's placement policy)
    matrix:
      percents: [5, 5, 5, 5, 5, 5, 5]                # percent of the source's CV, level 1..L
      compression: none | skip_inactive | dynamic    # default none
      levels_by_rank: {bronze: 3, silver: 7}          # optional

Rules (per period, tree as of the period's close, ``inputs.placement_parent``):

* Sources: every distributor with own CV > 0 (negative CV counts as 0), one item each.
* Level k of a source is paid on the k-th placement upline of the source, its placement
  parent being level 1, at ``percents[k - 1]`` of the source's CV. Width and depth are those of
  the placement tree itself: a W-wide tree has at most W children per person, and levels
  beyond ``len(percents)`` pay nothing. A matrix ``depth`` D allows at most D levels (more
  could never pay: the plan is refused).
* Who unlocks a level: an active distributor (the core's activity rule) unlocks every level
  when ``levels_by_rank`` is absent; with it, an active distributor paid as rank r unlocks the
  levels listed for r, or for the highest listed rank below r (0 below the lowest listed rank
  and for "no rank"). The listed numbers must not decrease from a rank to a higher one and are
  at most ``len(percents)``. Inactive distributors unlock nothing.
* Compression works exactly as the unilevel's (``bonuses.py``: ``none``, ``skip_inactive``,
  ``dynamic``), the same walk code over the placement forest.
* Breakage (``unpaid_raw``): a level nobody qualifies for, including levels left when the
  placement root is passed and every level of a source who is not placed under anyone.

The plan must have a placement tree (``placement.kind`` matrix or binary); a period's inputs
without ``placement_parent`` are refused. Lines: earner, level k, source, source_line -1,
base = the source's CV, rate = the level's rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from . import words
from .bonuses import Items, _lines_by_level, _walk_dynamic, _walk_none, _walk_skip_inactive
from .components import ComponentContext, ComponentOutput, ComponentSpec, register
from .money import rate_to_percent
from .tree import Forest

COMPRESSIONS = ("none", "skip_inactive", "dynamic")
PLACEMENT_KINDS = ("matrix", "binary")
_WALKS = {"none": _walk_none, "skip_inactive": _walk_skip_inactive, "dynamic": _walk_dynamic}


@dataclass(frozen=True)
class MatrixOptions:
    level_rates: tuple[int, ...]
    compression: str
    # unlocked levels per rank number (index 0 = no rank); None: every active person, all.
    levels_by_rank: tuple[int, ...] | None


def parse(reader: Any, value: Any, path: str) -> MatrixOptions:
    fields = reader.mapping(
        value, path, ("percents", "compression", "levels_by_rank"), required=("percents",)
    )
    if reader.placement_kind not in PLACEMENT_KINDS:
        reader.fail(
            path,
            "pays on the placement tree, but the plan has none: set placement.kind to matrix "
            f"(or binary); placement.kind is {reader.placement_kind!r}",
        )
    percents = reader.percent_list(fields.get("percents", []), f"{path}.percents")
    if "percents" in fields and not percents:
        reader.fail(f"{path}.percents", "must list at least one level")
    depth = reader.placement_depth if reader.placement_kind == "matrix" else None
    if depth is not None and len(percents) > depth:
        reader.fail(
            f"{path}.percents",
            f"lists {len(percents)} levels, but the matrix is {depth} deep (placement.depth): "
            f"levels beyond {depth} can never pay",
        )
    compression = (
        reader.choice(fields.get("compression", "none"), f"{path}.compression", COMPRESSIONS)
        or "none"
    )
    levels_by_rank = None
    if "levels_by_rank" in fields:
        levels_by_rank = reader.by_rank(
            fields["levels_by_rank"],
            f"{path}.levels_by_rank",
            lambda value, where: reader.integer(value, where, maximum=len(percents)),
            what="levels",
        )
    return MatrixOptions(percents, compression, levels_by_rank)


def unlocked_levels(options: MatrixOptions, context: ComponentContext) -> np.ndarray:
    """Levels each distributor unlocks (0 when inactive)."""
    if options.levels_by_rank is None:
        levels = np.full(context.inputs.n, len(options.level_rates), dtype=np.int64)
    else:
        levels = np.array(options.levels_by_rank, dtype=np.int64)[context.paid_as]
    return np.where(context.is_active, levels, 0)


def compute(options: MatrixOptions, context: ComponentContext) -> ComponentOutput:
    inputs = context.inputs
    if inputs.placement_parent is None:
        raise ValueError("matrix: the plan pays on the placement tree but the inputs have none")
    n = inputs.n
    forest = Forest.build(inputs.placement_parent)
    parent_or_none = forest.parent_or_none()
    sources = np.flatnonzero(context.cv > 0)
    items = Items(sources, np.full(len(sources), -1, dtype=np.int64), context.cv[sources])
    unlocked = np.append(unlocked_levels(options, context), 0)
    active = np.append(context.is_active, False)
    walk = _WALKS[options.compression]
    first = parent_or_none[sources]
    earners = list(walk(forest, first, unlocked, active, parent_or_none, len(options.level_rates)))
    lines = _lines_by_level(earners, list(options.level_rates), items, n)
    return ComponentOutput({"matrix": lines})


def max_payout_percent(options: MatrixOptions) -> Decimal:
    """Each cent of CV pays at most every level someone can unlock once."""
    levels = (
        len(options.level_rates) if options.levels_by_rank is None else max(options.levels_by_rank)
    )
    return rate_to_percent(sum(options.level_rates[:levels]))


def explain(line: Any, options: MatrixOptions) -> str:
    """``line`` has ``level``, ``base`` (cents) and ``rate`` (a result line or row)."""
    return (
        f"matrix level {int(line.level)} of {len(options.level_rates)} (placement tree): "
        f"{words.percent(int(line.rate))} % of {words.money(int(line.base))} CV"
    )


SPEC = register(
    ComponentSpec(
        key="matrix",
        kinds=("matrix",),
        parse=parse,
        compute=compute,
        max_payout_percent=max_payout_percent,
        explain=explain,
    )
)
