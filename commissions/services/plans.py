"""Plan versions: parse and validate a plan document, store it, find the one in force."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.periods import Period
from genealogy.policy import PlacementPolicy, PlacementPolicyError

from ..engine import PlanValidationError
from ..engine.plan import Plan, parse_plan
from ..errors import CommissionError
from ..models import CommissionPeriod, CommissionRun, PeriodStatus, PlanVersion


def parse_plan_source(source: str) -> tuple[dict, Plan]:
    """YAML or JSON text → (document, Plan); ``PlanValidationError`` names every problem."""
    import yaml

    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise PlanValidationError([("", f"not valid YAML or JSON: {error}")]) from error
    if not isinstance(document, dict):
        raise PlanValidationError([("", "the plan document must be a mapping")])
    plan = parse_plan(document)
    try:
        PlacementPolicy.from_mapping(plan.placement)
    except PlacementPolicyError as error:
        path, _, message = str(error).partition(": ")
        raise PlanValidationError([(path, message)]) from error
    # Keep the document JSON-clean (YAML may hold dates or other types).
    return json.loads(json.dumps(document, default=str)), plan


def plan_version_create(
    *, source: str, effective_from: dt.date, by=None, note: str = ""
) -> PlanVersion:
    """Validate ``source`` and store it as a new plan version from ``effective_from``'s month."""
    document, plan = parse_plan_source(source)
    effective = effective_from.replace(day=1)
    if CommissionPeriod.every_schedule.filter(
        month__gte=effective, status__in=[PeriodStatus.CLOSED, PeriodStatus.PAID]
    ).exists():
        raise CommissionError(
            f"Periods from {effective:%Y-%m} on are already closed (a month or a pay week): a new "
            "plan version can only take effect in an open period."
        )
    return PlanVersion.objects.create(
        name=plan.name,
        effective_from=effective,
        source=source,
        document=document,
        max_payout_percent=plan.max_payout_percent(),
        created_by=by,
        note=note,
    )


def plan_version_update(
    *, version: PlanVersion, source: str, by=None, note: str = ""
) -> PlanVersion:
    """Edit a version nobody has calculated with yet; otherwise create a new version."""
    document, plan = parse_plan_source(source)
    with transaction.atomic():
        locked = PlanVersion.objects.select_for_update().get(pk=version.pk)
        if CommissionRun.objects.filter(plan_version=locked).exists():
            return plan_version_create(
                source=source, effective_from=locked.effective_from, by=by, note=note
            )
        locked.source, locked.document, locked.name = source, document, plan.name
        locked.max_payout_percent = plan.max_payout_percent()
        locked.note = note or locked.note
        locked.save()
        return locked


def placement_policy_at(moment: dt.datetime | None = None) -> PlacementPolicy:
    """The placement policy of the plan version in force at ``moment`` (now when None); the
    genealogy asks through ``genealogy.policy.placement_policy``."""
    period = Period.containing(moment or timezone.now())
    try:
        version = plan_version_for(period)
    except CommissionError:
        return PlacementPolicy()
    return PlacementPolicy.from_mapping(version.plan.placement)


def plan_version_for(period: Period) -> PlanVersion:
    version = PlanVersion.in_force(period.first_day)
    if version is None:
        raise CommissionError(
            f"No plan version is in force for {period}: load one with `manage.py load_plan`."
        )
    return version


def plan_verdict(plan: Plan) -> dict[str, Any]:
    """What the plan page shows: lawfulness, the payout bound and the rank ladder."""
    from ..engine.money import rate_to_percent

    return {
        "pays_on_enrollment": False,  # parse_plan refuses any plan that does
        "max_payout_percent": plan.max_payout_percent(),
        "payout_cap_percent": (
            None if plan.payout_cap_rate is None else rate_to_percent(plan.payout_cap_rate)
        ),
        "unilevel_percents": [rate_to_percent(p) for p in plan.unilevel_rates],
        "matching_percents": [rate_to_percent(p) for p in plan.matching_rates],
        "ranks": [rank.name for rank in plan.ranks],
        "compression": plan.options.compression,
        "minimum_payout": Decimal(plan.minimum_payout) / 100,
    }
