"""Binary refunds and the pairing history: what a refund of an earlier period's volume takes
out of the carry queue, claws back from the pairings it took part in, and puts back on the
other side. Pure numpy, no per-person Python; the rules are rule 7 of ``binary.py``'s
docstring, and the state keys ``paired``, ``pairings`` and ``clawbacks`` are defined there.

Every step is a set operation over sorted integer keys:

* refunds are expanded to every placement ancestor (one row per refund and ancestor, climbing
  the tree level by level) and grouped by (owner, side, source period) in refund order;
* a group takes first from its queue entry (each refund after the earlier ones of the group),
  then from the group's standing paired volume, newest pairing first (``_allocate``: the
  intervals of what each refund asks for, laid over the intervals of what each history row
  holds, give one piece per (refund, history row) in one ``np.unique`` and two
  ``searchsorted``);
* each piece claws back ``paid × piece / paired volume of that side`` of its pairing, rounded
  once with the plan's mode (``money.round_product_ratio``), within what the pairing paid less
  what was clawed before (a cumulative sum per pairing, in refund order);
* and asks back ``other side's paired volume × piece / paired volume of that side`` (floored),
  taken from the other side's history rows of the same pairing, newest source period first
  (``_allocate`` again), never below zero.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from .money import round_product_ratio

IntArray = npt.NDArray[np.int64]
_EMPTY = np.zeros(0, dtype=np.int64)


class _Columns:
    """Parallel arrays of one table, one row per index."""

    def take(self, rows: npt.NDArray[Any]) -> Self:
        """Those rows of every column."""
        return type(self)(*(getattr(self, column.name)[rows] for column in fields(self)))


@dataclass(frozen=True)
class Paired(_Columns):
    """Volume consumed with pay and still standing, per (owner, side, source period, pairing
    period), sorted by that key (unique)."""

    owner: IntArray
    side: IntArray
    source: IntArray
    period: IntArray
    volume: IntArray

    @classmethod
    def empty(cls) -> Paired:
        return cls(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)

    def as_state(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "side": self.side.astype(np.int8),
            "source_period": self.source,
            "period": self.period,
            "volume": self.volume,
        }


@dataclass(frozen=True)
class Pairings(_Columns):
    """What each owner's pairing of a period paid (cents) and consumed with pay on each side
    (cents of volume), and what later refunds clawed back of it (cents), sorted by (owner,
    period) (unique)."""

    owner: IntArray
    period: IntArray
    paid: IntArray
    left: IntArray
    right: IntArray
    clawed: IntArray

    @classmethod
    def empty(cls) -> Pairings:
        return cls(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)

    def as_state(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "period": self.period,
            "paid": self.paid,
            "left": self.left,
            "right": self.right,
            "clawed": self.clawed,
        }


@dataclass(frozen=True)
class RefundOutcome:
    """What the period's refunds did (see ``apply_refunds``)."""

    queue_volume: IntArray  # per queue row, after the refunds took their part
    restored: tuple[IntArray, IntArray, IntArray, IntArray]  # (owner, side, source, volume)
    paired: Paired
    pairings: Pairings
    unmatched: IntArray  # (n, 2): refunded volume no longer in the queue
    refund_paired: IntArray  # (n, 2): of it, found in the pairing history
    restored_by_side: IntArray  # (n, 2): volume put back on each side
    clawed: IntArray  # (n,): cents clawed back per owner
    clawbacks: dict[str, IntArray]


# -- reading the state ---------------------------------------------------------------------


def _arrays(section: Any, names: tuple[str, ...], what: str) -> list[IntArray]:
    arrays = [np.asarray(section[name], dtype=np.int64) for name in names]
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(f"binary state: {what} arrays differ in length")
    return arrays


def paired_in(previous: dict[str, Any], n: int) -> Paired:
    section = previous.get("paired")
    if not section or len(section.get("owner", ())) == 0:
        return Paired.empty()
    owner, side, source, period, volume = _arrays(
        section, ("owner", "side", "source_period", "period", "volume"), "paired"
    )
    if owner.min() < 0 or owner.max() >= n:
        raise ValueError(f"binary state: paired owner must be in 0..{n - 1}")
    if side.min() < 0 or side.max() > 1:
        raise ValueError("binary state: paired side must be 0 or 1")
    if volume.min() < 0 or np.any(period < source):
        raise ValueError("binary state: paired volume must not be negative nor pair early")
    paired = Paired(owner, side, source, period, volume)
    key = _key4(paired, *_span(source, period))
    if len(key) > 1 and not np.all(np.diff(key) > 0):
        order = np.argsort(key, kind="stable")
        if np.any(np.diff(key[order]) == 0):
            raise ValueError("binary state: two paired rows for the same key")
        paired = paired.take(order)
    return paired


