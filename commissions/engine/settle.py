"""What happens to a kind's lines when they are rounded: who may not earn, and what is too small.

Two rules, applied to every kind (core and components) in ``run_engine``, in this order:

1. **The company never earns.** Lines whose earner is the company's own root
   (``EngineInputs.is_company``) are removed before rounding; their raw amount is breakage of
   that kind, reported as ``company``. Nobody else is offered the amount (the company is the
   root, there is no upline to pass it to).
2. **A line that rounds to 0.00 is not written.** After rounding (at the line or at the
   earner's total, ``options.rounding_point``), lines of 0 cents are dropped. What their raw
   amount was is breakage of the kind, reported as ``rounded_away``:

   * ``rounding_point: line``: the raw amount of every line that rounds to 0 (e.g. 0.4 cent
     with ``half_up``): nothing of it is paid.
   * ``rounding_point: earner_kind_total``: the raw amounts of an earner's lines of the kind
     are rounded once as a total; when that total is 0, all of them are dropped and their raw
     amounts are rounded away. When the total is not 0 a line may still get 0 of it (e.g. two
     lines of 0.6 cent: a total of 1.2 cents rounds to 1 cent, the first line gets it, the
     second 0): that line is not written either, but its raw amount is in the total that was
     paid, so it is not breakage.

A kind's breakage is then its unpaid raw (nobody qualified), the company's raw and the raw
rounded away, summed and rounded once with the plan's mode; ``breakage_detail`` splits that
rounded figure over the three causes so that the parts add up to it exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from .bonuses import KindLines
from .money import RAW_PER_CENT, round_raw_total, split_fractions

IntArray = npt.NDArray[np.int64]

CAUSES = ("unqualified", "company", "rounded_away")


@dataclass(frozen=True)
class Settled:
    """A kind's lines as written (company lines and 0.00 lines gone), their cents, and the
    raw amounts (1e-8 cent, Python ints) the two rules took out."""

    lines: KindLines
    amounts: IntArray
    company_raw: int
    rounded_away_raw: int


def keep_lines(lines: KindLines, keep: npt.NDArray[np.bool_]) -> KindLines:
    """The lines where ``keep`` is set, in the same order (the unpaid raw is kept)."""
    return replace(
        lines,
        earner=lines.earner[keep],
        level=lines.level[keep],
        source=lines.source[keep],
        source_line=lines.source_line[keep],
        base=lines.base[keep],
        rate=lines.rate[keep],
    )


def settle(
    lines: KindLines,
    *,
    is_company: npt.NDArray[np.bool_],
    rounding_point: str,
    round_lines: Callable[[KindLines], IntArray],
) -> Settled:
    """Remove the company's lines, round the rest with ``round_lines`` and drop 0.00 lines."""
    company_raw = 0
    if len(lines) and is_company.any():
        by_company = is_company[lines.earner]
        if by_company.any():
            company_raw = lines.raw_total(by_company)
            lines = keep_lines(lines, ~by_company)
    amounts = round_lines(lines)
    zero = amounts == 0
    rounded_away_raw = 0
    if zero.any():
        if rounding_point == "line":
            lost = zero
        else:
            totals = np.zeros(int(lines.earner.max()) + 1, dtype=np.int64)
            np.add.at(totals, lines.earner, amounts)
            lost = zero & (totals[lines.earner] == 0)
        rounded_away_raw = lines.raw_total(lost)
        lines = keep_lines(lines, ~zero)
        amounts = amounts[~zero]
    return Settled(lines, amounts, company_raw, rounded_away_raw)


def breakage_detail(unqualified: int, company: int, rounded_away: int, mode: str) -> dict[str, int]:
    """A kind's breakage by cause, in cents: the three raw amounts' total rounded once with
    ``mode`` and split over them (floors, then largest remainders, earlier cause first on
    ties), so the parts add up to the kind's breakage exactly. Negative raw amounts (never
    produced by the engine's own kinds) are rounded one by one instead."""
    raws = (unqualified, company, rounded_away)
    if min(raws) < 0:
        return {cause: round_raw_total(raw, mode) for cause, raw in zip(CAUSES, raws, strict=True)}
    parts = split_fractions([Fraction(raw, RAW_PER_CENT) for raw in raws], mode)
    return dict(zip(CAUSES, parts, strict=True))


def kind_breakage(unqualified: int, company: int, rounded_away: int, mode: str) -> int:
    """A kind's breakage in cents: the three raw amounts summed and rounded once."""
    return round_raw_total(unqualified + company + rounded_away, mode)
