"""Payment providers: a small interface and a registry.

A provider collects the money for an order and answers with a `Payment` (method, reference) or
raises `PaymentRefused`. `orders.services.pay_order` calls it inside the order's row lock and
records the answer on the order. Providers shipped here:

* `manual`: staff record a payment received outside Ladder (bank transfer, cash, card terminal)
  with its method and reference, from the admin or `import_orders`;
* `test`: pays at once with a generated reference (the demo, development and tests).

A real gateway registers itself with `register(MyGateway())` from its app's `ready()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import Order


class PaymentRefused(Exception):
    """The provider did not take the money; the message is safe to show."""


@dataclass(frozen=True)
class Payment:
    method: str
    reference: str


class PaymentProvider(Protocol):
    name: str
    label: str

    def collect(self, order: Order, *, method: str = "", reference: str = "") -> Payment: ...


class ManualProvider:
    name = "manual"
    label = "Recorded by staff"

    def collect(self, order: Order, *, method: str = "", reference: str = "") -> Payment:
        if not method.strip() or not reference.strip():
            raise PaymentRefused("A manual payment needs its method and its reference.")
        return Payment(method=method.strip(), reference=reference.strip())


class TestProvider:
    """Pays every order at once. Never enable it in production."""

    name = "test"
    label = "Test payment (demo)"

    def collect(self, order: Order, *, method: str = "", reference: str = "") -> Payment:
        return Payment(method=method or "test card", reference=reference or f"TEST-{order.pk}")


_registry: dict[str, PaymentProvider] = {}


def register(provider: PaymentProvider) -> PaymentProvider:
    _registry[provider.name] = provider
    return provider


def get_provider(name: str) -> PaymentProvider:
    try:
        return _registry[name]
    except KeyError:
        raise PaymentRefused(f"No payment provider named {name!r}.") from None


def provider_names() -> list[str]:
    return sorted(_registry)


register(ManualProvider())
register(TestProvider())
