"""Re-deriving unilevel detail from a run's frozen figures gives back the engine's own lines."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synthetic import synthetic_inputs, synthetic_plan_doc
from commissions.engine import KINDS, parse_plan, run_engine
from commissions.engine.explain import (
    FrozenForest,
    Upline,
    aggregate_unilevel,
    explain_unilevel_path,
    unilevel_payers,
    unilevel_sources,
)
from tests.commissions.engine.test_rules import BEN


def synthetic_plan(compression: str):
    doc = synthetic_plan_doc()
    doc["options"] = {**doc.get("options", {}), "compression": compression}
    return parse_plan(doc)


UNILEVEL = KINDS.index("unilevel")


@pytest.mark.parametrize("compression", ["none", "skip_inactive", "dynamic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unilevel_sources_rederive_every_engine_line(compression, seed):
    plan = synthetic_plan(compression)
    inputs = synthetic_inputs(300, 2, seed=seed)
    result = run_engine(plan, inputs)
    lines = result.lines
    frozen = FrozenForest(
        inputs.parent,
        result.is_active,
        result.paid_as_rank.astype(np.int64),
        np.maximum(inputs.cv, 0),
    )
    is_unilevel = lines.kind == UNILEVEL
    for earner in np.unique(lines.earner[is_unilevel])[:25].tolist():
        mine = is_unilevel & (lines.earner == earner)
        derived = unilevel_sources(plan, frozen, earner)
        expected = sorted(
            zip(
                lines.level[mine].tolist(),
                lines.source[mine].tolist(),
                lines.amount_before_cap[mine].tolist(),
                strict=True,
            )
        )
        got = sorted(
            zip(
                derived.level.tolist(),
                derived.source.tolist(),
                derived.amount.tolist(),
                strict=True,
            )
        )
        assert got == expected


def test_aggregation_keeps_every_total_and_the_order():
    plan = synthetic_plan("dynamic")
    result = run_engine(plan, synthetic_inputs(500, 3, seed=4))
    folded = aggregate_unilevel(result.lines)

    assert int(folded.amount.sum()) == int(result.lines.amount.sum())
    assert len(folded) < len(result.lines)
    keys = list(
        zip(folded.earner.tolist(), folded.kind.tolist(), folded.level.tolist(), strict=True)
    )
    assert keys == sorted(keys) or all(
        a <= b for a, b in zip(folded.earner[:-1], folded.earner[1:], strict=True)
    )


def test_the_path_explains_that_inactive_ben_was_skipped():
    # Cal's CV climbs: Ben (inactive, unlocks nothing) then Ann (unlocks 3 levels).
    chain = [Upline(BEN, False, 0), Upline(0, True, 3)]

    skipped = explain_unilevel_path(chain, earner_id=0, level=1, compression="dynamic", levels=3)

    assert [(s.distributor_id, s.reason) for s in skipped] == [(BEN, "inactive")]
    assert explain_unilevel_path(chain, earner_id=0, level=1, compression="none", levels=3) is None


@pytest.mark.parametrize("compression", ["none", "skip_inactive", "dynamic"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_chain_walk_of_explanations_and_clawbacks_pays_whom_the_engine_paid(compression, seed):
    # unilevel_payers walks one source's chain (what statements explain and clawbacks take
    # back); the engine walks every source at once. Both must pay the same person each level.
    plan = synthetic_plan(compression)
    inputs = synthetic_inputs(300, 2, seed=seed)
    result = run_engine(plan, inputs)
    lines = result.lines
    unlocked = plan.rank_table("unilevel_levels")[result.paid_as_rank.astype(np.int64)]
    is_unilevel = lines.kind == UNILEVEL
    sources = np.unique(lines.source[is_unilevel])[:40].tolist()
    assert sources
    for source in sources:
        chain, person = [], int(inputs.parent[source])
        while person >= 0:
            chain.append(Upline(person, bool(result.is_active[person]), int(unlocked[person])))
            person = int(inputs.parent[person])

        payers = unilevel_payers(chain, levels=len(plan.unilevel_rates), compression=compression)

        walked = {
            (payer.level, payer.distributor_id)
            for payer in payers
            if payer.distributor_id is not None and plan.unilevel_rates[payer.level - 1] > 0
        }
        mine = is_unilevel & (lines.source == source)
        paid = set(zip(lines.level[mine].tolist(), lines.earner[mine].tolist(), strict=True))
        assert walked == paid
