"""Binary plan component (plan key ``binary``, line kind ``binary``): pure numpy.

Plan section
------------
::

    binary:
      volume: cv                      # cv (default) or pv: what fills the legs
      pairing:                        # required; one of
        {method: cycle, left: 300, right: 300, amount: 25}   # amount per cycle of N:N volume
        {method: percent, percent: 10}                       # percent of the weaker leg
      fractional: false               # cycle only: pay fractions of a cycle (to 1e-6 cycle)
      qualification:
        personally_enrolled_active_per_leg: 1   # active personal enrollees placed in EACH leg
        rank: bronze                  # minimum paid-as rank to pair (optional)
      cap: {pairs: 10, excess: flush} # or {amount: 500, excess: carry}; per period
      carry: {expire_periods: 6}      # unpaired volume older than 6 periods expires
      flush_weaker_leg: false         # true: what is left on the weaker leg after pairing
                                      # is flushed (the stronger leg's rest carries)
      clawback_periods: 12            # how long the pairing history is kept for refunds
                                      # (default: carry.expire_periods, else 12)

The plan must have ``placement: {kind: binary}``.

Rules (one period)
------------------
1. **Legs.** Each person's left (position 0) and right (position 1) leg is the placement
   subtree under their child in that position. Every ancestor's leg receives each person's
   volume (own CV or PV, negatives as 0), on the side of the path; a person's own volume is in
   no leg of their own. Volume refunded inside the period never pairs: the service passes CV
   and PV net of the period's refunds, so it is simply not there.
2. **Queue.** Unpaired volume is kept per (owner, side, source period) and consumed oldest
   first; this period's new leg volume is the newest entry. Available volume on a side = the
   queue's entries on that side after refunds (rule 7) + the new volume.
3. **Qualification.** A person pairs when active, paid-as rank ≥ ``qualification.rank`` (if
   set) and, if ``personally_enrolled_active_per_leg`` = k > 0, at least k ACTIVE people whose
   enroller is that person are placed (anywhere) in each leg. An unqualified person pairs
   nothing: all their volume stays in the queue (subject to expiry).
4. **Pairing.** ``cycle`` N_L:N_R, amount A: cycles = min(L // N_L, R // N_R) (whole), or with
   ``fractional`` the millionths of a cycle min(L·10^6 // N_L, R·10^6 // N_R); each cycle pays A
   and consumes N_L left and N_R right (fractional: ceil(cycles_ppm × N / 10^6), so no volume
   that was paid for stays). ``percent`` p: the weaker leg's volume W = min(L, R) pays p % of W
   and consumes W on both sides.
5. **Cap** per period and person: ``pairs`` (cycle only: at most N cycles paid) or ``amount``
   (at most X paid: cycles ≤ X // A, fractional cycles_ppm ≤ X·10^6 // A, percent
   W_paid ≤ X·10^8 // p, p in rate units of 1e-8). ``excess: flush``: the volume of the
   cycles (or W) above the cap is consumed without pay (reported flushed); ``carry``: it
   stays in the queue.
6. **After pairing**: with ``flush_weaker_leg`` the rest of the weaker leg (the one limiting the
   cycles, L·N_R < R·N_L, or L < R for percent; both on a tie) is flushed; then entries whose
   age (this period − source period) ≥ ``expire_periods`` are removed and reported as expired
   (with k = 6, volume from period s may still pair in s + 6 and is removed after that pairing).
7. **Refunds** of volume paid in an earlier period (``component_inputs["binary"]["refunds"]``),
   served in the order given (the service passes them by refund line id), all before this
   period's pairing. A refund (buyer b, volume −v, source period s) reaches every placement
   ancestor a of b, on the side of the path, as of this period's tree:

   a. it removes what is still queued in (a, side, s), up to v (each refund of the same entry
      after the earlier ones). Whatever of v is no longer queued, r, is reported per (owner,
      side) as ``refund_unmatched`` (it paired, was flushed, or expired);
   b. of r, what is still in the **pairing history** of (a, side, s) (volume of s that a's
      pairings consumed WITH pay, per pairing period) is taken out of it, **newest pairing
      first** (reported as ``refund_paired``); volume that was flushed or expired paid
      nothing, so nothing comes back for it, and neither for volume whose history is no longer
      kept (rule 8);
   c. each piece x taken from the pairing of period t **claws back** paid_t × x / P_side(t),
      where paid_t is what that pairing paid a (cents; the service stores the ledger line's
      amount, so after the payout cap) and P_side(t) the volume it consumed with pay on the
      refunded side: exact, rounded once with the plan's rounding mode, and never more than
      paid_t minus what earlier refunds (this period's earlier ones included) clawed back of
      it. One clawback per (refund, ancestor, pairing period), reported in ``clawbacks``;
   d. and **puts back** floor(P_other(t) × x / P_side(t)) of the other side's volume that the
      same pairing consumed, newest source period first, each part with its own source period
      (so expiry still applies: a part older than ``expire_periods`` allows is expired at
      once), never more than that pairing's standing history holds on that side (never below
      zero). The volume put back joins the queue before pairing, and is available this period.

   A period's refunds all take from the queue (a), then from the history (b, c), then put
   back (d): volume put back this period is not taken by this period's refunds.
8. **Pairing history.** This period's pairing adds, per (owner, side, source period), the
   volume it consumed with pay (oldest source first, like the queue: the paid cycles' volume is
   the oldest of what was consumed, the cap's flushed excess the newest), and per owner what it
   paid and consumed with pay on each side. History rows whose source period is
   ``clawback_periods`` (h) or more periods old at the end of the period are dropped (default:
   ``carry.expire_periods`` when set, else 12), and so are pairings no row refers to any more:
   a refund in period t claws back the pairings of source period s while t − s ≤ h (the same
   window in which carried volume of s may still pair, when h is the expiry), and nothing
   after that.

Lines: one per earner paid (level 0, source −1, source_line −1):

* cycle, whole: ``base`` = cycles × A (cents), ``rate`` = 100 % (``money.RATE_ONE``);
* cycle, fractional: ``base`` = A × cycles_ppm (the pay in 1e-6 cent), ``rate`` =
  ``FRACTIONAL_RATE`` (100 rate units, 1e-6: so base × rate is the pay in 1e-8 cent, the raw
  unit; ledger lines of engines before 1.2.0 have 1 ppm, the same rate);
* percent: ``base`` = W paid (cents of volume), ``rate`` = p (rate units).

``unpaid_raw`` is 0: volume above a cap or expired is not breakage (nothing was owed).

State format (``ComponentOutput.state``; the next period's ``component_inputs["binary"]``)
-----------------------------------------------------------------------------------------
A dict::

    {
      "period": int,                  # index of the period that produced this state
      "owner": int64[k],              # engine index of the person whose leg holds the volume
      "side": int8[k],                # 0 left, 1 right
      "period_index": int64[k],       # source period of the volume
      "volume": int64[k],             # unpaired cents of volume, > 0
      "paired": {                     # the pairing history (rule 8), sorted by
        "owner", "side", "source_period", "period", "volume",   # (owner, side, source, period)
      },                              # volume of source_period consumed with pay in period
      "pairings": {                   # per (owner, period), sorted: what that pairing paid
        "owner", "period", "paid", "left", "right", "clawed",   # (cents), consumed with pay
      },                              # per side, and what refunds clawed back (cents)
      "clawbacks": {...},             # this period's clawbacks (rule 7c; not read back)
      "report": {...},                # this period's figures per person (not read back)
    }

``clawbacks`` has one row per (refund, ancestor, pairing period), sorted by (refund, owner,
period): ``refund`` (row of the refunds input), ``owner``, ``side``, ``source_period``,
``period`` (the pairing's), ``volume`` (refunded volume taken from that pairing),
``paired_volume`` (what the pairing consumed with pay on that side), ``paid`` (what it paid,
cents), ``amount`` (cents clawed back, ≥ 0) and ``restored`` (volume put back on the other
side). The next period's input takes ``paired`` and ``pairings`` as they are (owners as its
own indices; the service may leave out rows of people no longer present).

Queue rows are sorted by (owner, side, period_index) and unique on that triple. ``owner`` is
the engine index of THIS period's inputs: the service stores rows by distributor id and maps
them to the next period's indices (rows of people no longer present are dropped). The next
period's input is the same dict plus, optionally:

* ``"refunds": {"buyer": int64[r], "volume": int64[r] (≤ 0), "source_period_index": int64[r]}``
  (buyer = engine index this period);
* ``"current_period": int`` — this period's index; default ``period + 1`` (0 without a state).

``report`` holds, for every person with any volume on a side this period (sorted by owner):
``owner``, ``left``/``right`` (available volume before pairing, after refunds), ``cycles_ppm``
(cycles paid × 10^6; 0 for percent), ``paid`` (cents, rounded with the plan's mode, before
the payout cap; runs of engines before 1.2.0 stored the raw pay in 1e-6 cent), ``paired_left``/
``paired_right`` (volume consumed with pay), ``flushed_left``/``flushed_right`` (consumed
without pay: cap excess and flush_weaker_leg), ``expired_left``/``expired_right``,
``carried_left``/``carried_right``, ``refund_unmatched_left``/``refund_unmatched_right``,
``refund_paired_left``/``refund_paired_right`` (of the unmatched, what was found in the
pairing history), ``restored_left``/``restored_right`` (volume put back by refunds of the other
side), ``clawed`` (cents clawed back), ``qualified`` (bool).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from . import words
from .binary_refunds import apply_refunds, merge_into_queue, paired_in, pairings_in, record_pairing
from .bonuses import KindLines, empty_lines
from .components import ComponentContext, ComponentOutput, ComponentSpec, register
from .money import RATE_ONE, RAW_PER_CENT, rate_to_percent, round_product
from .tree import Forest

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

METHODS = ("cycle", "percent")
EXCESS = ("flush", "carry")
VOLUMES = ("cv", "pv")
LEFT, RIGHT = 0, 1
DEFAULT_CLAWBACK_PERIODS = 12
_EMPTY = np.zeros(0, dtype=np.int64)
CYCLE_UNIT = 1_000_000  # fractional cycles are counted in millionths of a cycle (cycles_ppm)
FRACTIONAL_RATE = RAW_PER_CENT // CYCLE_UNIT  # base in 1e-6 cent × this = raw (1e-8 cent)
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class BinaryOptions:
    """The parsed ``binary`` section: volumes and money in cents, rates in rate units."""

    method: str | None = "cycle"
    volume: str | None = "cv"
    cycle_left: int | None = None  # cents of volume per cycle on the left
    cycle_right: int | None = None
    cycle_amount: int | None = None  # cents paid per cycle
    percent_rate: int | None = None
    fractional: bool | None = False
    enrollees_per_leg: int | None = 0
    min_rank: int = 0  # rank number 1..R, 0 = none
    cap_pairs: int | None = None
    cap_amount: int | None = None
    cap_excess: str | None = "flush"
    expire_periods: int | None = None
    flush_weaker_leg: bool | None = False
    clawback_periods: int | None = None  # None: expire_periods, else DEFAULT_CLAWBACK_PERIODS

    @property
    def history_periods(self) -> int:
        """How many periods the pairing history of a source period is kept (rule 8)."""
        if self.clawback_periods is not None:
            return self.clawback_periods
        if self.expire_periods is not None:
            return self.expire_periods
        return DEFAULT_CLAWBACK_PERIODS


def parse(reader: Any, value: Any, path: str) -> BinaryOptions:
    fields = reader.mapping(
        value,
        path,
        (
            "volume",
            "pairing",
            "fractional",
            "qualification",
            "cap",
            "carry",
            "flush_weaker_leg",
            "clawback_periods",
        ),
        required=("pairing",),
    )
    if getattr(reader, "placement_kind", "none") != "binary":
        reader.fail(path, "needs a binary placement tree (placement: {kind: binary})")
    volume = reader.choice(fields.get("volume", "cv"), f"{path}.volume", VOLUMES)
    pairing = reader.mapping(
        fields.get("pairing", {}),
        f"{path}.pairing",
        ("method", "left", "right", "amount", "percent"),
        required=("method",),
    )
    method = reader.choice(pairing.get("method", "cycle"), f"{path}.pairing.method", METHODS)
    left = right = amount = percent = None
    if method == "cycle":
        for key in ("left", "right", "amount"):
            if key not in pairing:
                reader.fail(f"{path}.pairing.{key}", "is required with method cycle")
        if "percent" in pairing:
            reader.fail(f"{path}.pairing.percent", "is only used with method percent")
        left = reader.cents(pairing.get("left", 1), f"{path}.pairing.left")
        right = reader.cents(pairing.get("right", 1), f"{path}.pairing.right")
        amount = reader.cents(pairing.get("amount", 0), f"{path}.pairing.amount")
        for key, number in (("left", left), ("right", right), ("amount", amount)):
            if number == 0:
                reader.fail(f"{path}.pairing.{key}", "must be greater than 0")
    elif method == "percent":
        if "percent" not in pairing:
            reader.fail(f"{path}.pairing.percent", "is required with method percent")
        for key in ("left", "right", "amount"):
            if key in pairing:
                reader.fail(f"{path}.pairing.{key}", "is only used with method cycle")
        percent = reader.percent(
            pairing.get("percent", 1), f"{path}.pairing.percent", allow_zero=False
        )
    fractional = reader.boolean(fields.get("fractional", False), f"{path}.fractional")
    if fractional and method == "percent":
        reader.fail(f"{path}.fractional", "is only used with method cycle")

    qualification = reader.mapping(
        fields.get("qualification", {}),
        f"{path}.qualification",
        ("personally_enrolled_active_per_leg", "rank"),
    )
    per_leg = reader.integer(
        qualification.get("personally_enrolled_active_per_leg", 0),
        f"{path}.qualification.personally_enrolled_active_per_leg",
        maximum=1000,
    )
    min_rank = 0
    if "rank" in qualification:
        code = qualification["rank"]
        codes = getattr(reader, "rank_codes", {})
        if not isinstance(code, str) or code not in codes:
            reader.fail(f"{path}.qualification.rank", f"unknown rank code {code!r}")
        else:
            min_rank = codes[code]

    cap_pairs = cap_amount = None
    excess: str | None = "flush"
    if "cap" in fields:
        cap = reader.mapping(fields["cap"], f"{path}.cap", ("pairs", "amount", "excess"))
        if ("pairs" in cap) == ("amount" in cap):
            reader.fail(f"{path}.cap", "must give exactly one of pairs or amount")
        if "pairs" in cap:
            cap_pairs = reader.integer(cap["pairs"], f"{path}.cap.pairs")
            if method == "percent":
                reader.fail(f"{path}.cap.pairs", "is only used with method cycle (use amount)")
        if "amount" in cap:
            cap_amount = reader.cents(cap["amount"], f"{path}.cap.amount")
        excess = reader.choice(cap.get("excess", "flush"), f"{path}.cap.excess", EXCESS)

    expire = None
    if "carry" in fields:
        carry = reader.mapping(fields["carry"], f"{path}.carry", ("expire_periods",))
        if "expire_periods" in carry and carry["expire_periods"] is not None:
            expire = reader.integer(
                carry["expire_periods"], f"{path}.carry.expire_periods", maximum=1200
            )
            if expire == 0:
                reader.fail(f"{path}.carry.expire_periods", "must be at least 1")
    flush_weaker = reader.boolean(fields.get("flush_weaker_leg", False), f"{path}.flush_weaker_leg")
    clawback_periods = None
    if fields.get("clawback_periods") is not None:
        clawback_periods = reader.integer(
            fields["clawback_periods"], f"{path}.clawback_periods", maximum=1200
        )
        if clawback_periods == 0:
            reader.fail(f"{path}.clawback_periods", "must be at least 1")
    return BinaryOptions(
        method=method,
        volume=volume,
        cycle_left=left,
        cycle_right=right,
        cycle_amount=amount,
        percent_rate=percent,
        fractional=fractional,
        enrollees_per_leg=per_leg,
        min_rank=min_rank,
        cap_pairs=cap_pairs,
        cap_amount=cap_amount,
        cap_excess=excess,
        expire_periods=expire,
        flush_weaker_leg=flush_weaker,
        clawback_periods=clawback_periods,
    )


# -- placement helpers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """The binary placement tree: forest, child per side (-1 none) and preorder intervals."""

    forest: Forest
    position: npt.NDArray[np.int64]
    child: IntArray  # (n, 2)

    @classmethod
    def build(
        cls, parent: npt.ArrayLike | None, position: npt.ArrayLike | None, n: int
    ) -> Placement:
        if parent is None:
            parent_array = np.full(n, -1, dtype=np.int64)
            position_array = np.full(n, -1, dtype=np.int64)
        else:
            parent_array = np.asarray(parent, dtype=np.int64)
            position_array = np.asarray(position, dtype=np.int64)
        placed = np.flatnonzero(parent_array >= 0)
        sides = position_array[placed]
        if len(placed) and (sides.min() < 0 or sides.max() > 1):
            raise ValueError("binary placement positions must be 0 (left) or 1 (right)")
        slot = parent_array[placed] * 2 + sides
        child = np.full(2 * n, -1, dtype=np.int64)
        child[slot] = placed
        if len(placed) and np.count_nonzero(child >= 0) != len(placed):
            raise ValueError("binary placement: two people in the same position under a parent")
        return cls(Forest.build(parent_array), position_array, child.reshape(n, 2))

    def leg_volume(self, volume: IntArray) -> IntArray:
        """(n, 2): each person's left and right leg volume (their own volume not included)."""
        subtree = self.forest.subtree_sum(volume)
        has = self.child >= 0
        return np.where(has, subtree[np.maximum(self.child, 0)], 0)

    def preorder(self) -> tuple[IntArray, IntArray]:
        """Preorder number and subtree size of every node (left leg before right)."""
        forest = self.forest
        n = forest.n
        size = forest.subtree_sum(np.ones(n, dtype=np.int64))
        tin = np.zeros(n, dtype=np.int64)
        if n == 0:
            return tin, size
        roots = forest.level(0)
        tin[roots] = np.cumsum(size[roots]) - size[roots]
        left_size = self.left_size(size)
        for d in range(1, forest.levels):
            nodes = forest.level(d)
            parents = forest.parent[nodes]
            offset = np.where(self.position[nodes] == RIGHT, left_size[parents], 0)
            tin[nodes] = tin[parents] + 1 + offset
        return tin, size

    def left_size(self, size: IntArray) -> IntArray:
        """People in each node's left leg, from the subtree sizes."""
        left = self.child[:, LEFT]
        return np.where(left >= 0, size[np.maximum(left, 0)], 0)

    def enrollees_per_leg(self, enroller: IntArray, counts: BoolArray) -> IntArray:
        """(n, 2): how many people with ``counts`` set and enroller e sit in each leg of e."""
        n = self.forest.n
        result = np.zeros((n, 2), dtype=np.int64)
        people = np.flatnonzero(counts & (enroller >= 0))
        if len(people) == 0:
            return result
        tin, size = self.preorder()
        owners = enroller[people]
        # q is in e's left leg ⇔ tin[e] < tin[q] ≤ tin[e] + (size of the left leg); in the
        # right leg ⇔ that + 1 ≤ ... < tin[e] + size[e] (preorder, left leg first).
        start = tin[owners]
        left_end = start + self.left_size(size)[owners]
        position = tin[people]
        in_left = (position > start) & (position <= left_end)
        in_right = (position > left_end) & (position < start + size[owners])
        side = np.where(in_left, LEFT, RIGHT)
        inside = in_left | in_right
        counts = np.bincount(owners[inside] * 2 + side[inside], minlength=2 * n)
        result = counts.reshape(n, 2).astype(np.int64)
        return result


