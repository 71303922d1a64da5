"""Plan components: the parts of a plan beyond the unilevel core, each pure and on its own.

A plan document names its components by key (``binary:``, ``matrix:``, ``stair_step:``, ...);
each key is registered here by the module that implements it, with

* ``parse(reader, value, path)``: validate the section with the plan reader's helpers
  (``reader.mapping``, ``reader.percent``, ``reader.cents``, ``reader.fail``, ...) and return
  an immutable options object; every problem is reported through ``reader.fail`` with its path;
* ``compute(options, context)``: the component's lines for one period, numpy over the
  gathered arrays (no per-person Python), as ``ComponentOutput``;
* ``max_payout_percent(options)``: its share of CV at most (None: not a share of CV);
* ``explain(line, options)``: the rule's words for one statement line.

``run_engine`` runs the plan's components in ``ORDER`` (registration order, which is the
order of their kinds in ``results.KINDS``), after the core kinds, each seeing the rounded
earnings of every kind computed before it (an override pays on what was earned below).
Components import nothing from Django; their modules register themselves when
``commissions.engine`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .results import KINDS

if TYPE_CHECKING:
    from .bonuses import KindLines
    from .inputs import EngineInputs
    from .tree import Forest

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ComponentContext:
    """What a component reads: the period's inputs and what the core computed. Empty lines
    of a kind: ``bonuses.empty_lines()``."""

    plan: Any  # the Plan (typed loosely: plan.py imports this module)
    inputs: EngineInputs
    forest: Forest  # the enrollment (sponsor) tree at the period's close
    is_active: npt.NDArray[np.bool_]
    pv: IntArray  # own PV, negatives as 0
    cv: IntArray  # own CV, negatives as 0
    gv: IntArray
    paid_as: IntArray  # paid-as rank index per person (0 = none)
    line_order: IntArray  # order lines in result order (``bonuses.lines_by_order``)
    earnings: Mapping[str, IntArray]  # rounded cents per person of each kind computed so far


@dataclass(frozen=True)
class ComponentOutput:
    """A component's lines, by kind (one component may write more than one kind), and the
    state it hands to the next period (None: nothing)."""

    lines: Mapping[str, KindLines]
    state: Any = None


@dataclass(frozen=True)
class ComponentSpec:
    key: str  # the plan document's key
    kinds: tuple[str, ...]  # the line kinds it writes (names in results.KINDS)
    parse: Callable[[Any, Any, str], Any]
    compute: Callable[[Any, ComponentContext], ComponentOutput]
    max_payout_percent: Callable[[Any], Decimal | None] = field(default=lambda options: None)
    explain: Callable[[Any, Any], str] | None = None


REGISTRY: dict[str, ComponentSpec] = {}


def register(spec: ComponentSpec) -> ComponentSpec:
    unknown = [kind for kind in spec.kinds if kind not in KINDS]
    if unknown:
        raise ValueError(f"component {spec.key!r}: unknown kinds {unknown}")
    REGISTRY[spec.key] = spec
    return spec


def ordered(keys: Mapping[str, Any]) -> list[tuple[ComponentSpec, Any]]:
    """The plan's components with their options, in the order they run: by their first
    kind's position in ``KINDS``."""
    specs = [(REGISTRY[key], options) for key, options in keys.items()]
    return sorted(specs, key=lambda pair: KINDS.index(pair[0].kinds[0]))


__all__ = [
    "REGISTRY",
    "ComponentContext",
    "ComponentOutput",
    "ComponentSpec",
    "ordered",
    "register",
]
