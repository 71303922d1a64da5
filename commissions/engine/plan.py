"""Compensation plan: parse a plan document (a dict, as loaded from JSON or YAML) and validate it.

``parse_plan(doc)`` returns a frozen ``Plan`` or raises ``PlanValidationError`` listing every
problem as ``(field_path, message)``, e.g. ``("ranks[2].group_volume", "must be ≥ the previous
rank's")``. Unknown keys are errors, so a typo is never silently ignored. Amounts may be given as
strings or numbers; they are read with ``Decimal(str(x))``.

Units: volumes and money are stored in cents (at most 2 decimals allowed), percents as integer
rate units of 1e-8 of 1 (at most 6 decimals allowed: ``"2.5"`` → 2_500_000, ``"3.333333"`` →
3_333_333; a 7th decimal is refused: "has more precision than 0.000001 %"). See ``money.py``.

Document fields (``*`` = required)
-----------------------------------
``name``*            plan name (text).
``currency``         ISO 4217 code, default ``"USD"`` (informational; amounts are cents of it).
``activity``*        ``{"personal_pv": X}``: a distributor is active in a period when their status
                     is active and their own PV ≥ X. Only active people rank and earn.
``ranks``*           list, lowest first (rank 1) to highest (rank R); 0 means "no rank". Each:
  ``code``*          unique short identifier (``"gold"``); ``name`` display name (default code).
  ``personal_pv``    own PV needed (default 0).
  ``group_volume``   GV needed, counted with the leg cap (default 0).
  ``leg_cap_percent`` null (no cap, default) or the most one leg may contribute, as a percent
                     of the rank's required GV or of the person's actual GV
                     (``options.leg_cap_basis``); the cap is rounded down to the cent.
  ``qualified_legs`` ``{"count": k, "min_rank": code}``: at least k children whose leg (the child
                     and their whole downline) holds someone paid as ``min_rank`` or higher this
                     period (default count 0). ``min_rank`` is required when count > 0: only
                     active people hold ranks, so a qualified leg always contains an active
                     distributor.
  ``personally_enrolled_active`` number of ACTIVE people this person enrolled (default 0).
  ``unilevel_levels`` unilevel levels this rank unlocks (default 0, ≤ number of unilevel levels).
  ``matching_generations`` matching generations unlocked (default 0, ≤ number of generations).
  ``advancement_bonus`` one-time amount paid when the rank is first reached (default 0).
  The requirements personal_pv, group_volume, qualified_legs.count,
  personally_enrolled_active, unilevel_levels and matching_generations must not decrease from
  one rank to the next. With ``options.cumulative_ranks: false`` (independent ranks) only
  unilevel_levels and matching_generations (what a rank unlocks) must not decrease: a higher
  rank may ask less of one requirement (less PV, more GV), since each rank is checked alone.
``unilevel``*        ``{"percents": [p1, p2, ...]}``: percent of each source's CV per level 1..L.
``matching``         ``{"percents": [g1, ...]}``: percent of the unilevel earnings of one's
                     generation-g personal enrollees (enroller chain). Default: no matching.
``retail_profit``    ``{"enabled": bool}``: pass each order line's retail profit to its seller.
                     Default disabled.
``fast_start``       ``{"percent": p, "days": d, "basis": "cv"}``: the enroller earns p % of the CV
                     of order lines their personal enrollee pays in their first d days (join day
                     = day 0). ``basis`` may only be ``"cv"``. Default: no fast start.
                     ``{"percents": [p1, p2, ...], "days": d}`` instead pays several enroller
                     generations: the buyer's enroller p1 %, their enroller p2 %, ...; lines
                     carry level = generation (``percent`` lines level 0); a generation whose
                     enroller is inactive or missing is breakage (no compression).
``payout_cap``       ``{"percent_of_cv": p, "method": m, "protected_kinds": [...]}``: the period's
                     total payout may not exceed p % of the period's total CV. ``method``:
                     ``"all_pro_rata"`` (default: every line scaled by the same factor) or
                     ``"protect_kinds"`` (the listed kinds are paid whole and the others share what
                     is left; if the protected kinds alone exceed the cap they are scaled too and
                     the others get nothing). Default: no cap.
``minimum_payout``   balances below this amount are carried to the next period (default 0).
``options``          all optional:
  ``compression``    ``"none"`` (default; level k is the k-th upline), ``"skip_inactive"``
                     (inactive uplines are skipped and use no level; an active upline not
                     unlocking the level forfeits it) or ``"dynamic"`` (anyone not qualified for
                     the level is skipped; the level goes to the next qualified upline).
  ``leg_cap_basis``  ``"required"`` (default: cap = percent × the rank's required GV) or
                     ``"actual"`` (cap = percent × the person's actual GV).
  ``leg_cap_includes_personal`` default false: whether own PV is capped like a leg.
  ``cumulative_ranks`` default true: rank r qualifies only if rank r-1 also qualifies; false:
                     each rank is checked on its own requirements and the highest that
                     qualifies is paid (see ``ranks`` for what may then decrease).
  ``group_volume_levels`` null (default: GV counts the whole downline) or N (0..100): GV = own
                     PV + the PV of the downline at most N levels below (N = 0: own PV only).
                     A leg then adds its first N - 1 levels to its parent's GV (leg caps too).
  ``rounding``       ``"half_up"`` (default), ``"half_even"``, ``"toward_zero"`` or
                     ``"away_from_zero"`` (any fraction of a cent makes a whole cent more).
                     Whatever the mode, a line that rounds to 0.00 is not written (its amount
                     is breakage "rounded away"), and the company's own root (the house
                     account) never earns: its lines are breakage "company" (``settle.py``).
  ``rounding_point`` ``"line"`` (default) or ``"earner_kind_total"`` (see ``money.py``).
  ``upline``         ``"period_close"`` (default: unilevel per source distributor, tree at period
                     close) or ``"order_time"`` (unilevel per order line; the first step up goes
                     to the sponsor at order time, then the tree at close).
  ``rank_advancement`` ``"all_at_once"`` (default: every newly reached rank's bonus is paid) or
                     ``"one_per_period"`` (only the next unpaid rank's bonus).
  ``rank_grace_months`` N (default 0, at most 120): an active person who qualifies below the
                     rank they were paid as last period keeps that rank for N months in a row;
                     in month N + 1 below it they are paid as what they qualify for (see
                     ``rank_grace.py``, which also applies staff rank overrides).
  ``late_refunds``   ``"floored"`` (default) or ``"negative"``: how a refund counting in this
                     period of an order from an earlier period lowers volume. Either way it
                     lowers the person's PV; ``floored`` counts a person's negative PV as 0
                     everywhere, ``negative`` lets it lower their own and their uplines' GV.
``schedules``        ``{"weekly": {"components": [...], "week_starts": day, "minimum_payout": X,
                     "activity_weeks": N}}``: the kinds listed (fast_start, retail_profit, binary,
                     order_award) are paid every week with their own balance and minimum payout;
                     everything else stays monthly (``schedules.py``). Default: all monthly.

Lawfulness rules enforced here: a plan may pay only on product volume. Any key that pays on
enrollment (``enrollment_bonus``, ``recruiting_bonus``, ``starter_kit_bonus``, a fast start
based on enrollments or sign-ups, ...) is refused with "pays on enrollment: a lawful plan pays
only on product volume"; a rank requirement counting recruits without requiring them to be
active (``personally_enrolled``, ``recruits``, ...) is refused too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import numpy.typing as npt

from . import components, schedules
from .money import PERCENT_DECIMALS, RATE_UNITS_PER_PERCENT, ROUNDING_MODES, rate_to_percent
from .results import KINDS

COMPRESSIONS = ("none", "skip_inactive", "dynamic")
LEG_CAP_BASES = ("required", "actual")
ROUNDING_POINTS = ("line", "earner_kind_total")
UPLINES = ("period_close", "order_time")
RANK_ADVANCEMENTS = ("all_at_once", "one_per_period")
CAP_METHODS = ("all_pro_rata", "protect_kinds")
MAX_GROUP_VOLUME_LEVELS = 100
MAX_FAST_START_GENERATIONS = 20
LATE_REFUNDS = ("floored", "negative")
MAX_RANK_GRACE_MONTHS = 120

PAYS_ON_ENROLLMENT = "pays on enrollment: a lawful plan pays only on product volume"
COUNTS_INACTIVE_RECRUITS = (
    "counts recruits without requiring them to be active: a rank may only count ACTIVE "
    "personally enrolled distributors (use personally_enrolled_active)"
)

# Keys that pay for signing people up, whatever their spelling.
_ENROLLMENT_WORDS = (
    "enrol",
    "recruit",
    "sign_up",
    "signup",
    "sign-up",
    "starter_kit",
    "starter-kit",
    "kit_bonus",
    "join_bonus",
    "joining_bonus",
    "headcount",
    "new_member_bonus",
)
# Keys that count people without requiring activity.
_RECRUIT_COUNT_KEYS = frozenset(
    {
        "personally_enrolled",
        "enrolled",
        "enrollees",
        "personally_enrolled_count",
        "personally_sponsored",
        "sponsored",
        "recruits",
        "recruit_count",
        "personal_recruits",
        "frontline",
        "frontline_count",
        "sponsored_count",
    }
)
_ALLOWED_ENROLLMENT_KEYS = frozenset(
    {"personally_enrolled_active", "personally_enrolled_active_per_leg"}  # binary.py
)
_ENROLLMENT_BASES = frozenset(
    {
        "enrollment",
        "enrollments",
        "enrolment",
        "enrolments",
        "sign_up",
        "sign_ups",
        "signup",
        "signups",
        "sign-ups",
        "recruits",
        "recruitment",
        "new_distributors",
        "headcount",
    }
)


class PlanValidationError(ValueError):
    """The plan document has problems; ``errors`` lists every ``(field_path, message)``."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = list(errors)
        details = "; ".join(f"{path}: {message}" for path, message in self.errors)
        super().__init__(f"invalid plan ({len(self.errors)} problem(s)): {details}")


