"""Ladder's commission engine: a pure Python/numpy library (no Django, no settings, no clock).

The service layer loads one period's data into ``EngineInputs`` (arrays indexed by
distributor), parses the company's plan with ``parse_plan`` and calls ``run_engine``; the
``EngineResult`` holds per-distributor figures and the result lines for the ledger. Money is
int64 cents throughout and is rounded in one place (``money.py``).
"""

from . import (
    binary,  # noqa: F401 - registers the component
    matrix,  # noqa: F401 - registers the component
    order_award,  # noqa: F401 - registers the component
    stair_step,  # noqa: F401 - registers the component
)
from .compute import ENGINE_VERSION, run_engine
from .inputs import EngineInputs
from .plan import Plan, PlanValidationError, load_plan_text, parse_plan
from .results import KINDS, EngineResult, ResultLines

__all__ = [
    "ENGINE_VERSION",
    "KINDS",
    "EngineInputs",
    "EngineResult",
    "Plan",
    "PlanValidationError",
    "ResultLines",
    "load_plan_text",
    "parse_plan",
    "run_engine",
]
