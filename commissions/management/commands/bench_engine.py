"""Time the commission engine alone on synthetic data: a binary + unilevel + matching plan.

No database: the people, their orders and both trees are made in numpy, then ``run_engine``
runs two periods (the second one reads the first one's binary carry queue). Prints figures,
never asserts. The issue's target: 10,000,000 people in at most 60 s of engine time.

Synthetic company of N people (seeded): person 0 is the house; the binary placement tree is
the genealogy's bulk spillover shape (``genealogy.bulk_placement.build_binary_placement``)
under a uniformly random earlier person each; everyone's sponsor (and enroller) is their
placement parent, or (probability 0.24 and 0.16) the one 2 or 3 levels up; 95 % are
active; each person has one order line of 20..200 CV (PV = CV) paid in the period.
"""

from __future__ import annotations

import dataclasses
import resource
import time
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from commissions.engine import EngineInputs, parse_plan, run_engine
from commissions.engine.components import REGISTRY
from commissions.engine.results import KIND_CODES
from commissions.engine.tree import compute_depth
from genealogy.bulk_placement import build_binary_placement

PLAN: dict[str, Any] = {
    "name": "Benchmark binary hybrid",
    "activity": {"personal_pv": "20"},
    "ranks": [
        {"code": "member", "personal_pv": "20", "unilevel_levels": 3},
        {
            "code": "leader",
            "personal_pv": "20",
            "group_volume": "1000",
            "unilevel_levels": 5,
            "matching_generations": 1,
        },
        {
            "code": "director",
            "personal_pv": "20",
            "group_volume": "10000",
            "unilevel_levels": 7,
            "matching_generations": 2,
        },
    ],
    "unilevel": {"percents": ["5", "5", "4", "3", "2", "2", "1"]},
    "matching": {"percents": ["10", "5"]},
    "placement": {"kind": "binary"},
    "binary": {
        "pairing": {"method": "cycle", "left": 300, "right": 300, "amount": 25},
        "qualification": {"personally_enrolled_active_per_leg": 1},
        "cap": {"pairs": 40, "excess": "flush"},
        "carry": {"expire_periods": 6},
    },
}


def synthetic_inputs(size: int, seed: int) -> EngineInputs:
    rng = np.random.default_rng(seed)
    index = np.arange(size, dtype=np.int64)
    placer = np.full(size, -1, dtype=np.int64)
    if size > 1:
        placer[1:] = (rng.random(size - 1) * index[1:]).astype(np.int64)
    placement_parent, placement_position = build_binary_placement(placer)
    # Sponsor (and enroller): the placement ancestor 1, 2 or 3 levels up (the root's children:
    # the root), so sponsors have personal enrollees in both legs as in a worked binary team.
    parent = placement_parent.copy()
    up_or_self = np.append(np.where(placement_parent >= 0, placement_parent, index), size)[:size]
    for _ in range(2):
        climb = (rng.random(size) < 0.4) & (up_or_self[np.maximum(parent, 0)] != parent)
        climb &= parent > 0
        parent = np.where(climb, up_or_self[np.maximum(parent, 0)], parent)
    cv = rng.integers(20, 201, size=size, dtype=np.int64) * 100
    status = np.where(rng.random(size) < 0.95, 0, 1).astype(np.int8)
    return EngineInputs(
        parent=parent,
        enroller=parent,
        status=status,
        pv=cv,
        cv=cv,
        join_day=np.zeros(size, dtype=np.int32),
        period_start_day=100,
        period_end_day=129,
        line_id=index + 1,
        line_buyer=index,
        line_cv=cv,
        line_paid_day=np.full(size, 110, dtype=np.int32),
        line_retail_profit=np.zeros(size, dtype=np.int64),
        placement_parent=placement_parent,
        placement_position=placement_position.astype(np.int16),
    )


class Command(BaseCommand):
    help = (
        "Time the commission engine alone (no database) on a synthetic company: a binary + "
        "unilevel + matching plan, two periods (the second reads the first's binary carry)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--size", type=int, default=2_000_000, help="People (default 2M).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")

    def handle(self, *args, size: int, seed: int, **options) -> None:
        if size < 1:
            raise CommandError("--size must be at least 1.")
        if seed < 0:
            raise CommandError("--seed cannot be negative.")
        plan = parse_plan(PLAN)
        started = time.perf_counter()
        inputs = synthetic_inputs(size, seed)
        built = time.perf_counter() - started
        depth = int(np.max(_depth(inputs.placement_parent))) if size else 0
        self.stdout.write(
            f"{size:,} people, {size:,} order lines; placement depth {depth:,}; "
            f"inputs built in {built:.1f} s"
        )
        spec = REGISTRY["binary"]
        timings: list[float] = []

        def timed_compute(options: Any, context: Any) -> Any:
            began = time.perf_counter()
            output = spec.compute(options, context)
            timings.append(time.perf_counter() - began)
            return output

        REGISTRY["binary"] = dataclasses.replace(spec, compute=timed_compute)
        try:
            self.run_periods(plan, inputs, timings)
        finally:
            REGISTRY["binary"] = spec
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(f"peak RSS {peak:,.0f} MB")

    def run_periods(self, plan: Any, inputs: EngineInputs, timings: list[float]) -> None:
        state = None
        for period in (1, 2):
            if state is not None:
                inputs = dataclasses.replace(inputs, component_inputs={"binary": state})
            started = time.perf_counter()
            result = run_engine(plan, inputs)
            seconds = time.perf_counter() - started
            state = result.component_state["binary"]
            totals = result.summary["totals"]
            binary_lines = int(np.count_nonzero(result.lines.kind == KIND_CODES["binary"]))
            self.stdout.write(
                f"period {period}: engine {seconds:.1f} s (binary {timings[-1]:.1f} s); "
                f"{len(result.lines):,} lines "
                f"({binary_lines:,} binary); paid unilevel {totals['unilevel'] / 100:,.2f}, "
                f"matching {totals['matching'] / 100:,.2f}, binary "
                f"{totals['binary'] / 100:,.2f}; carry queue {len(state['owner']):,} rows"
            )
            del result


def _depth(parent: np.ndarray) -> np.ndarray:
    return compute_depth(parent)
