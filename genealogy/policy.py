"""What the company's plan says about the placement tree, and which months are closed.

Both are the commissions app's knowledge, a layer above this one: it registers a provider here
when it loads (``CommissionsConfig.ready``). Without one (the genealogy app alone) there is no
placement tree and every month is open.

The plan document's ``placement`` section::

    placement:
      kind: binary            # none | binary | matrix
      width: 3                # matrix only (binary is 2)
      depth: 7                # matrix only, optional: the levels the matrix pays; placement
                              # spills over deeper
      rule: holding_tank      # the company's rule for new recruits (see RULES)
      auto_rule: weaker_leg_people   # where the tank places at its deadline
      tank_days: 7
      sponsor_may_choose: true       # a sponsor may pick a rule for their own recruits
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KINDS = ("none", "binary", "matrix")
HOLDING_TANK = "holding_tank"
# rule -> the tree kinds it works in
RULES: dict[str, tuple[str, ...]] = {
    HOLDING_TANK: ("binary", "matrix"),  # the sponsor places by hand; the tank's deadline rule
    "outermost_left": ("binary", "matrix"),
    "outermost_right": ("binary", "matrix"),
    "weaker_leg_volume": ("binary",),  # the leg with less volume this period
    "weaker_leg_people": ("binary",),  # the leg with fewer people
    "alternate": ("binary",),  # left, right, left, ... over the sponsor's own recruits
    "breadth_first": ("binary", "matrix"),  # first free position, level by level (spillover)
}
RULE_LABELS = {
    HOLDING_TANK: "Holding tank: the sponsor places by hand",
    "outermost_left": "Outermost left",
    "outermost_right": "Outermost right",
    "weaker_leg_volume": "Weaker leg (less volume this period)",
    "weaker_leg_people": "Weaker leg (fewer people)",
    "alternate": "Alternate left and right",
    "breadth_first": "First free position, level by level",
}


class PlacementPolicyError(ValueError):
    """A plan's placement section that cannot be used, with the reason a person should read."""


@dataclass(frozen=True)
class PlacementPolicy:
    kind: str = "none"
    width: int = 2
    depth: int | None = None
    rule: str = HOLDING_TANK
    auto_rule: str = "breadth_first"
    tank_days: int = 7
    sponsor_may_choose: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def has_placement_tree(self) -> bool:
        return self.kind != "none"

    def rules_for_sponsors(self) -> list[str]:
        """The rules a sponsor may pick for their own recruits (none unless allowed)."""
        if not self.has_placement_tree or not self.sponsor_may_choose:
            return []
        return [rule for rule, kinds in RULES.items() if self.kind in kinds]

    def rule_for(self, sponsor_rule: str) -> str:
        """The rule that places a recruit of a sponsor whose own choice is ``sponsor_rule``."""
        if sponsor_rule and sponsor_rule in self.rules_for_sponsors():
            return sponsor_rule
        return self.rule

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> PlacementPolicy:
        if not raw:
            return cls()
        if not isinstance(raw, Mapping):
            raise PlacementPolicyError("placement: expected a mapping of options")
        known = {"kind", "width", "depth", "rule", "auto_rule", "tank_days", "sponsor_may_choose"}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise PlacementPolicyError(f"placement: unknown option(s) {', '.join(unknown)}")
        kind = raw.get("kind", "none")
        if kind not in KINDS:
            raise PlacementPolicyError(f"placement.kind: one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "none":
            return cls()
        width = _whole(raw.get("width", 2), "placement.width", minimum=2)
        if kind == "binary" and width != 2:
            raise PlacementPolicyError("placement.width: a binary tree is 2 wide")
        depth = raw.get("depth")
        if depth is not None:
            if kind != "matrix":
                raise PlacementPolicyError("placement.depth: only a matrix has a depth")
            depth = _whole(depth, "placement.depth", minimum=1)
        rule = raw.get("rule", HOLDING_TANK)
        auto_rule = raw.get("auto_rule", "breadth_first")
        for name, value in (("rule", rule), ("auto_rule", auto_rule)):
            if value not in RULES:
                raise PlacementPolicyError(
                    f"placement.{name}: one of {', '.join(RULES)}, not {value!r}"
                )
            if kind not in RULES[value]:
                raise PlacementPolicyError(f"placement.{name}: {value} does not work in a {kind}")
        if auto_rule == HOLDING_TANK:
            raise PlacementPolicyError("placement.auto_rule: the tank needs a rule that places")
        tank_days = _whole(raw.get("tank_days", 7), "placement.tank_days", minimum=0)
        sponsor_may_choose = raw.get("sponsor_may_choose", False)
        if not isinstance(sponsor_may_choose, bool):
            raise PlacementPolicyError("placement.sponsor_may_choose: true or false")
        return cls(
            kind=kind,
            width=width,
            depth=depth,
            rule=rule,
            auto_rule=auto_rule,
            tank_days=tank_days,
            sponsor_may_choose=sponsor_may_choose,
        )


def _whole(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlacementPolicyError(f"{name}: a whole number of at least {minimum}")
    return value


PolicyProvider = Callable[[dt.datetime | None], PlacementPolicy]
LockedMonthsReader = Callable[[dt.date], Collection[dt.date]]

_policy_provider: PolicyProvider | None = None
_locked_months_reader: LockedMonthsReader | None = None


def register_policy_provider(provider: PolicyProvider | None) -> None:
    """Install the function that reads the placement policy in force at a moment."""
    global _policy_provider
    _policy_provider = provider


def placement_policy(at: dt.datetime | None = None) -> PlacementPolicy:
    """The placement policy in force at ``at`` (now when None)."""
    return _policy_provider(at) if _policy_provider is not None else PlacementPolicy()


def register_locked_months_reader(reader: LockedMonthsReader | None) -> None:
    """Install the function that lists closed months (first days) from a given month on."""
    global _locked_months_reader
    _locked_months_reader = reader


def locked_months_from(first_day: dt.date) -> set[dt.date]:
    return set(_locked_months_reader(first_day)) if _locked_months_reader is not None else set()


# The volume of placement legs this commission period: a leg is the label range (lft, rght) of
# its top's `Placement` row. Volume is the orders app's (a layer above): it registers a reader
# in `OrdersConfig.ready`. Without one the weaker-leg-by-volume rule counts people instead.
LegVolumeReader = Callable[[Sequence[tuple[int, int]], dt.datetime | None], Sequence[Decimal]]

_leg_volume_reader: LegVolumeReader | None = None


def register_leg_volume_reader(reader: LegVolumeReader | None) -> None:
    """Install the function that sums this period's PV of the people in each placement leg."""
    global _leg_volume_reader
    _leg_volume_reader = reader


def leg_volumes(
    legs: Sequence[tuple[int, int]], *, at: dt.datetime | None = None
) -> list[Decimal] | None:
    """This period's PV of each leg (the period containing ``at``, now when None), or None
    when nothing provides volume."""
    if _leg_volume_reader is None:
        return None
    return list(_leg_volume_reader(legs, at))
