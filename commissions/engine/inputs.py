"""Engine inputs: one period's data as a structure of numpy arrays.

Distributors are indexed 0..n-1 (the service keeps the index → id mapping). Volumes and money
are int64 cents. Days are int32 days since an epoch of the service's choosing (only
differences and comparisons are used). Order lines are indexed 0..m-1 and identified by
``line_id``.

Arrays are converted to their documented dtype (refusing non-integer data and values that do not
fit) and stored as read-only views, so an ``EngineInputs`` cannot change after validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .tree import compute_depth

STATUS_ACTIVE = 0
STATUS_INACTIVE = 1
STATUS_TERMINATED = 2

# field name -> (dtype, length: "n" distributors or "m" order lines, required)
_ARRAY_FIELDS: dict[str, tuple[type[np.generic], str, bool]] = {
    "parent": (np.int64, "n", True),
    "enroller": (np.int64, "n", True),
    "status": (np.int8, "n", True),
    "pv": (np.int64, "n", True),
    "cv": (np.int64, "n", True),
    "join_day": (np.int32, "n", True),
    "line_id": (np.int64, "m", False),
    "line_buyer": (np.int64, "m", False),
    "line_cv": (np.int64, "m", False),
    "line_paid_day": (np.int32, "m", False),
    "line_retail_profit": (np.int64, "m", False),
    "line_parent_at_order": (np.int64, "m", False),
    "line_units": (np.int64, "m", False),
    "line_order_id": (np.int64, "m", False),
    "prior_highest_rank": (np.int16, "n", False),
    "prior_advancement_paid_rank": (np.int16, "n", False),
    "carried_in": (np.int64, "n", False),
    "on_hold": (np.bool_, "n", False),
    "is_company": (np.bool_, "n", False),
    "depth": (np.int32, "n", False),
    "placement_parent": (np.int64, "n", False),
    "placement_position": (np.int16, "n", False),
    "prior_paid_as_rank": (np.int16, "n", False),
    "grace_months_used": (np.int16, "n", False),
    "rank_override": (np.int16, "n", False),
    "activity_pv": (np.int64, "n", False),
    "given_paid_as_rank": (np.int16, "n", False),
}


@dataclass(frozen=True)
class EngineInputs:
    """One period's inputs.

    Distributors (length n):
    ``parent`` sponsor index in the tree at period close, -1 for a root (parents form a forest);
    ``enroller`` personal enroller index, -1 none; ``status`` 0 active, 1 inactive, 2 terminated;
    ``pv``, ``cv`` cents net of refunds (negative values count as 0); ``join_day``.

    Order lines (length m, all optional; default none): ``line_id`` (unique), ``line_buyer``
    (the distributor who bought or sold), ``line_cv``, ``line_paid_day`` (not after the period;
    before it for a line paid late for an already closed period, which counts in the first open
    one), ``line_retail_profit`` (cents of profit the seller earns, 0 for personal use),
    ``line_parent_at_order`` (sponsor of the buyer when the order was placed; only used with
    ``options.upline == "order_time"``; defaults to ``parent[line_buyer]``), ``line_units`` (the
    line's quantity, ≥ 0; default 0, only the ``order_award`` component's ``per: unit`` reads
    it), ``line_order_id`` (the order the line belongs to; default: each line its own order).

    Prior state (length n, default zeros / False): ``prior_highest_rank``,
    ``prior_advancement_paid_rank``, ``carried_in`` (may be negative), ``on_hold``.
    ``is_company`` (length n, default False): the company's own root (the house account); it
    never earns, its lines are breakage (``settle.py``).

    Placement tree (binary and matrix plans; length n, optional): ``placement_parent`` the
    placement parent index as of the period's close, -1 for the root and for people not
    placed; ``placement_position`` the position under it (binary: 0 left, 1 right; matrix:
    0..width-1; -1 none). ``component_inputs`` maps a plan component's key to the state the
    previous period handed on (``EngineResult.component_state``), in that component's format.

    Rank grace and staff overrides (length n, default zeros; see ``rank_grace.py``):
    ``prior_paid_as_rank`` last period's paid-as rank, ``grace_months_used`` the months in a
    row it has been kept so far (last period's ``EngineResult.grace_months_used``),
    ``rank_override`` a rank staff set for this period (0 none).

    Weekly runs (``schedules.py``; length n, optional): ``activity_pv`` the own PV activity is
    measured on (the schedule's activity window) instead of ``pv``; ``given_paid_as_rank`` the
    paid-as rank of the latest monthly run, taken as it is (no rank is computed).

    ``period_start_day`` and ``period_end_day`` are inclusive. ``depth`` (optional) is each
    distributor's depth in the forest (roots 0); it is checked, and computed when absent.
    """

    parent: npt.NDArray[np.int64]
    enroller: npt.NDArray[np.int64]
    status: npt.NDArray[np.int8]
    pv: npt.NDArray[np.int64]
    cv: npt.NDArray[np.int64]
    join_day: npt.NDArray[np.int32]
    period_start_day: int
    period_end_day: int
    line_id: npt.NDArray[np.int64] | None = None
    line_buyer: npt.NDArray[np.int64] | None = None
    line_cv: npt.NDArray[np.int64] | None = None
    line_paid_day: npt.NDArray[np.int32] | None = None
    line_retail_profit: npt.NDArray[np.int64] | None = None
    line_parent_at_order: npt.NDArray[np.int64] | None = None
    line_units: npt.NDArray[np.int64] | None = None
    line_order_id: npt.NDArray[np.int64] | None = None
    prior_highest_rank: npt.NDArray[np.int16] | None = None
    prior_advancement_paid_rank: npt.NDArray[np.int16] | None = None
    carried_in: npt.NDArray[np.int64] | None = None
    on_hold: npt.NDArray[np.bool_] | None = None
    is_company: npt.NDArray[np.bool_] | None = None
    depth: npt.NDArray[np.int32] | None = None
    placement_parent: npt.NDArray[np.int64] | None = None
    placement_position: npt.NDArray[np.int16] | None = None
    prior_paid_as_rank: npt.NDArray[np.int16] | None = None
    grace_months_used: npt.NDArray[np.int16] | None = None
    rank_override: npt.NDArray[np.int16] | None = None
    activity_pv: npt.NDArray[np.int64] | None = None
    given_paid_as_rank: npt.NDArray[np.int16] | None = None
    component_inputs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(np.asarray(self.parent))
        line_arrays = [
            name
            for name, (_, size, _) in _ARRAY_FIELDS.items()
            if size == "m" and getattr(self, name) is not None
        ]
        m = len(np.asarray(getattr(self, line_arrays[0]))) if line_arrays else 0
        for name, (dtype, size, required) in _ARRAY_FIELDS.items():
            value = getattr(self, name)
            length = n if size == "n" else m
            if value is None:
                if required:
                    raise ValueError(f"{name} is required")
                if name in (
                    "line_parent_at_order",
                    "depth",
                    "placement_parent",
                    "line_order_id",
                    "activity_pv",
                    "given_paid_as_rank",
                ):
                    continue  # derived below / computed by the engine / no placement tree
                if name == "placement_position":
                    if self.placement_parent is None:
                        continue
                    value = np.full(length, -1, dtype=dtype)
                value = np.zeros(length, dtype=dtype)
            object.__setattr__(self, name, _as_readonly(value, dtype, name, length))
        if self.line_order_id is None:
            object.__setattr__(self, "line_order_id", self.line_id)  # each line its own order
        if self.line_parent_at_order is None:
            object.__setattr__(
                self,
                "line_parent_at_order",
                _as_readonly(
                    self.parent[self.line_buyer] if m else np.zeros(0, dtype=np.int64),
                    np.int64,
                    "line_parent_at_order",
                    m,
                ),
            )
        for name in ("period_start_day", "period_end_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"{name} must be an integer day number")
            object.__setattr__(self, name, int(value))
        self._check_values()

    @property
    def n(self) -> int:
        """Number of distributors."""
        return len(self.parent)

    @property
    def m(self) -> int:
        """Number of order lines."""
        return len(self.line_id)  # type: ignore[arg-type]

    def _check_values(self) -> None:
        n = self.n
        index = np.arange(n)
        _check_range(self.parent, -1, n - 1, "parent")
        if np.any(self.parent == index):
            raise ValueError("parent: a distributor cannot be their own sponsor")
        _check_links(
            self.enroller, "enroller", "their own enroller", "enrollers must not form a cycle"
        )
        _check_range(self.status, 0, 2, "status")
        _check_range(self.prior_highest_rank, 0, None, "prior_highest_rank")
        _check_range(self.prior_advancement_paid_rank, 0, None, "prior_advancement_paid_rank")
        _check_range(self.prior_paid_as_rank, 0, None, "prior_paid_as_rank")
        _check_range(self.grace_months_used, 0, None, "grace_months_used")
        _check_range(self.rank_override, 0, None, "rank_override")
        if self.given_paid_as_rank is not None:
            _check_range(self.given_paid_as_rank, 0, None, "given_paid_as_rank")
        if self.period_end_day < self.period_start_day:
            raise ValueError("period_end_day is before period_start_day")
        if self.m:
            _check_range(self.line_buyer, 0, n - 1, "line_buyer")
            _check_range(self.line_parent_at_order, -1, n - 1, "line_parent_at_order")
            if np.any(self.line_parent_at_order == self.line_buyer):
                raise ValueError("line_parent_at_order: a buyer cannot be their own sponsor")
            _check_range(self.line_units, 0, None, "line_units")
            if self.line_paid_day.max() > self.period_end_day:
                raise ValueError(
                    "line_paid_day must not be after period_end_day (order lines count in the "
                    "period they were paid in, or a later one)"
                )
            ordered = np.sort(self.line_id)  # (np.unique's hashing is far slower here)
            if np.any(ordered[1:] == ordered[:-1]):
                raise ValueError("line_id: order line ids must be unique")
        if self.placement_parent is not None:
            _check_links(
                self.placement_parent,
                "placement_parent",
                "their own parent",
                "the placement tree has a loop",
            )
            _check_range(self.placement_position, -1, None, "placement_position")
            placed_below = self.placement_parent >= 0
            if np.any(self.placement_position[placed_below] < 0):
                raise ValueError("placement_position: everyone with a placement parent has one")
        elif self.placement_position is not None:
            raise ValueError("placement_position needs placement_parent")
        if self.depth is not None:
            has_parent = self.parent >= 0
            expected = np.where(has_parent, self.depth[np.maximum(self.parent, 0)] + 1, 0)
            if not np.array_equal(expected, self.depth):
                raise ValueError("depth does not match parent (roots 0, child = parent + 1)")


def _as_readonly(
    value: npt.ArrayLike, dtype: type[np.generic], name: str, length: int
) -> npt.NDArray[np.generic]:
    array = np.asarray(value)
    if array.ndim != 1 or len(array) != length:
        raise ValueError(f"{name} must be a 1-D array of length {length}, got shape {array.shape}")
    if length == 0:
        array = array.astype(dtype)  # e.g. np.array([]) is float64; an empty array is fine
    elif dtype is np.bool_:
        if array.dtype != np.bool_:
            raise TypeError(f"{name} must be a boolean array, got {array.dtype}")
    elif array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got {array.dtype}")
    elif array.dtype != dtype:
        info = np.iinfo(dtype)
        if array.min() < info.min or array.max() > info.max:
            raise ValueError(f"{name} has values that do not fit {np.dtype(dtype).name}")
    view = array.astype(dtype, copy=False).view()
    view.setflags(write=False)
    return view


def _check_links(links: npt.NDArray[np.int64], name: str, own: str, loop: str) -> None:
    """Links between distributors: each -1 or another index, and no cycle."""
    n = len(links)
    _check_range(links, -1, n - 1, name)
    if np.any(links == np.arange(n)):
        raise ValueError(f"{name}: a distributor cannot be {own}")
    try:
        compute_depth(links)
    except ValueError:
        raise ValueError(f"{name}: {loop}") from None


def _check_range(array: npt.NDArray[np.integer], low: int, high: int | None, name: str) -> None:
    if len(array) == 0:
        return
    if array.min() < low or (high is not None and array.max() > high):
        bound = f"{low}..{high}" if high is not None else f"≥ {low}"
        raise ValueError(f"{name} must be in {bound}")
