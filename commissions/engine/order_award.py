"""Order award: a fixed amount per order (or per unit) instead of a percent (plan key and kind
``order_award``).

Plan section::

    order_award:
      amount: "5.00"          # or generations: ["5.00", "2.00"] (one amount per generation)
      per: order              # order | unit
      minimum_order_cv: "50"  # the order's CV must be at least this (default 0)
      to: enroller            # enroller | sponsor

Rule, for every order of the period (its lines share ``EngineInputs.line_order_id``; without
it each order line is an order) whose CV (the sum of its lines' CV, net of same-period
refunds) is at least ``minimum_order_cv`` and above 0:

* ``per: order``: one award of ``amount`` (generation g: the g-th amount) per order. The line
  names the order's first line (smallest line id) as ``source_line``, base = amount in cents,
  rate = 100 % (``money.RATE_ONE``).
* ``per: unit``: one line per order line of the order with CV > 0, base = amount in cents ×
  the line's units (``EngineInputs.line_units``), rate = 100 %. Lines of 0 units pay nothing.

The award goes up the buyer's enroller chain (``to: enroller``) or sponsor chain at the
period's close (``to: sponsor``): generation 1 is the buyer's enroller (sponsor), generation
2 theirs, and so on; ``amount`` alone is one generation. A generation's earner must be active
this period, otherwise (or when the chain ends) that award is breakage; there is no
compression. Lines carry level = generation, source = the buyer, and are sorted by earner,
level, source, source line. The award is not a share of CV, so the payout bound is
``Σ amounts / minimum_order_cv`` for ``per: order`` with a minimum, and none otherwise (the
payout cap bounds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from . import words
from .bonuses import Items, KindLines, _lines_by_level, empty_lines
from .components import ComponentContext, ComponentOutput, ComponentSpec, register
from .money import RATE_ONE

IntArray = npt.NDArray[np.int64]

PER = ("order", "unit")
TO = ("enroller", "sponsor")
MAX_GENERATIONS = 20
_KEYS = ("amount", "generations", "per", "minimum_order_cv", "to")


@dataclass(frozen=True)
class OrderAwardOptions:
    amounts: tuple[int, ...]  # cents per generation (generation 1 first)
    per: str
    minimum_order_cv: int
    to: str


def parse(reader: Any, value: Any, path: str) -> OrderAwardOptions:
    fields = reader.mapping(value, path, _KEYS, required=("per", "to"))
    amounts: tuple[int, ...] = ()
    if ("amount" in fields) == ("generations" in fields):
        reader.fail(
            f"{path}.amount",
            "give amount (one generation) or generations (an amount per generation), not both"
            if "amount" in fields
            else "is required (or generations: a list of amounts, one per generation)",
        )
    elif "amount" in fields:
        cents = reader.cents(fields["amount"], f"{path}.amount")
        if cents == 0:
            reader.fail(f"{path}.amount", "must be greater than 0")
        amounts = (cents or 0,)
    else:
        listed = fields["generations"]
        if not isinstance(listed, list | tuple) or not listed:
            reader.fail(f"{path}.generations", "must be a non-empty list of amounts")
        elif len(listed) > MAX_GENERATIONS:
            reader.fail(f"{path}.generations", f"at most {MAX_GENERATIONS} generations")
        else:
            amounts = tuple(
                reader.cents(item, f"{path}.generations[{i}]") or 0 for i, item in enumerate(listed)
            )
            if not any(amounts):
                reader.fail(f"{path}.generations", "must pay something in one generation")
    per = reader.choice(fields.get("per", "order"), f"{path}.per", PER) or "order"
    to = reader.choice(fields.get("to", "enroller"), f"{path}.to", TO) or "enroller"
    minimum = reader.cents(fields.get("minimum_order_cv", 0), f"{path}.minimum_order_cv") or 0
    return OrderAwardOptions(amounts=amounts, per=per, minimum_order_cv=minimum, to=to)


def _items(options: OrderAwardOptions, context: ComponentContext) -> Items:
    """What pays an award, in result order (buyer, line id): one item per qualifying order
    (``per: order``, base = 1 award) or per unit-bearing line of one (``per: unit``, base =
    units)."""
    inputs = context.inputs
    order = context.line_order  # by (buyer, line id)
    if inputs.m == 0:
        none = np.zeros(0, dtype=np.int64)
        return Items(none, none, none)
    order_ids = inputs.line_order_id
    # Order CV: the sum of its lines' CV, whatever order its lines come in.
    unique_orders, order_of_line = np.unique(order_ids, return_inverse=True)
    order_cv = np.zeros(len(unique_orders), dtype=np.int64)
    np.add.at(order_cv, order_of_line, inputs.line_cv)
    qualifies = (order_cv > 0) & (order_cv >= options.minimum_order_cv)
    line_ok = qualifies[order_of_line][order] & (inputs.line_cv[order] > 0)
    chosen = order[line_ok]
    if options.per == "unit":
        chosen = chosen[inputs.line_units[chosen] > 0]
        return Items(inputs.line_buyer[chosen], inputs.line_id[chosen], inputs.line_units[chosen])
    # One item per order: its first line (smallest id) among its lines with CV.
    first = np.full(len(unique_orders), -1, dtype=np.int64)
    ids = inputs.line_id[chosen]
    groups = order_of_line[chosen]
    by_id = np.argsort(ids, kind="stable")[::-1]  # largest first, so the smallest id wins
    first[groups[by_id]] = chosen[by_id]
    keep = np.zeros(inputs.m, dtype=bool)
    keep[first[first >= 0]] = True
    chosen = chosen[keep[chosen]]  # still in (buyer, line id) order
    return Items(
        inputs.line_buyer[chosen], inputs.line_id[chosen], np.ones(len(chosen), dtype=np.int64)
    )


def compute(options: OrderAwardOptions, context: ComponentContext) -> ComponentOutput:
    inputs = context.inputs
    n = inputs.n
    items = _items(options, context)
    if len(items) == 0 or not any(options.amounts):
        return ComponentOutput(lines={"order_award": empty_lines()})
    chain = inputs.enroller if options.to == "enroller" else inputs.parent
    up_or_none = np.append(np.where(chain >= 0, chain, n), n)
    active = np.append(context.is_active, False)
    earners = []
    upline = up_or_none[items.source]
    for _ in options.amounts:
        earners.append(np.where(active[upline], upline, n))
        upline = up_or_none[upline]
    # _lines_by_level multiplies base by a rate: with base = units (or 1 award) and the
    # generation's amount in cents as the "rate", its unpaid figure is in cents; the lines are
    # then written as base = cents × units at a rate of 100 % (module docstring).
    lines = _lines_by_level(earners, list(options.amounts), items, n)
    amount_table = np.array([0, *options.amounts], dtype=np.int64)
    base = lines.base * amount_table[lines.level]
    return ComponentOutput(
        lines={
            "order_award": KindLines(
                lines.earner,
                lines.level,
                lines.source,
                lines.source_line,
                base,
                np.full(len(base), RATE_ONE, dtype=np.int32),
                lines.unpaid_raw * RATE_ONE,
            )
        }
    )


def max_payout_percent(options: OrderAwardOptions) -> Decimal | None:
    if options.per != "order" or options.minimum_order_cv == 0:
        return None
    return Decimal(sum(options.amounts)) * 100 / Decimal(options.minimum_order_cv)


def explain(line: Any, options: OrderAwardOptions) -> str:
    """The statement's words for one award line (an engine line or a stored ledger line)."""
    line_id = getattr(line, "source_line_id", None)
    if line_id is None:
        line_id = getattr(line, "source_line", -1)
    level = int(line.level)
    each = options.amounts[level - 1] if 0 < level <= len(options.amounts) else 0
    total = words.money(int(line.base))
    who = "enrollee" if options.to == "enroller" else "sponsored distributor"
    least = options.minimum_order_cv
    minimum = f" of at least {words.money(least)} CV" if least else ""
    if options.per == "unit" and each:
        what = f"{int(line.base) // each} units × {words.money(each)} = {total}"
    else:
        what = f"{total} for an order"
    return (
        f"order award: {what}{minimum} (order line {int(line_id)}), "
        f"generation {level} of your {who}s"
    )


register(
    ComponentSpec(
        key="order_award",
        kinds=("order_award",),
        parse=parse,
        compute=compute,
        max_payout_percent=max_payout_percent,
        explain=explain,
    )
)
