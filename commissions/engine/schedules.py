"""Pay schedules: which of a plan's kinds are paid monthly and which weekly (pure, no Django).

Plan section
------------
::

    schedules:
      weekly:
        components: [binary, fast_start]  # the kinds paid every week
        week_starts: monday               # the first day of a pay week (default monday)
        minimum_payout: 20                # the weekly balance is paid from this amount on
        activity_weeks: 4                 # active = activity.personal_pv over the last N weeks

Rules
-----
1. **One schedule per kind.** Every kind of line is paid on exactly one schedule. Without a
   ``schedules`` section everything is monthly, as before. The kinds that may be weekly are
   those whose rules need no month: ``fast_start``, ``retail_profit``, ``binary`` and
   ``order_award`` (each must be in the plan). Unilevel, matching, ranks and their advancement
   bonuses, stair-step, generation overrides and matrix stay monthly: they read the month's
   ranks and group volume.
2. **The monthly run** pays every kind that is not weekly, exactly as a plan without schedules
   would, with the plan's ``minimum_payout`` and the monthly balance.
3. **A weekly run** pays only the weekly kinds, over the pay week's order lines and volume
   (the binary legs fill with the week's volume; unpaid leg volume is kept per source week and
   ``carry.expire_periods`` counts weeks). A person is active in the week when their status is
   active and their personal PV over the ``activity_weeks`` weeks ending with this one reaches
   ``activity.personal_pv``. No rank is computed from a week: a weekly rule that asks for a
   rank (binary ``qualification.rank``) reads the paid-as rank of the latest monthly run.
4. **Balances.** Each schedule keeps its own balance, carried from that schedule's previous
   period, and pays it once it reaches the schedule's minimum payout; a weekly amount is never
   paid again by the month, nor a monthly one by a week.
5. A ``payout_cap`` is a share of one period's CV, so it is refused together with weekly kinds
   (it would have to cap the weeks' payments of a month before the month is known).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plan import Plan

MONTHLY = "monthly"
WEEKLY = "weekly"
SCHEDULES = (MONTHLY, WEEKLY)

WEEKLY_KINDS = ("fast_start", "retail_profit", "binary", "order_award")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_ACTIVITY_WEEKS = 13


@dataclass(frozen=True)
class WeeklySchedule:
    """The weekly schedule of a plan: its kinds, the weekday a week starts on (0 = Monday, as
    ``datetime.date.weekday``), its minimum payout (cents) and the activity window (weeks)."""

    kinds: tuple[str, ...]
    week_starts: int = 0
    minimum_payout: int = 0
    activity_weeks: int = 4

    @property
    def week_starts_name(self) -> str:
        return WEEKDAYS[self.week_starts]


def read_schedules(reader: Any, value: Any, *, kinds_in_plan: set[str], has_cap: bool):
    """The ``schedules`` section as a ``WeeklySchedule`` (or None), problems noted on ``reader``
    (the plan reader: ``mapping``, ``cents``, ``integer``, ``fail``)."""
    section = reader.mapping(value, "schedules", (WEEKLY,), required=(WEEKLY,))
    if WEEKLY not in section:
        return None
    path = f"schedules.{WEEKLY}"
    weekly = reader.mapping(
        section[WEEKLY],
        path,
        ("components", "week_starts", "minimum_payout", "activity_weeks"),
        required=("components",),
    )
    kinds: list[str] = []
    listed = weekly.get("components", [])
    if "components" in weekly and (not isinstance(listed, list) or not listed):
        reader.fail(f"{path}.components", "must list at least one component paid weekly")
    if not isinstance(listed, list):
        listed = []
    for index, kind in enumerate(listed):
        where = f"{path}.components[{index}]"
        if kind not in WEEKLY_KINDS:
            reader.fail(
                where,
                f"{kind!r} cannot be paid weekly: only {', '.join(WEEKLY_KINDS)} can (the others "
                "read the month's ranks and group volume)",
            )
        elif kind not in kinds_in_plan:
            reader.fail(where, f"{kind!r} is not in this plan")
        elif kind in kinds:
            reader.fail(where, f"{kind!r} is listed twice")
        else:
            kinds.append(kind)
    week_starts = 0
    if "week_starts" in weekly:
        day = str(weekly["week_starts"]).lower()
        if day in WEEKDAYS:
            week_starts = WEEKDAYS.index(day)
        else:
            reader.fail(f"{path}.week_starts", f"must be a weekday name ({', '.join(WEEKDAYS)})")
    minimum = reader.cents(weekly.get("minimum_payout", 0), f"{path}.minimum_payout") or 0
    activity_weeks = weekly.get("activity_weeks", 4)
    checked = reader.integer(activity_weeks, f"{path}.activity_weeks", maximum=MAX_ACTIVITY_WEEKS)
    if checked == 0:
        reader.fail(f"{path}.activity_weeks", "must be at least 1")
    if has_cap:
        reader.fail(
            "payout_cap",
            "cannot be combined with schedules.weekly: the cap is a share of one period's CV "
            "and the weeks' payments of a month are made before the month is known",
        )
    return WeeklySchedule(
        kinds=tuple(kinds),
        week_starts=week_starts,
        minimum_payout=minimum,
        activity_weeks=checked or 4,
    )


def kinds_in(plan: Plan) -> set[str]:
    """The kinds a plan pays (whatever the schedule)."""
    kinds = {"unilevel"} if plan.unilevel_rates else set()
    if plan.matching_rates:
        kinds.add("matching")
    if plan.retail_profit_enabled:
        kinds.add("retail_profit")
    if plan.fast_start_rate or any(plan.fast_start_generation_rates):
        kinds.add("fast_start")
    if any(rank.advancement_bonus for rank in plan.ranks):
        kinds.add("rank_advancement")
    kinds.update(plan.components)
    return kinds


def schedule_of(plan: Plan, kind: str) -> str:
    """The schedule ``kind`` is paid on."""
    weekly = plan.weekly
    return WEEKLY if weekly is not None and kind in weekly.kinds else MONTHLY


def plan_for_schedule(plan: Plan, schedule: str) -> Plan:
    """The plan as one schedule's run computes it: only the kinds paid on that schedule.

    Monthly: the weekly kinds are taken out. Weekly: only the weekly kinds are kept (no
    unilevel, matching or advancement bonus; ranks stay for the rules that read them), with the
    weekly minimum payout and no payout cap. The result has no ``weekly`` schedule itself, so
    restricting it again changes nothing.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}: one of {', '.join(SCHEDULES)}")
    weekly = plan.weekly
    if weekly is None:
        if schedule == WEEKLY:
            raise ValueError("this plan pays nothing weekly (it has no schedules.weekly)")
        return plan
    keep = (
        (lambda kind: kind in weekly.kinds)
        if schedule == WEEKLY
        else (lambda kind: kind not in weekly.kinds)
    )
    changes: dict[str, Any] = {
        "weekly": None,
        "components": {key: options for key, options in plan.components.items() if keep(key)},
        "retail_profit_enabled": plan.retail_profit_enabled and keep("retail_profit"),
    }
    if not keep("fast_start"):
        changes["fast_start_rate"] = 0
        changes["fast_start_generation_rates"] = ()
    if schedule == WEEKLY:
        changes.update(
            unilevel_rates=(),
            matching_rates=(),
            ranks=tuple(dataclasses.replace(rank, advancement_bonus=0) for rank in plan.ranks),
            payout_cap_rate=None,
            minimum_payout=weekly.minimum_payout,
        )
    return dataclasses.replace(plan, **changes)