# -- the queue -----------------------------------------------------------------------------


def _previous(inputs: Any) -> dict[str, Any]:
    state = inputs.component_inputs.get("binary") if inputs.component_inputs else None
    return dict(state) if state else {}


def _current_period(previous: dict[str, Any]) -> int:
    if "current_period" in previous:
        return int(previous["current_period"])
    if "period" in previous:
        return int(previous["period"]) + 1
    return 0


def _queue_in(previous: dict[str, Any], n: int) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """The previous queue (owner, side, period_index, volume), checked."""
    if "owner" not in previous:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    owner = np.asarray(previous["owner"], dtype=np.int64)
    side = np.asarray(previous["side"], dtype=np.int64)
    period = np.asarray(previous["period_index"], dtype=np.int64)
    volume = np.asarray(previous["volume"], dtype=np.int64)
    if not (len(owner) == len(side) == len(period) == len(volume)):
        raise ValueError("binary state: owner, side, period_index and volume differ in length")
    if len(owner) and (owner.min() < 0 or owner.max() >= n):
        raise ValueError(f"binary state: owner must be in 0..{n - 1}")
    if len(side) and (side.min() < 0 or side.max() > 1):
        raise ValueError("binary state: side must be 0 or 1")
    if len(volume) and volume.min() < 0:
        raise ValueError("binary state: volume must not be negative")
    if len(owner) > 1:
        low = int(period.min())
        key = (owner * 2 + side) * (int(period.max()) - low + 1) + (period - low)
        step = np.diff(key)
        if np.any(step == 0) or (np.any(step < 0) and len(np.unique(key)) < len(key)):
            raise ValueError("binary state: two rows for the same (owner, side, period_index)")
        if np.any(step < 0):  # not in the documented order: sort it
            order = np.argsort(key, kind="stable")
            owner, side, period, volume = owner[order], side[order], period[order], volume[order]
    return owner, side, period, volume