@dataclass(frozen=True)
class Rank:
    """One rank, requirements in cents / rate units. ``qualified_legs_min_rank``: 1..R (0 none)."""

    code: str
    name: str
    personal_pv: int
    group_volume: int
    leg_cap_rate: int | None
    qualified_legs_count: int
    qualified_legs_min_rank: int
    personally_enrolled_active: int
    unilevel_levels: int
    matching_generations: int
    advancement_bonus: int


@dataclass(frozen=True)
class Options:
    compression: str = "none"
    leg_cap_basis: str = "required"
    leg_cap_includes_personal: bool = False
    cumulative_ranks: bool = True
    rounding: str = "half_up"
    rounding_point: str = "line"
    upline: str = "period_close"
    rank_advancement: str = "all_at_once"
    group_volume_levels: int | None = None
    rank_grace_months: int = 0
    late_refunds: str = "floored"


@dataclass(frozen=True)
class Plan:
    """A validated plan. Money and volumes in cents, rates in rate units of 1e-8 of 1 (see
    ``money.py``: 100 % = ``RATE_ONE``)."""

    name: str
    currency: str
    activity_personal_pv: int
    ranks: tuple[Rank, ...]
    unilevel_rates: tuple[int, ...]
    matching_rates: tuple[int, ...]
    retail_profit_enabled: bool
    fast_start_rate: int
    fast_start_days: int
    payout_cap_rate: int | None
    payout_cap_method: str
    protected_kinds: tuple[str, ...]
    minimum_payout: int
    options: Options
    # The placement tree (binary, matrix) as the document states it; its options are checked
    # by the genealogy's placement policy (``commissions.services.plans``), which uses them.
    placement: Mapping[str, Any] = field(default_factory=dict)
    # Plan components beyond the core (``components.py``): plan key -> parsed options.
    components: Mapping[str, Any] = field(default_factory=dict)
    # ``fast_start.percents``: a rate per enroller generation (empty with ``percent``).
    fast_start_generation_rates: tuple[int, ...] = ()
    # ``schedules.weekly``: the kinds paid every week (``schedules.py``); None = all monthly.
    weekly: schedules.WeeklySchedule | None = None

    def rank_table(self, attribute: str) -> npt.NDArray[np.int64]:
        """Per-rank values indexed by rank number (index 0 = no rank = 0)."""
        return np.array([0] + [getattr(rank, attribute) for rank in self.ranks], dtype=np.int64)

    def max_payout_percent(self) -> Decimal:
        """Theoretical maximum payout of CV-based kinds, as a percent of CV.

        Bound: a cent of CV pays at most the unilevel rates of the levels the best rank can
        unlock (U = sum of percents[0:max unilevel_levels]); all unilevel earnings together are
        thus ≤ U × CV, and each person's unilevel earnings are matched at most once per
        generation, so matching ≤ M × U where M = sum of the matching percents of the
        generations any rank unlocks; a fast start pays each order line at most once (F).
        Maximum = U + M × U / 100 + F. Not included: retail profit (the seller's margin on
        customer sales, not paid out of CV), advancement bonuses (fixed amounts, not a share of
        CV) and rounding (at most half a cent per line); the payout cap bounds all of them.
        """
        max_levels = max((rank.unilevel_levels for rank in self.ranks), default=0)
        max_generations = max((rank.matching_generations for rank in self.ranks), default=0)
        unilevel = rate_to_percent(sum(self.unilevel_rates[:max_levels]))
        matching = rate_to_percent(sum(self.matching_rates[:max_generations]))
        core = unilevel + matching * unilevel / 100 + rate_to_percent(self.fast_start_rate)
        core += rate_to_percent(sum(self.fast_start_generation_rates))
        shares = [
            components.REGISTRY[key].max_payout_percent(options)
            for key, options in self.components.items()
        ]
        return core + sum((share for share in shares if share is not None), Decimal(0))