def pairings_in(previous: dict[str, Any], n: int) -> Pairings:
    section = previous.get("pairings")
    if not section or len(section.get("owner", ())) == 0:
        return Pairings.empty()
    arrays = _arrays(section, ("owner", "period", "paid", "left", "right", "clawed"), "pairings")
    pairings = Pairings(*arrays)
    if pairings.owner.min() < 0 or pairings.owner.max() >= n:
        raise ValueError(f"binary state: pairing owner must be in 0..{n - 1}")
    if min(int(a.min()) for a in arrays[2:]) < 0 or np.any(pairings.clawed > pairings.paid):
        raise ValueError("binary state: pairing figures must be ≥ 0 and clawed ≤ paid")
    low, span = _span(pairings.period)
    key = pairings.owner * span + (pairings.period - low)
    if len(key) > 1 and not np.all(np.diff(key) > 0):
        order = np.argsort(key, kind="stable")
        if np.any(np.diff(key[order]) == 0):
            raise ValueError("binary state: two pairing rows for the same owner and period")
        pairings = pairings.take(order)
    return pairings


def _span(*periods: IntArray) -> tuple[int, int]:
    values = [p for p in periods if len(p)]
    if not values:
        return 0, 1
    low = min(int(p.min()) for p in values)
    return low, max(int(p.max()) for p in values) - low + 1


def _key4(paired: Paired, low: int, span: int) -> IntArray:
    slot = paired.owner * 2 + paired.side
    return (slot * span + (paired.source - low)) * span + (paired.period - low)


# -- the allocation of ordered requests over ordered holdings ------------------------------