def refund_clawbacks(
    state: dict[str, Any], parent: npt.ArrayLike, position: npt.ArrayLike, mode: str
) -> dict[str, IntArray]:
    """The clawbacks (rule 7c, the state's ``clawbacks`` format) that the refunds in ``state``
    (a ``component_inputs["binary"]`` dict) make over this placement tree, exactly as
    ``compute`` makes them: the service writes them as ledger lines before the period's run,
    whose ``compute`` then applies the same refunds to the queue and history."""
    n = len(np.asarray(parent))
    placement = Placement.build(parent, position, n)
    outcome = apply_refunds(
        state.get("refunds"),
        placement.forest.parent,
        placement.position,
        _queue_in(state, n),
        paired_in(state, n),
        pairings_in(state, n),
        mode,
    )
    return outcome.clawbacks


def _group_starts(sorted_keys: IntArray) -> IntArray:
    if len(sorted_keys) == 0:
        return _EMPTY
    return np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))


# -- pairing -------------------------------------------------------------------------------


def _pair(
    options: BinaryOptions, available: IntArray, qualified: BoolArray, mode: str
) -> dict[str, Any]:
    """Per person: what is paid (base × rate, and ``paid`` in cents rounded with ``mode``),
    consumed with pay, consumed without pay (flushed)."""
    left, right = available[:, 0], available[:, 1]
    n = len(left)
    zeros = np.zeros(n, dtype=np.int64)
    if options.method == "percent":
        percent_rate = int(options.percent_rate or 0)
        weaker = np.where(qualified, np.minimum(left, right), 0)
        paid_volume = weaker
        if options.cap_amount is not None:
            # Python ints: cap × 10^8 // p, clamped to int64 (no weaker leg is that large).
            most = min(options.cap_amount * RATE_ONE // percent_rate, _INT64_MAX)
            paid_volume = np.minimum(weaker, most)
        consumed_paid = paid_volume
        consumed_all = weaker if options.cap_excess == "flush" else paid_volume
        base = paid_volume
        rate = np.full(n, percent_rate, dtype=np.int64)
        cycles_ppm = zeros
        consumed_paid_left = consumed_paid_right = consumed_paid
        consumed_all_left = consumed_all_right = consumed_all
        weaker_side = np.stack([left <= right, right <= left], axis=1)
    else:
        n_left, n_right = int(options.cycle_left or 1), int(options.cycle_right or 1)
        amount = int(options.cycle_amount or 0)
        if options.fractional:
            cycles = np.minimum(left * CYCLE_UNIT // n_left, right * CYCLE_UNIT // n_right)
            unit = CYCLE_UNIT
        else:
            cycles = np.minimum(left // n_left, right // n_right)
            unit = 1
        cycles = np.where(qualified, cycles, 0)
        paid_cycles = cycles
        if options.cap_pairs is not None:
            paid_cycles = np.minimum(paid_cycles, options.cap_pairs * unit)
        if options.cap_amount is not None:
            paid_cycles = np.minimum(paid_cycles, options.cap_amount * unit // amount)
        kept = cycles if options.cap_excess == "flush" else paid_cycles

        def used(count: IntArray, size: int) -> IntArray:
            return -((-count * size) // unit)  # ceil(count × size / unit)

        consumed_paid_left, consumed_paid_right = (
            used(paid_cycles, n_left),
            used(paid_cycles, n_right),
        )
        consumed_all_left, consumed_all_right = used(kept, n_left), used(kept, n_right)
        if options.fractional:
            base, rate = amount * paid_cycles, np.full(n, FRACTIONAL_RATE, dtype=np.int64)
            cycles_ppm = paid_cycles
        else:
            base, rate = amount * paid_cycles, np.full(n, RATE_ONE, dtype=np.int64)
            cycles_ppm = paid_cycles * CYCLE_UNIT
        weaker_side = np.stack(
            [left * n_right <= right * n_left, right * n_left <= left * n_right], axis=1
        )
    consumed = np.stack([consumed_all_left, consumed_all_right], axis=1)
    paired = np.stack([consumed_paid_left, consumed_paid_right], axis=1)
    return {
        "paid": round_product(base, rate, mode),  # exact: base × rate may pass int64
        "base": base,
        "rate": rate,
        "cycles_ppm": cycles_ppm,
        "paired": paired,
        "consumed": consumed,
        "weaker_side": weaker_side & qualified[:, None],
    }


def _consume(slot: IntArray, volume: IntArray, starts: IntArray, take_total: IntArray) -> IntArray:
    """Take ``take_total[g]`` from each group g of rows (rows sorted oldest first within
    contiguous groups starting at ``starts``); return what is left of each row."""
    cumulative = np.cumsum(volume)
    group_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(volume))))
    before_group = (cumulative[starts] - volume[starts])[group_of_row]
    before_row = cumulative - volume - before_group  # volume of older rows in the group
    take = np.clip(take_total[group_of_row] - before_row, 0, volume)
    return volume - take


def compute(options: BinaryOptions, context: ComponentContext) -> ComponentOutput:
    inputs = context.inputs
    n = inputs.n
    previous = _previous(inputs)
    current = _current_period(previous)
    placement = Placement.build(inputs.placement_parent, inputs.placement_position, n)
    volume_own = context.pv if options.volume == "pv" else context.cv
    new_legs = placement.leg_volume(volume_own)

    queue = _queue_in(previous, n)
    if len(queue[2]) and int(queue[2].max()) >= current:
        raise ValueError("binary state: queued volume from this period or later")
    history = paired_in(previous, n)
    if len(history.period) and int(history.period.max()) >= current:
        raise ValueError("binary state: pairing history from this period or later")
    mode = context.plan.options.rounding
    refunds = apply_refunds(
        previous.get("refunds"),
        placement.forest.parent,
        placement.position,
        queue,
        history,
        pairings_in(previous, n),
        mode,
    )
    refund_unmatched = refunds.unmatched
    expired = np.zeros(2 * n, dtype=np.int64)
    restored = refunds.restored
    if options.expire_periods is not None and len(restored[0]):
        # Volume put back older than any carried entry can be: expired at once (rule 7d).
        too_old = current - restored[2] > options.expire_periods
        np.add.at(expired, restored[0][too_old] * 2 + restored[1][too_old], restored[3][too_old])
        restored = tuple(a[~too_old] for a in restored)
    q_owner, q_side, q_period, kept_volume = merge_into_queue(
        (queue[0], queue[1], queue[2], refunds.queue_volume), restored
    )
    # New volume is the newest entry of its (owner, side): it goes right after that slot's
    # queued rows, so the merged rows stay sorted by (owner, side, period) without a sort.
    new_slot = np.flatnonzero(new_legs.reshape(-1) > 0)
    at = np.searchsorted(q_owner * 2 + q_side, new_slot, side="right")
    owner = np.insert(q_owner, at, new_slot // 2)
    side = np.insert(q_side, at, new_slot % 2)
    period = np.insert(q_period, at, current)
    volume = np.insert(kept_volume, at, new_legs.reshape(-1)[new_slot])
    live = volume > 0
    if not live.all():
        owner, side, period, volume = owner[live], side[live], period[live], volume[live]
    slot = owner * 2 + side
    starts = _group_starts(slot)
    available = np.zeros(2 * n, dtype=np.int64)
    if len(starts):
        available[slot[starts]] = np.add.reduceat(volume, starts)
    available = available.reshape(n, 2)

    qualified = context.is_active.copy()
    if options.min_rank:
        qualified &= context.paid_as >= options.min_rank
    if options.enrollees_per_leg:
        counts = placement.enrollees_per_leg(inputs.enroller, context.is_active)
        qualified &= (counts >= options.enrollees_per_leg).all(axis=1)
    pairing = _pair(options, available, qualified, mode)
    consumed = pairing["consumed"].reshape(-1)
    remaining = _consume(slot, volume, starts, consumed[slot[starts]]) if len(starts) else volume
    # What was consumed WITH pay: the oldest part of what was consumed (rule 8).
    paired_flat = pairing["paired"].reshape(-1)
    with_pay = (
        volume - _consume(slot, volume, starts, paired_flat[slot[starts]])
        if len(starts)
        else volume
    )
    took = with_pay > 0
    paired_history, pairings = record_pairing(
        refunds.paired,
        refunds.pairings,
        current=current,
        new_rows=(owner[took], side[took], period[took], with_pay[took]),
        paid=pairing["paid"],
        paired_sides=pairing["paired"],
        keep_periods=options.history_periods,
    )

    flushed = (pairing["consumed"] - pairing["paired"]).reshape(-1).copy()
    if options.flush_weaker_leg:
        flush_rows = pairing["weaker_side"].reshape(-1)[slot]
        np.add.at(flushed, slot[flush_rows], remaining[flush_rows])
        remaining = np.where(flush_rows, 0, remaining)
    if options.expire_periods is not None:
        old = (current - period >= options.expire_periods) & (remaining > 0)
        np.add.at(expired, slot[old], remaining[old])
        remaining = np.where(old, 0, remaining)
    carried = np.zeros(2 * n, dtype=np.int64)
    if len(starts):
        carried[slot[starts]] = np.add.reduceat(remaining, starts)
    left_over = remaining > 0

    lines = _lines(pairing)
    report_people = np.flatnonzero(
        available.any(axis=1) | refund_unmatched.any(axis=1) | refunds.restored_by_side.any(axis=1)
    )
    pair2 = lambda a: a.reshape(n, 2)[report_people]  # noqa: E731
    report = {
        "owner": report_people,
        "left": available[report_people, 0],
        "right": available[report_people, 1],
        "cycles_ppm": pairing["cycles_ppm"][report_people],
        "paid": pairing["paid"][report_people],
        "clawed": refunds.clawed[report_people],
        "qualified": qualified[report_people],
    }
    for name, values in (
        ("paired", pairing["paired"].reshape(-1)),
        ("flushed", flushed),
        ("expired", expired),
        ("carried", carried),
        ("refund_unmatched", refund_unmatched.reshape(-1)),
        ("refund_paired", refunds.refund_paired.reshape(-1)),
        ("restored", refunds.restored_by_side.reshape(-1)),
    ):
        both = pair2(values)
        report[f"{name}_left"], report[f"{name}_right"] = both[:, 0].copy(), both[:, 1].copy()
    state = {
        "period": current,
        "owner": owner[left_over],
        "side": side[left_over].astype(np.int8),
        "period_index": period[left_over],
        "volume": remaining[left_over],
        "paired": paired_history.as_state(),
        "pairings": pairings.as_state(),
        "clawbacks": refunds.clawbacks,
        "report": report,
    }
    return ComponentOutput(lines={"binary": lines}, state=state)


def _lines(pairing: dict[str, Any]) -> KindLines:
    earners = np.flatnonzero((pairing["base"] > 0) & (pairing["rate"] > 0))
    if len(earners) == 0:
        return empty_lines()
    none = np.full(len(earners), -1, dtype=np.int64)
    return KindLines(
        earners,
        np.zeros(len(earners), dtype=np.int16),
        none,
        none,
        pairing["base"][earners],
        pairing["rate"][earners].astype(np.int32),
        0,
    )


# -- payout bound and words ----------------------------------------------------------------


def max_payout_percent(options: BinaryOptions) -> Decimal | None:
    """Pay per unit of paired volume on one side, as a percent.

    Percent method: p. Cycle method: A / min(N_L, N_R) × 100 (a cycle pays A for at least
    min(N) of volume on each side). This bounds what one earner is paid per cent of their
    weaker leg's volume; it is NOT a bound on the total against the company's CV, since every
    placement ancestor pairs the same cent of volume again (the plan's payout cap is that
    bound).
    """
    if options.method == "percent":
        return rate_to_percent(int(options.percent_rate or 0))
    smallest = min(int(options.cycle_left or 1), int(options.cycle_right or 1))
    return Decimal(int(options.cycle_amount or 0)) * 100 / Decimal(smallest)


def _cycles(cycles_ppm: int) -> str:
    whole, part = divmod(int(cycles_ppm), CYCLE_UNIT)
    if part == 0:
        return f"{whole:,}"
    return f"{whole:,}.{part:06d}".rstrip("0")


def explain(line: Any, options: BinaryOptions) -> str:
    """The rule's words for one binary line (``line`` has ``base`` and ``rate``)."""
    unit = (options.volume or "cv").upper()
    base, rate = int(line.base), int(line.rate)
    if options.method == "percent":
        return f"binary: {words.percent(rate)} % of the weaker leg's {words.volume(base)} {unit}"
    amount = int(options.cycle_amount or 1)
    # Whole cycles: base = cycles × A at 100 %; fractional: base = A × cycles_ppm at
    # FRACTIONAL_RATE.
    cycles_ppm = base // amount * CYCLE_UNIT if rate == RATE_ONE else base // amount
    count = _cycles(cycles_ppm)
    word = "pair" if cycles_ppm == CYCLE_UNIT else "pairs"
    return (
        f"binary: {count} {word} of {words.volume(options.cycle_left or 0)}/"
        f"{words.volume(options.cycle_right or 0)} {unit} at {words.money(amount)} each"
    )


def describe(person_index: int, result_state: dict[str, Any], options: BinaryOptions) -> str:
    """The statement's sentence for one person, from the period's state (its report)."""
    report = result_state["report"]
    owners = np.asarray(report["owner"])
    row = int(np.searchsorted(owners, person_index))
    if row >= len(owners) or owners[row] != person_index:
        return "binary: no leg volume this period"
    unit = (options.volume or "cv").upper()
    figures = {key: int(np.asarray(value)[row]) for key, value in report.items() if key != "owner"}
    if options.method == "percent":
        percent = words.percent(int(options.percent_rate or 0))
        paired = words.volume(figures["paired_left"])
        head = f"binary: {percent} % of {paired} {unit} paired"
    else:
        cycles = figures["cycles_ppm"]
        word = "pair" if cycles == CYCLE_UNIT else "pairs"
        head = (
            f"binary: {_cycles(cycles)} {word} of {words.volume(options.cycle_left or 0)}/"
            f"{words.volume(options.cycle_right or 0)} {unit}"
        )
    if not figures["qualified"]:
        head += " (not qualified: volume carried)"
    parts = [head]
    for side in ("left", "right"):
        carried = words.volume(figures[f"carried_{side}"])
        text = f"{side} {words.volume(figures[side])} → {carried} carried"
        lost = figures[f"flushed_{side}"] + figures[f"expired_{side}"]
        if lost:
            text += f", {words.volume(lost)} flushed"
        parts.append(text)
    return ", ".join(parts)


register(
    ComponentSpec(
        key="binary",
        kinds=("binary",),
        parse=parse,
        compute=compute,
        max_payout_percent=max_payout_percent,
        explain=explain,
    )
)
