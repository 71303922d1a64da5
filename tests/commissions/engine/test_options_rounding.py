"""Rounding modes (away_from_zero added), at the line and at the earner's total; 0.00 lines
are not written and their amount is breakage "rounded away"."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissions.engine import PlanValidationError, run_engine
from commissions.engine.money import (
    RAW_PER_CENT,
    ROUNDING_MODES,
    round_fraction,
    round_raw,
    round_raw_total,
)
from tests.commissions.engine.builders import make_inputs, make_plan

# raw (1e-8 cent): 1.00000001 c, 1.5 c, 2.5 c, 0.99999999 c, -1.5 c, -0.00000001 c
RAWS = [100_000_001, 150_000_000, 250_000_000, 99_999_999, -150_000_000, -1]
EXPECTED = {
    "half_up": [1, 2, 3, 1, -2, 0],  # ties away from zero
    "half_even": [1, 2, 2, 1, -2, 0],  # 1.5 → 2 and 2.5 → 2 (the even cent)
    "toward_zero": [1, 1, 2, 0, -1, 0],  # drop the fraction
    "away_from_zero": [2, 2, 3, 1, -2, -1],  # any fraction is one cent more (sign kept)
}


def test_every_mode_is_listed():
    assert set(ROUNDING_MODES) == set(EXPECTED)


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_each_mode_rounds_raw_amounts_and_fractions_alike(mode):
    assert round_raw(np.array(RAWS, dtype=np.int64), mode).tolist() == EXPECTED[mode]
    assert [round_raw_total(raw, mode) for raw in RAWS] == EXPECTED[mode]
    assert [round_fraction(Fraction(raw, RAW_PER_CENT), mode) for raw in RAWS] == EXPECTED[mode]


def test_away_from_zero_beyond_int64_takes_the_decimal_path():
    # 2**62 + 1 raw = 46,116,860,184.27387905 cents → 46,116,860,185 away from zero
    assert round_raw_total(2**62 + 1, "away_from_zero") == 46_116_860_185
    assert round_raw_total(-(2**62) - 1, "away_from_zero") == -46_116_860_185


def _away_reference(raw: int) -> int:
    """Away from zero, from the words: the magnitude rounded up to a whole cent, sign kept."""
    magnitude = math.ceil(Fraction(abs(raw), RAW_PER_CENT))
    return -magnitude if raw < 0 else magnitude


@given(st.lists(st.integers(-(2**60), 2**60), max_size=30))
def test_away_from_zero_matches_the_rule(raws):
    expected = [_away_reference(raw) for raw in raws]
    assert round_raw(np.array(raws, dtype=np.int64), "away_from_zero").tolist() == expected
    assert [round_fraction(Fraction(r, RAW_PER_CENT), "away_from_zero") for r in raws] == expected


def test_an_unknown_mode_is_refused_by_the_plan():
    with pytest.raises(PlanValidationError) as caught:
        make_plan({"rounding": "up"})
    assert caught.value.errors == [
        ("options.rounding", "must be one of half_up, half_even, toward_zero, away_from_zero")
    ]


# Three sources of 0.40 CV under one earner at 1 %: 0.4 cent per line, 1.2 cents in all.
_RANKS = [{"code": "member", "personal_pv": "100", "unilevel_levels": 1}]
_INPUTS = make_inputs([-1, 0, 0, 0], ["100", "0", "0", "0"], cv=["0", "0.40", "0.40", "0.40"])


@pytest.mark.parametrize(
    ("mode", "point", "written", "rounded_away"),
    [
        # line: 0.4 → 0 except away_from_zero (0.4 → 1); zero lines are dropped and their
        # 1.2 cents are rounded once with the mode (1, 1, 1 cent; 2 cents away from zero).
        ("half_up", "line", [], 1),
        ("half_even", "line", [], 1),
        ("toward_zero", "line", [], 1),
        ("away_from_zero", "line", [1, 1, 1], 0),
        # total: 1.2 cents → 1 (2 away from zero), floors 0 + 0 + 0, the missing cents go to
        # the earliest lines (equal remainders); the lines left at 0 are not written, and as
        # the earner's total was paid their raw amount is not breakage.
        ("half_up", "earner_kind_total", [1], 0),
        ("half_even", "earner_kind_total", [1], 0),
        ("toward_zero", "earner_kind_total", [1], 0),
        ("away_from_zero", "earner_kind_total", [1, 1], 0),
    ],
)
def test_modes_at_the_line_and_at_the_total_and_zero_lines(mode, point, written, rounded_away):
    plan = make_plan(
        {"rounding": mode, "rounding_point": point}, ranks=_RANKS, unilevel={"percents": ["1"]}
    )
    result = run_engine(plan, _INPUTS)
    assert result.lines.amount.tolist() == written
    assert result.breakage["unilevel"] == rounded_away
    assert result.summary["breakage_detail"]["unilevel"] == {
        "unqualified": 0,
        "company": 0,
        "rounded_away": rounded_away,
    }


def test_an_earner_whose_total_rounds_to_zero_has_it_all_rounded_away():
    # One source of 0.40 at 1 % = 0.4 cent; the earner's total 0.4 → 0: nothing written, the
    # 0.4 cent is rounded away; breakage 0.4 cent → 0 cents half up, 1 cent away from zero.
    inputs = make_inputs([-1, 0], ["100", "0"], cv=["0", "0.40"])
    for mode, expected in (("half_up", 0), ("away_from_zero", None)):
        plan = make_plan(
            {"rounding": mode, "rounding_point": "earner_kind_total"},
            ranks=_RANKS,
            unilevel={"percents": ["1"]},
        )
        result = run_engine(plan, inputs)
        if expected is None:  # away from zero pays the cent instead
            assert result.lines.amount.tolist() == [1]
            assert result.breakage["unilevel"] == 0
        else:
            assert result.lines.amount.tolist() == []
            assert result.breakage["unilevel"] == 0  # 0.4 cent rounds to 0 cents
            assert len(result.lines) == 0


def test_rounded_away_adds_to_the_unqualified_breakage_and_the_detail_adds_up():
    # Root 0 (the only earner, one level of 1 %) with children 1, 2; 2 has child 3.
    # Source 1: 0.40 CV → 0.4 cent to 0, rounds to 0 (half up): rounded away 0.4 cent.
    # Source 3: 0.40 CV → its level 1 is person 2, who has no rank (PV 0): unqualified 0.4 c.
    # Source 2: 100.00 → 1.00 to 0. Breakage: 0.8 cent → 1 cent; split 0.4 / 0.4: floors 0,
    # the cent to the earlier cause (equal fractions): unqualified 1, rounded away 0.
    inputs = make_inputs([-1, 0, 0, 2], ["100", "0", "0", "0"], cv=["0", "0.40", "100", "0.40"])
    plan = make_plan({}, ranks=_RANKS, unilevel={"percents": ["1"]})
    result = run_engine(plan, inputs)
    assert result.lines.as_tuples() == [(0, 0, 1, 2, -1, 10000, 1_000_000, 100, 100)]
    assert result.breakage["unilevel"] == 1
    assert result.summary["breakage_detail"]["unilevel"] == {
        "unqualified": 1,
        "company": 0,
        "rounded_away": 0,
    }