def _allocate(
    supply_key: IntArray, supply_volume: IntArray, demand_key: IntArray, demand_amount: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Each demand takes from the supply rows of its key, in their order, after the earlier
    demands of that key; returns (demand index, supply index, amount) of every piece > 0.

    ``supply_key`` is sorted (rows of a key in the order they are used) and so is
    ``demand_key`` (demands of a key in the order they are served)."""
    if len(supply_key) == 0 or len(demand_key) == 0:
        return _EMPTY, _EMPTY, _EMPTY
    keys, first = np.unique(demand_key, return_index=True)
    low = np.searchsorted(supply_key, keys, side="left")
    high = np.searchsorted(supply_key, keys, side="right")
    cumulative = np.concatenate(([0], np.cumsum(supply_volume)))
    total = cumulative[high] - cumulative[low]
    offset = np.cumsum(total) - total  # each key's stretch of one line, side by side
    counts = high - low
    key_of_row = np.repeat(np.arange(len(keys)), counts)
    rows = np.arange(int(counts.sum())) + np.repeat(low - (np.cumsum(counts) - counts), counts)
    supply_end = offset[key_of_row] + cumulative[rows + 1] - cumulative[low[key_of_row]]
    supply_start = supply_end - supply_volume[rows]
    key_of_demand = np.searchsorted(keys, demand_key)
    asked = np.cumsum(demand_amount)
    before = asked - demand_amount - (asked[first] - demand_amount[first])[key_of_demand]
    limit = total[key_of_demand]
    demand_start = offset[key_of_demand] + np.minimum(before, limit)
    demand_end = offset[key_of_demand] + np.minimum(before + demand_amount, limit)
    bounds = np.unique(np.concatenate((supply_start, supply_end, demand_start, demand_end)))
    start, end = bounds[:-1], bounds[1:]
    demand = np.searchsorted(demand_end, start, side="right")
    supply = np.searchsorted(supply_end, start, side="right")
    inside = (demand < len(demand_end)) & (supply < len(supply_end))
    demand, supply = np.minimum(demand, len(demand_end) - 1), np.minimum(supply, len(rows) - 1)
    inside &= (demand_start[demand] <= start) & (supply_start[supply] <= start)
    return demand[inside], rows[supply[inside]], (end - start)[inside]


def _sorted_by(*keys: IntArray) -> IntArray:
    """Row order sorting by the keys (the first key most significant), stable."""
    return np.lexsort(tuple(reversed(keys)))


# -- the refunds ---------------------------------------------------------------------------


def apply_refunds(
    refunds: dict[str, Any] | None,
    parent: IntArray,
    position: IntArray,
    queue: tuple[IntArray, IntArray, IntArray, IntArray],
    paired: Paired,
    pairings: Pairings,
    mode: str,
) -> RefundOutcome:
    """Apply the period's refunds of earlier periods' volume (rule 7 of ``binary.py``).

    ``parent``/``position``: the binary placement tree as of this period (-1 none); ``queue``:
    (owner, side, period_index, volume) sorted; ``mode``: the plan's rounding mode. Refunds
    are served in the order given (the service passes them by refund line id)."""
    owner, side, period, volume = queue
    n = len(parent)
    unmatched = np.zeros(2 * n, dtype=np.int64)
    refund_paired = np.zeros(2 * n, dtype=np.int64)
    restored_by_side = np.zeros(2 * n, dtype=np.int64)
    clawed = np.zeros(n, dtype=np.int64)
    nothing = RefundOutcome(
        volume,
        (_EMPTY, _EMPTY, _EMPTY, _EMPTY),
        paired,
        pairings,
        unmatched.reshape(n, 2),
        refund_paired.reshape(n, 2),
        restored_by_side.reshape(n, 2),
        clawed,
        _no_clawbacks(),
    )
    if not refunds or len(refunds.get("buyer", ())) == 0:
        return nothing
    buyer = np.asarray(refunds["buyer"], dtype=np.int64)
    amount = -np.asarray(refunds["volume"], dtype=np.int64)
    source = np.asarray(refunds["source_period_index"], dtype=np.int64)
    if not (len(buyer) == len(amount) == len(source)):
        raise ValueError("binary refunds: buyer, volume and source_period_index differ in length")
    if buyer.min() < 0 or buyer.max() >= n:
        raise ValueError(f"binary refunds: buyer must be in 0..{n - 1}")
    if amount.min() < 0:
        raise ValueError("binary refunds: volume must be negative (or 0)")

    # Every (refund, ancestor, side) the refunds reach, climbing level by level.
    refund_rows, owners, sides = [], [], []
    current = np.flatnonzero(amount > 0)
    child = buyer[current]
    while len(current):
        up = parent[child]
        keep = up >= 0
        current, child, up = current[keep], child[keep], up[keep]
        refund_rows.append(current)
        owners.append(up)
        sides.append(position[child])
        child = up
    if not refund_rows or sum(len(r) for r in refund_rows) == 0:
        return nothing
    refund = np.concatenate(refund_rows)
    reach_owner = np.concatenate(owners)
    reach_side = np.concatenate(sides).astype(np.int64)
    reach_source = source[refund]
    reach_amount = amount[refund]
    low, span = _span(reach_source, period, paired.source, paired.period, pairings.period)
    reach_slot = reach_owner * 2 + reach_side
    key = reach_slot * span + (reach_source - low)
    order = _sorted_by(key, refund)
    refund, reach_owner, reach_side, reach_source, reach_amount, reach_slot, key = (
        a[order]
        for a in (refund, reach_owner, reach_side, reach_source, reach_amount, reach_slot, key)
    )

    # 1. The queue entry (owner, side, source) gives what it still holds, refund by refund.
    volume = volume.copy()
    queue_key = (owner * 2 + side) * span + (period - low)
    taken_pieces = _allocate(queue_key, volume, key, reach_amount)
    taken = np.zeros(len(key), dtype=np.int64)
    np.add.at(taken, taken_pieces[0], taken_pieces[2])
    np.subtract.at(volume, taken_pieces[1], taken_pieces[2])
    rest = reach_amount - taken
    np.add.at(unmatched, reach_slot, rest)

    # 2. The rest comes out of the volume of (owner, side, source) that paired, newest pairing
    # first.
    paired_volume = paired.volume.copy()
    # Only the history of the owners the refunds reach is sorted (a small part of it).
    reached = np.zeros(n, dtype=bool)
    reached[reach_owner] = True
    touched = np.flatnonzero(reached[paired.owner])
    by_source = touched[
        _sorted_by(
            (paired.owner * 2 + paired.side)[touched],
            paired.source[touched],
            -paired.period[touched],
        )
    ]
    history_key = (paired.owner * 2 + paired.side)[by_source] * span + (
        paired.source[by_source] - low
    )
    wanting = np.flatnonzero(rest > 0)
    demand, supply, piece_volume = _allocate(
        history_key, paired_volume[by_source], key[wanting], rest[wanting]
    )
    piece_reach = wanting[demand]
    piece_row = by_source[supply]  # the paired row (owner, side, source, pairing period)
    np.subtract.at(paired_volume, piece_row, piece_volume)
    np.add.at(refund_paired, reach_slot[piece_reach], piece_volume)

    # 3. Clawback: the piece's share of what its pairing paid, within what is left of it.
    piece_owner = reach_owner[piece_reach]
    piece_side = reach_side[piece_reach]
    piece_period = paired.period[piece_row]
    pairing_key = pairings.owner * span + (pairings.period - low)
    wanted = piece_owner * span + (piece_period - low)
    if len(pairing_key):
        at = np.minimum(np.searchsorted(pairing_key, wanted), len(pairing_key) - 1)
        has_pairing = pairing_key[at] == wanted
    else:
        at, has_pairing = np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), bool)

    def pick(values: IntArray) -> IntArray:
        return np.where(has_pairing, values[at], 0) if len(values) else np.zeros_like(at)

    paid, left, right = pick(pairings.paid), pick(pairings.left), pick(pairings.right)
    still = pick(pairings.paid - pairings.clawed)
    same_side = np.where(piece_side == 0, left, right)
    other_side = np.where(piece_side == 0, right, left)
    usable = has_pairing & (same_side > 0)
    divisor = np.where(usable, same_side, 1)
    share = np.where(usable, round_product_ratio(paid, piece_volume, divisor, mode), 0)
    back = np.where(
        usable, round_product_ratio(other_side, piece_volume, divisor, "toward_zero"), 0
    )
    # Never more than the pairing paid minus what was clawed before (this period's earlier
    # refunds included, in refund order).
    claw_order = _sorted_by(np.where(has_pairing, at, -1), refund[piece_reach])
    group = np.where(has_pairing, at, -1)[claw_order]
    starts = _group_starts(group)
    running = np.cumsum(share[claw_order])
    before = (
        running
        - share[claw_order]
        - np.repeat((running - share[claw_order])[starts], np.diff(np.append(starts, len(group))))
    )
    allowed_sorted = np.clip(still[claw_order] - before, 0, share[claw_order])
    allowed = np.zeros(len(share), dtype=np.int64)
    allowed[claw_order] = allowed_sorted
    new_clawed = pairings.clawed.copy()
    np.add.at(new_clawed, at[has_pairing], allowed[has_pairing])
    np.add.at(clawed, piece_owner, allowed)

    # 4. Put back the other side's volume of the same pairing, newest source period first.
    by_pairing = touched[
        _sorted_by(
            (paired.owner * 2 + paired.side)[touched],
            paired.period[touched],
            -paired.source[touched],
        )
    ]
    pairing_side_key = (paired.owner * 2 + paired.side)[by_pairing] * span + (
        paired.period[by_pairing] - low
    )
    asking = np.flatnonzero(back > 0)
    ask_key = (piece_owner * 2 + 1 - piece_side)[asking] * span + (piece_period[asking] - low)
    ask_order = _sorted_by(ask_key, refund[piece_reach][asking])
    asking = asking[ask_order]
    demand, supply, put_back = _allocate(
        pairing_side_key, paired_volume[by_pairing], ask_key[ask_order], back[asking]
    )
    back_piece = asking[demand]
    back_row = by_pairing[supply]
    np.subtract.at(paired_volume, back_row, put_back)
    restored_piece = np.zeros(len(piece_volume), dtype=np.int64)
    np.add.at(restored_piece, back_piece, put_back)
    restored_slot = paired.owner[back_row] * 2 + paired.side[back_row]
    np.add.at(restored_by_side, restored_slot, put_back)
    restored = _sum_rows(restored_slot, paired.source[back_row], put_back, low, span)

    keep = paired_volume > 0
    out_paired = replace(paired, volume=paired_volume).take(keep)
    out_pairings = replace(pairings, clawed=new_clawed)
    report_order = _sorted_by(refund[piece_reach], piece_owner, piece_period)
    clawbacks = {
        "refund": refund[piece_reach],
        "owner": piece_owner,
        "side": piece_side,
        "source_period": reach_source[piece_reach],
        "period": piece_period,
        "volume": piece_volume,
        "paired_volume": same_side,
        "paid": paid,
        "amount": allowed,
        "restored": restored_piece,
    }
    clawbacks = {name: values[report_order] for name, values in clawbacks.items()}
    return RefundOutcome(
        volume,
        restored,
        out_paired,
        out_pairings,
        unmatched.reshape(n, 2),
        refund_paired.reshape(n, 2),
        restored_by_side.reshape(n, 2),
        clawed,
        clawbacks,
    )


def _no_clawbacks() -> dict[str, IntArray]:
    names = ("refund", "owner", "side", "source_period", "period", "volume")
    names += ("paired_volume", "paid", "amount", "restored")
    return {name: _EMPTY for name in names}


def _group_starts(sorted_keys: IntArray) -> IntArray:
    if len(sorted_keys) == 0:
        return _EMPTY
    return np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))


def _sum_rows(
    slot: IntArray, source: IntArray, volume: IntArray, low: int, span: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """(owner, side, source, volume) summed per key, sorted."""
    if len(slot) == 0:
        return _EMPTY, _EMPTY, _EMPTY, _EMPTY
    key = slot * span + (source - low)
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.zeros(len(unique), dtype=np.int64)
    np.add.at(total, inverse, volume)
    unique_slot = unique // span
    return unique_slot // 2, unique_slot % 2, unique % span + low, total


def merge_into_queue(
    queue: tuple[IntArray, IntArray, IntArray, IntArray],
    rows: tuple[IntArray, IntArray, IntArray, IntArray],
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Add ``rows`` (owner, side, period, volume; sorted, unique) to the sorted queue: onto
    an existing entry, or as a new entry in its place."""
    owner, side, period, volume = queue
    r_owner, r_side, r_period, r_volume = rows
    if len(r_owner) == 0:
        return queue
    low, span = _span(period, r_period)
    key = (owner * 2 + side) * span + (period - low)
    r_key = (r_owner * 2 + r_side) * span + (r_period - low)
    at = np.searchsorted(key, r_key)
    found = (at < len(key)) & (
        key[np.minimum(at, max(len(key) - 1, 0))] == r_key if len(key) else False
    )
    volume = volume.copy()
    volume[at[found]] += r_volume[found]
    new = ~found
    return (
        np.insert(owner, at[new], r_owner[new]),
        np.insert(side, at[new], r_side[new]),
        np.insert(period, at[new], r_period[new]),
        np.insert(volume, at[new], r_volume[new]),
    )


def record_pairing(
    paired: Paired,
    pairings: Pairings,
    *,
    current: int,
    new_rows: tuple[IntArray, IntArray, IntArray, IntArray],
    paid: IntArray,
    paired_sides: IntArray,
    keep_periods: int,
) -> tuple[Paired, Pairings]:
    """Add this period's pairing (``new_rows``: owner, side, source, volume consumed with pay;
    ``paid``: cents per person; ``paired_sides``: (n, 2) volume consumed with pay), then keep
    only rows whose source period is less than ``keep_periods`` old and pairings some row
    still refers to."""
    n_owner, n_side, n_source, n_volume = new_rows
    low, span = _span(paired.source, paired.period, pairings.period, n_source, np.array([current]))
    if len(n_owner):
        # The period's rows are the newest pairing of their (owner, side, source): each goes
        # right after its key's older rows, so the rows stay sorted without a sort.
        key3 = (paired.owner * 2 + paired.side) * span + (paired.source - low)
        at = np.searchsorted(key3, (n_owner * 2 + n_side) * span + (n_source - low), side="right")
        paired = Paired(
            np.insert(paired.owner, at, n_owner),
            np.insert(paired.side, at, n_side),
            np.insert(paired.source, at, n_source),
            np.insert(paired.period, at, current),
            np.insert(paired.volume, at, n_volume),
        )
    earners = np.flatnonzero(paired_sides.any(axis=1))
    if len(earners):
        at = np.searchsorted(pairings.owner, earners, side="right")
        pairings = Pairings(
            np.insert(pairings.owner, at, earners),
            np.insert(pairings.period, at, current),
            np.insert(pairings.paid, at, paid[earners]),
            np.insert(pairings.left, at, paired_sides[earners, 0]),
            np.insert(pairings.right, at, paired_sides[earners, 1]),
            np.insert(pairings.clawed, at, 0),
        )
    paired = paired.take((paired.volume > 0) & (current - paired.source < keep_periods))
    used = paired.owner * span + (paired.period - low)
    pairing_key = pairings.owner * span + (pairings.period - low)
    pairings = pairings.take(np.isin(pairing_key, used))
    return paired, pairings
