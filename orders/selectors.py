"""Every read of orders and customers a page needs, starting from the one access rule.

A distributor sees their own customers and orders only (not their downline's); staff with
staff powers (``accounts.access.has_staff_powers``: a session that passed MFA) see all.
Ids the user may not see are answered with 404, never 403: existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.access import has_staff_powers
from core.periods import Period
from genealogy.selectors import distributor_for_user

from .models import Customer, Order, Product


def _own(user, queryset: QuerySet) -> QuerySet:
    if has_staff_powers(user):
        return queryset
    distributor = distributor_for_user(user)
    if distributor is None:
        return queryset.none()
    return queryset.filter(distributor_id=distributor.pk)


def visible_customers(user) -> QuerySet[Customer]:
    return _own(user, Customer.objects.all())


def visible_orders(user) -> QuerySet[Order]:
    return _own(user, Order.objects.all())


def get_visible_customer(user, pk: int) -> Customer:
    customer = visible_customers(user).filter(pk=pk).first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def get_visible_order(user, pk: int) -> Order:
    order = (
        visible_orders(user).select_related("customer", "distributor__user").filter(pk=pk).first()
    )
    if order is None:
        raise Http404("No such order.")
    return order


def own_customers(distributor_id: int) -> QuerySet[Customer]:
    """The customers an order can be placed for: the ordering distributor's own."""
    return Customer.objects.filter(distributor_id=distributor_id).order_by("name", "id")


def search_customers(queryset: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    query = (query or "").strip()
    if not query:
        return queryset
    return queryset.filter(
        Q(name__icontains=query) | Q(email__icontains=query) | Q(phone__icontains=query)
    )


def orderable_products(query: str = "", *, limit: int = 50) -> list[Product]:
    products = Product.objects.filter(is_active=True).order_by("kind", "name")
    query = (query or "").strip()
    if query:
        products = products.filter(Q(name__icontains=query) | Q(sku__icontains=query))
    return list(products[:limit])


@dataclass(frozen=True)
class OrderFilters:
    period: Period | None = None
    status: str = ""
    customer_id: int | None = None
    query: str = ""


def order_history(user, filters: OrderFilters) -> QuerySet[Order]:
    orders = visible_orders(user).select_related("customer", "distributor__user")
    if filters.period is not None:
        # An order belongs to the period it was paid in, or placed in when it is unpaid.
        start, end = filters.period.start, filters.period.end
        orders = orders.filter(
            Q(paid_at__gte=start, paid_at__lt=end)
            | Q(paid_at__isnull=True, placed_at__gte=start, placed_at__lt=end)
        )
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.customer_id is not None:
        orders = orders.filter(customer_id=filters.customer_id)
    query = filters.query.strip().lstrip("#")
    if query:
        match = Q(customer__name__icontains=query) | Q(external_number__iexact=query)
        if query.isdigit():
            match |= Q(pk=int(query))
        orders = orders.filter(match)
    return orders.order_by("-placed_at", "-id")