def parse_plan(doc: Mapping[str, Any]) -> Plan:
    """Validate a plan document and build a ``Plan``; raise ``PlanValidationError`` on problems."""
    return _PlanReader().read(doc)


def load_plan_text(text: str) -> Plan:
    """Parse a YAML (or JSON) plan text. Needs PyYAML, imported only when this is called."""
    import yaml  # optional dependency (PyYAML), only needed for plan files

    return parse_plan(yaml.safe_load(text))


class _PlanReader:
    """Reads a plan document, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.fast_start_generations: tuple[int, ...] = ()

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    # -- generic readers -------------------------------------------------------------------

    def mapping(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """Check a mapping's keys; return it (or {} when it is not a mapping)."""
        if not isinstance(value, Mapping):
            self.fail(path, "must be a mapping")
            return {}
        prefix = f"{path}." if path else ""
        for key in value:
            if not isinstance(key, str):
                self.fail(f"{prefix}{key}", "keys must be text")
            elif _enrollment_problem(key) is not None:
                continue  # reported by _check_lawful_keys
            elif key not in allowed:
                hint = _closest(key, allowed)
                self.fail(
                    f"{prefix}{key}", "unknown key" + (f" (did you mean {hint!r}?)" if hint else "")
                )
        for key in required:
            if key not in value:
                self.fail(f"{prefix}{key}", "is required")
        return dict(value)

    def decimal(self, value: Any, path: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            self.fail(path, "must be a number or a numeric string")
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(path, f"{value!r} is not a number")
            return None
        if not number.is_finite():
            self.fail(path, "must be a finite number")
            return None
        if number < 0:
            self.fail(path, "must not be negative")
            return None
        return number

    def cents(self, value: Any, path: str) -> int | None:
        """A non-negative amount or volume with at most 2 decimals, in cents."""
        number = self.decimal(value, path)
        if number is None:
            return None
        cents = number * 100
        if cents != cents.to_integral_value():
            self.fail(path, "has more than 2 decimals (amounts and volumes are kept in cents)")
            return None
        return int(cents)

    def percent(self, value: Any, path: str, *, allow_zero: bool = True) -> int | None:
        """A percent in [0, 100] with at most 6 decimals, in rate units of 1e-8 of 1."""
        number = self.decimal(value, path)
        if number is None:
            return None
        if number > 100:
            self.fail(path, "must be at most 100")
            return None
        if not allow_zero and number == 0:
            self.fail(path, "must be greater than 0")
            return None
        rate = number * RATE_UNITS_PER_PERCENT
        if rate != rate.to_integral_value():
            self.fail(
                path,
                f"has more precision than 0.000001 % (a percent may have at most "
                f"{PERCENT_DECIMALS} decimals)",
            )
            return None
        return int(rate)

    def integer(self, value: Any, path: str, *, maximum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, "must be a whole number")
            return None
        if value < 0:
            self.fail(path, "must not be negative")
            return None
        if maximum is not None and value > maximum:
            self.fail(path, f"must be at most {maximum}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, "must be true or false")
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        if value not in choices:
            self.fail(path, f"must be one of {', '.join(choices)}")
            return None
        return str(value)

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, "must be non-empty text")
            return None
        return value

    def by_rank(
        self,
        value: Any,
        path: str,
        read: Callable[[Any, str], int | None],
        *,
        what: str,
        show: Callable[[int], str] = str,
    ) -> tuple[int, ...]:
        """A figure per rank number 0..R from ``{rank code: figure}`` (each read by ``read``):
        ranks not listed take the highest listed rank below them (0 below all of them and for
        "no rank"), and a higher rank must not ask for less (``what`` and ``show`` word it)."""
        codes: dict[str, int] = self.rank_codes
        listed: dict[int, int] = {}
        for code, raw in self.mapping(value, path, tuple(codes)).items():
            if code in codes:  # unknown codes: reported by mapping()
                parsed = read(raw, f"{path}.{code}")
                if parsed is not None:
                    listed[codes[code]] = parsed
        table = [0]
        lower = None
        for code, number in sorted(codes.items(), key=lambda item: item[1]):
            if number in listed:
                if listed[number] < table[-1]:
                    self.fail(
                        f"{path}.{code}",
                        f"must be ≥ the {what} of the lower rank {lower!r} ({show(table[-1])})",
                    )
                lower = code
                table.append(max(listed[number], table[-1]))
            else:
                table.append(table[-1])
        return tuple(table)

    def percent_list(self, value: Any, path: str) -> tuple[int, ...]:
        if not isinstance(value, list | tuple):
            self.fail(path, "must be a list of percents")
            return ()
        parsed = [self.percent(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return tuple(0 if rate is None else rate for rate in parsed)

    # -- the document ----------------------------------------------------------------------

    def read(self, doc: Mapping[str, Any]) -> Plan:
        if not isinstance(doc, Mapping):
            raise PlanValidationError([("", "the plan document must be a mapping")])
        _check_lawful_keys(doc, "", self.errors)
        top = self.mapping(
            doc,
            "",
            (
                "name",
                "currency",
                "activity",
                "ranks",
                "unilevel",
                "matching",
                "retail_profit",
                "fast_start",
                "payout_cap",
                "minimum_payout",
                "options",
                "placement",
                "schedules",
                *components.REGISTRY,
            ),
            required=("name", "activity", "ranks", "unilevel"),
        )
        name = self.text(top.get("name", "?"), "name") or ""
        currency = str(top.get("currency", "USD"))
        if not re.fullmatch(r"[A-Z]{3}", currency):
            self.fail("currency", "must be a 3-letter ISO 4217 code such as USD")

        activity_pv = 0
        if "activity" in top:
            activity = self.mapping(
                top["activity"], "activity", ("personal_pv",), required=("personal_pv",)
            )
            activity_pv = self.cents(activity.get("personal_pv", 0), "activity.personal_pv") or 0

        unilevel_rates: tuple[int, ...] = ()
        if "unilevel" in top:
            unilevel = self.mapping(
                top["unilevel"], "unilevel", ("percents",), required=("percents",)
            )
            unilevel_rates = self.percent_list(unilevel.get("percents", []), "unilevel.percents")
            if "percents" in unilevel and not unilevel_rates:
                self.fail("unilevel.percents", "must list at least one level")

        matching_rates: tuple[int, ...] = ()
        if "matching" in top:
            matching = self.mapping(
                top["matching"], "matching", ("percents",), required=("percents",)
            )
            matching_rates = self.percent_list(matching.get("percents", []), "matching.percents")

        retail_enabled = False
        if "retail_profit" in top:
            retail = self.mapping(top["retail_profit"], "retail_profit", ("enabled",))
            retail_enabled = bool(
                self.boolean(retail.get("enabled", False), "retail_profit.enabled")
            )

        fast_rate, fast_days = self.read_fast_start(top)
        cap_rate, cap_method, protected = self.read_payout_cap(top)
        minimum_payout = self.cents(top.get("minimum_payout", 0), "minimum_payout") or 0
        options = self.read_options(top.get("options", {}))
        ranks = (
            self.read_ranks(
                top["ranks"],
                len(unilevel_rates),
                len(matching_rates),
                cumulative=options.cumulative_ranks,
            )
            if "ranks" in top
            else ()
        )

        self.rank_codes = {rank.code: number for number, rank in enumerate(ranks, start=1)}
        placement = top.get("placement") if isinstance(top.get("placement"), Mapping) else {}
        self.placement_kind = str(placement.get("kind", "none"))
        # A matrix's depth, when the document gives a whole number (genealogy checks the rest).
        depth = placement.get("depth")
        self.placement_depth = depth if isinstance(depth, int) and depth > 0 else None
        parsed_components = {
            key: components.REGISTRY[key].parse(self, top[key], key)
            for key in components.REGISTRY
            if key in top
        }
        weekly = None
        if "schedules" in top:
            kinds = {"unilevel", *parsed_components}
            if retail_enabled:
                kinds.add("retail_profit")
            if fast_rate or any(self.fast_start_generations):
                kinds.add("fast_start")
            weekly = schedules.read_schedules(
                self, top["schedules"], kinds_in_plan=kinds, has_cap=cap_rate is not None
            )

        if self.errors:
            raise PlanValidationError(self.errors)
        return Plan(
            name=name,
            currency=currency,
            activity_personal_pv=activity_pv,
            ranks=ranks,
            unilevel_rates=unilevel_rates,
            matching_rates=matching_rates,
            retail_profit_enabled=retail_enabled,
            fast_start_rate=fast_rate,
            fast_start_days=fast_days,
            fast_start_generation_rates=self.fast_start_generations,
            payout_cap_rate=cap_rate,
            payout_cap_method=cap_method,
            protected_kinds=protected,
            minimum_payout=minimum_payout,
            options=options,
            placement=self.placement(top.get("placement")),
            components=parsed_components,
            weekly=weekly,
        )

    def placement(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail("placement", "must be a mapping")
            return {}
        return dict(value)

    def read_fast_start(self, top: dict[str, Any]) -> tuple[int, int]:
        if "fast_start" not in top:
            return 0, 0
        fast = self.mapping(
            top["fast_start"],
            "fast_start",
            ("percent", "percents", "days", "basis"),
            required=("days",),
        )
        if isinstance(top["fast_start"], Mapping) and ("percent" in fast) == ("percents" in fast):
            self.fail(
                "fast_start.percent",
                "is required (or percents: a list, one per enroller generation)"
                if "percent" not in fast
                else "give percent (one generation) or percents (one per generation), not both",
            )
        generations = self.percent_list(fast.get("percents", []), "fast_start.percents")
        if "percents" in fast and isinstance(fast["percents"], list | tuple):
            if not generations:
                self.fail("fast_start.percents", "must list at least one generation")
            elif len(generations) > MAX_FAST_START_GENERATIONS:
                self.fail(
                    "fast_start.percents", f"at most {MAX_FAST_START_GENERATIONS} generations"
                )
        self.fast_start_generations = generations
        basis = fast.get("basis", "cv")
        if isinstance(basis, str) and basis.strip().lower() in _ENROLLMENT_BASES:
            self.fail(
                "fast_start.basis",
                PAYS_ON_ENROLLMENT
                + " (a fast start must be a percent of the new distributor's CV)",
            )
        elif basis != "cv":
            self.fail("fast_start.basis", "must be 'cv'")
        rate = self.percent(fast.get("percent", 0), "fast_start.percent") or 0
        days = self.integer(fast.get("days", 0), "fast_start.days", maximum=366) or 0
        if "days" in fast and days == 0 and (rate > 0 or any(generations)):
            self.fail("fast_start.days", "must be at least 1")
        return rate, days

    def read_payout_cap(self, top: dict[str, Any]) -> tuple[int | None, str, tuple[str, ...]]:
        if "payout_cap" not in top:
            return None, "all_pro_rata", ()
        cap = self.mapping(
            top["payout_cap"],
            "payout_cap",
            ("percent_of_cv", "method", "protected_kinds"),
            required=("percent_of_cv",),
        )
        rate = self.percent(
            cap.get("percent_of_cv", 0), "payout_cap.percent_of_cv", allow_zero=False
        )
        method = (
            self.choice(cap.get("method", "all_pro_rata"), "payout_cap.method", CAP_METHODS)
            or "all_pro_rata"
        )
        protected_raw = cap.get("protected_kinds", [])
        protected: list[str] = []
        if not isinstance(protected_raw, list | tuple):
            self.fail("payout_cap.protected_kinds", "must be a list of kinds")
        else:
            for i, kind in enumerate(protected_raw):
                if kind not in KINDS:
                    self.fail(
                        f"payout_cap.protected_kinds[{i}]", f"must be one of {', '.join(KINDS)}"
                    )
                elif kind in protected:
                    self.fail(f"payout_cap.protected_kinds[{i}]", "is listed twice")
                else:
                    protected.append(kind)
        if method == "all_pro_rata" and protected:
            self.fail("payout_cap.protected_kinds", "is only used with method protect_kinds")
        if method == "protect_kinds" and protected_raw == []:
            self.fail(
                "payout_cap.protected_kinds",
                "must list at least one kind with method protect_kinds",
            )
        return rate, method, tuple(protected)

    def read_options(self, value: Any) -> Options:
        fields = self.mapping(value, "options", tuple(Options.__dataclass_fields__))
        defaults = Options()
        choices = {
            "compression": COMPRESSIONS,
            "leg_cap_basis": LEG_CAP_BASES,
            "rounding": ROUNDING_MODES,
            "rounding_point": ROUNDING_POINTS,
            "upline": UPLINES,
            "rank_advancement": RANK_ADVANCEMENTS,
            "late_refunds": LATE_REFUNDS,
        }
        values: dict[str, Any] = {}
        for key, allowed in choices.items():
            if key in fields:
                values[key] = self.choice(fields[key], f"options.{key}", allowed)
        for key in ("leg_cap_includes_personal", "cumulative_ranks"):
            if key in fields:
                values[key] = self.boolean(fields[key], f"options.{key}")
        if fields.get("group_volume_levels") is not None:  # null: the whole downline
            values["group_volume_levels"] = self.integer(
                fields["group_volume_levels"],
                "options.group_volume_levels",
                maximum=MAX_GROUP_VOLUME_LEVELS,
            )
        if "rank_grace_months" in fields:
            values["rank_grace_months"] = self.integer(
                fields["rank_grace_months"],
                "options.rank_grace_months",
                maximum=MAX_RANK_GRACE_MONTHS,
            )
        clean = {key: v for key, v in values.items() if v is not None}
        return Options(**{**defaults.__dict__, **clean})

    def read_ranks(
        self, value: Any, levels: int, generations: int, *, cumulative: bool = True
    ) -> tuple[Rank, ...]:
        if not isinstance(value, list | tuple) or not value:
            self.fail("ranks", "must be a non-empty list, lowest rank first")
            return ()
        codes: dict[str, int] = {}
        for i, item in enumerate(value):
            code = item.get("code") if isinstance(item, Mapping) else None
            if isinstance(code, str) and code:
                if code in codes:
                    self.fail(f"ranks[{i}].code", f"duplicate rank code {code!r}")
                else:
                    codes[code] = i + 1
        ranks: list[Rank] = []
        for i, item in enumerate(value):
            rank = self.read_rank(item, f"ranks[{i}]", codes, levels, generations)
            if rank is not None and ranks:
                self.check_not_decreasing(ranks[-1], rank, f"ranks[{i}]", cumulative=cumulative)
            if rank is not None:
                ranks.append(rank)
        return tuple(ranks)

    def read_rank(
        self, value: Any, path: str, codes: dict[str, int], levels: int, generations: int
    ) -> Rank | None:
        fields = self.mapping(value, path, tuple(_RANK_KEYS), required=("code",))
        if not fields:
            return None
        code = self.text(fields.get("code", "?"), f"{path}.code") or "?"
        name = self.text(fields.get("name", code), f"{path}.name") or code
        leg_cap = fields.get("leg_cap_percent")
        leg_cap_rate = (
            None
            if leg_cap is None
            else self.percent(leg_cap, f"{path}.leg_cap_percent", allow_zero=False)
        )
        legs = self.mapping(
            fields.get("qualified_legs", {}), f"{path}.qualified_legs", ("count", "min_rank")
        )
        legs_count = self.integer(legs.get("count", 0), f"{path}.qualified_legs.count") or 0
        min_rank_code = legs.get("min_rank")
        min_rank = 0
        if min_rank_code is not None:
            if min_rank_code not in codes:
                self.fail(f"{path}.qualified_legs.min_rank", f"unknown rank code {min_rank_code!r}")
            else:
                min_rank = codes[min_rank_code]
        elif legs_count > 0:
            self.fail(
                f"{path}.qualified_legs.min_rank",
                "is required when count > 0: a qualified leg must hold a ranked (and "
                "therefore active) distributor; counting legs without activity counts "
                "recruits",
            )
        return Rank(
            code=code,
            name=name,
            personal_pv=self.cents(fields.get("personal_pv", 0), f"{path}.personal_pv") or 0,
            group_volume=self.cents(fields.get("group_volume", 0), f"{path}.group_volume") or 0,
            leg_cap_rate=leg_cap_rate,
            qualified_legs_count=legs_count,
            qualified_legs_min_rank=min_rank,
            personally_enrolled_active=self.integer(
                fields.get("personally_enrolled_active", 0), f"{path}.personally_enrolled_active"
            )
            or 0,
            unilevel_levels=self.integer(
                fields.get("unilevel_levels", 0), f"{path}.unilevel_levels", maximum=levels
            )
            or 0,
            matching_generations=self.integer(
                fields.get("matching_generations", 0),
                f"{path}.matching_generations",
                maximum=generations,
            )
            or 0,
            advancement_bonus=self.cents(
                fields.get("advancement_bonus", 0), f"{path}.advancement_bonus"
            )
            or 0,
        )

    def check_not_decreasing(
        self, previous: Rank, rank: Rank, path: str, *, cumulative: bool = True
    ) -> None:
        """Cumulative ranks ask at least as much of every requirement as the rank below;
        independent ranks (``cumulative_ranks: false``) only unlock at least as much."""
        for attribute, field_path in _MONOTONE_REQUIREMENTS:
            if not cumulative and attribute not in _UNLOCKS:
                continue
            if getattr(rank, attribute) < getattr(previous, attribute):
                self.fail(f"{path}.{field_path}", "must be ≥ the previous rank's")


_RANK_KEYS = (
    "code",
    "name",
    "personal_pv",
    "group_volume",
    "leg_cap_percent",
    "qualified_legs",
    "personally_enrolled_active",
    "unilevel_levels",
    "matching_generations",
    "advancement_bonus",
)
_MONOTONE_REQUIREMENTS = (
    ("personal_pv", "personal_pv"),
    ("group_volume", "group_volume"),
    ("qualified_legs_count", "qualified_legs.count"),
    ("personally_enrolled_active", "personally_enrolled_active"),
    ("unilevel_levels", "unilevel_levels"),
    ("matching_generations", "matching_generations"),
)
_UNLOCKS = frozenset({"unilevel_levels", "matching_generations"})  # what a rank gives


def _enrollment_problem(key: str) -> str | None:
    """The lawfulness message for a key that pays on (or counts) enrollment, else None."""
    lowered = key.strip().lower()
    if lowered in _ALLOWED_ENROLLMENT_KEYS:
        return None
    if lowered in _RECRUIT_COUNT_KEYS:
        return COUNTS_INACTIVE_RECRUITS
    if any(word in lowered for word in _ENROLLMENT_WORDS):
        return PAYS_ON_ENROLLMENT
    return None


def _check_lawful_keys(value: Any, path: str, errors: list[tuple[str, str]]) -> None:
    """Walk the whole document and report every key that pays on enrollment."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            problem = _enrollment_problem(key) if isinstance(key, str) else None
            if problem is not None:
                errors.append((child, problem))
            _check_lawful_keys(item, child, errors)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_lawful_keys(item, f"{path}[{i}]", errors)


def _closest(key: str, allowed: tuple[str, ...]) -> str | None:
    matches = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    return matches[0] if matches else None
