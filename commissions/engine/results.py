"""What the engine returns: per-distributor arrays, result lines and totals.

Result lines are a structure of arrays (one entry per line, all the same length), in a
deterministic order: by earner, kind (``KINDS`` order), level, source, then source order line
(order lines ranked by ``(buyer, line_id)``). Re-running the same plan on the same inputs gives
byte-identical arrays.

The payout cap is not represented by separate lines: every line carries ``amount_before_cap``
(what the rules give) and ``amount`` (what is paid after the cap); the ledger can write the
difference as an adjustment. New kinds are only ever appended (codes are stored in the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

KINDS: tuple[str, ...] = (
    "unilevel",
    "matching",
    "retail_profit",
    "fast_start",
    "rank_advancement",
    # Plan components (``components.py``), in the order they run:
    "binary",
    "matrix",
    "stair_step",
    "generation_override",
    "order_award",
)
"""Line kinds; a line's ``kind`` is the index of its name in this tuple."""

KIND_CODES: dict[str, int] = {name: code for code, name in enumerate(KINDS)}


@dataclass(frozen=True)
class ResultLines:
    """Result lines as parallel arrays (structure of arrays).

    ``base`` is what the rate applied to (cents), ``rate`` the rate in rate units of 1e-8 of 1
    (``money.RATE_ONE`` = 100_000_000 = 100 %), ``amount_before_cap`` the rounded amount,
    ``amount`` what is paid after the payout cap. ``level`` is the unilevel level, matching
    generation or rank number of an advancement bonus (0 otherwise); ``source`` the
    distributor whose volume paid the line (-1 for advancement bonuses); ``source_line`` the
    order line id (-1 when per distributor).
    """

    earner: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int8]
    level: npt.NDArray[np.int16]
    source: npt.NDArray[np.int64]
    source_line: npt.NDArray[np.int64]
    base: npt.NDArray[np.int64]
    rate: npt.NDArray[np.int32]
    amount_before_cap: npt.NDArray[np.int64]
    amount: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        for column in self.__dict__.values():
            column.setflags(write=False)

    def __len__(self) -> int:
        return len(self.earner)

    def as_tuples(self) -> list[tuple[int, ...]]:
        """Lines as tuples of Python ints (for tests and small displays, not for 1M rows)."""
        columns = (
            self.earner,
            self.kind,
            self.level,
            self.source,
            self.source_line,
            self.base,
            self.rate,
            self.amount_before_cap,
            self.amount,
        )
        return [tuple(int(v) for v in row) for row in zip(*columns, strict=True)]


@dataclass(frozen=True)
class EngineResult:
    """Everything one run produces; the service writes it to the ledger and statements.

    Per distributor (index 0..n-1):
    ``is_active``; ``gv`` (own PV + whole downline's PV, negatives counted as 0);
    ``counted_gv`` (GV that counts under the leg cap of the paid-as rank, or of the first rank
    for people without a rank: "1,200 of your 2,000 GV counts"); ``paid_as_rank`` (0 = none,
    1..R); ``highest_rank`` (max of prior and paid-as); ``advancement_paid_rank`` (highest rank
    whose advancement bonus is now paid, to persist for the next period); ``period_total``
    (cents earned this period after the cap); ``balance`` (carried_in + period_total);
    ``payable``; ``carried_out`` (balance - payable).

    ``breakage`` maps each kind to the cents the plan did not pay because nobody qualified
    (rounded once per kind). ``summary`` holds totals (see ``compute.run_engine``).
    """

    is_active: npt.NDArray[np.bool_]
    gv: npt.NDArray[np.int64]
    counted_gv: npt.NDArray[np.int64]
    paid_as_rank: npt.NDArray[np.int16]
    highest_rank: npt.NDArray[np.int16]
    advancement_paid_rank: npt.NDArray[np.int16]
    period_total: npt.NDArray[np.int64]
    balance: npt.NDArray[np.int64]
    payable: npt.NDArray[np.int64]
    carried_out: npt.NDArray[np.int64]
    lines: ResultLines
    breakage: dict[str, int]
    summary: dict[str, Any] = field(default_factory=dict)
    engine_version: str = ""
    # What each plan component hands to the next period (e.g. the binary legs' carried
    # volume), by the component's plan key; the service persists it (``components.py``).
    component_state: dict[str, Any] = field(default_factory=dict)
    # Rank grace (``rank_grace.py``): months in a row each person has been paid as last
    # period's rank while qualifying lower, to hand to the next period (None: not computed).
    grace_months_used: npt.NDArray[np.int16] | None = None

    def __post_init__(self) -> None:
        for value in self.__dict__.values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
