"""Statement lines of plan components read in the component's own words, not as a bonus of
another kind."""

from commissions.models import CommissionLine, CommissionRun, LineKind, PlanVersion
from commissions.selectors import _describe
from tests.commissions.engine.test_matrix import plan_doc as matrix_plan
from tests.commissions.engine.test_stair_step import plan_doc as stair_plan


def line_of(document: dict, **fields) -> CommissionLine:
    line = CommissionLine(**fields)
    line.run = CommissionRun(plan_version=PlanVersion(document=document))
    return line


def test_a_matrix_line_says_its_level_in_the_placement_tree():
    line = line_of(
        matrix_plan(), kind=LineKind.MATRIX, level=2, base=8000, rate_ppm=50_000, amount=400
    )

    assert _describe(line, {}, per_source_rounding=False) == (
        "matrix level 2 of 3 (placement tree): 5 % of 80.00 CV"
    )


def test_stair_step_and_override_lines_use_their_own_kind():
    document = stair_plan()
    override = line_of(
        document,
        kind=LineKind.GENERATION_OVERRIDE,
        level=1,
        base=20000,
        rate_ppm=30_000,
        amount=600,
    )

    text = _describe(override, {}, per_source_rounding=False)

    assert text == "generation 1 override: 3 % of 200.00 CV"
    assert "Rank advancement" not in text
