"""Sale gates: what a higher app asks of a distributor before their first retail sale.

``orders`` sits below ``training`` (and every app built on it), so it never imports them; an
app that must hold back a retail sale registers a gate here from its ``AppConfig.ready`` (the
training app registers "the required compliance training is finished"). A gate returns what
the distributor still has to do, as items with an ``id`` and a ``title`` (the order form lists
them with a link to ``training_item``), and an empty list when they may sell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from genealogy.models import Distributor


class PendingItem(Protocol):
    id: int
    title: str


Pending = Callable[["Distributor"], Sequence[PendingItem]]
Refusal = Callable[[Sequence[PendingItem]], str]


@dataclass(frozen=True)
class SaleGate:
    pending: Pending  # what the distributor still has to do (empty: they may sell)
    refusal: Refusal  # the error ``order_place`` raises, from what is still pending


_sale_gates: dict[str, SaleGate] = {}


def register_sale_gate(name: str, *, pending: Pending, refusal: Refusal) -> None:
    """Hold back a first retail sale until ``pending(distributor)`` returns nothing; the
    refusal says why. Registering the same name again replaces the gate (``ready()`` may run
    twice)."""
    _sale_gates[name] = SaleGate(pending=pending, refusal=refusal)


def pending_before_retail_sale(distributor: Distributor) -> list[PendingItem]:
    """Everything every registered gate still asks of ``distributor`` before a retail sale."""
    pending: list[PendingItem] = []
    for gate in _sale_gates.values():
        pending.extend(gate.pending(distributor))
    return pending


def ensure_may_sell_to_customers(distributor: Distributor) -> None:
    """Refuse a retail sale while a gate still asks for something (a ValidationError, like the
    other checks of ``order_place``), with every gate's reason."""
    reasons = []
    for gate in _sale_gates.values():
        pending = gate.pending(distributor)
        if pending:
            reasons.append(gate.refusal(pending))
    if reasons:
        raise ValidationError(reasons)
