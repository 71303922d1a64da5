"""Distributor pages for orders and retail customers: thin, everything through the selectors."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import has_staff_powers
from core.csv import stream_csv
from genealogy.models import Distributor
from genealogy.selectors import distributor_for_user

from .forms import (
    BUYER_CUSTOMER,
    BUYER_NEW_CUSTOMER,
    QUANTITY_PREFIX,
    CustomerForm,
    OrderBuyerForm,
    OrderFilterForm,
    parse_cart,
)
from .hooks import pending_before_retail_sale
from .models import Customer, OrderPurpose
from .payments import PaymentRefused, get_provider
from .selectors import (
    OrderFilters,
    get_visible_customer,
    get_visible_order,
    order_history,
    orderable_products,
    own_customers,
    search_customers,
    visible_customers,
)
from .services import (
    customer_create,
    customer_update,
    max_quantity_per_line,
    order_cancel,
    order_pay,
    order_place,
    quote_order,
)

PAGE_SIZE = 25


def online_payment_provider() -> str:
    """The provider behind the distributor's "Pay now" button; empty hides the button."""
    return settings.LADDER_ONLINE_PAYMENT_PROVIDER


def _distributor_or_none(request: HttpRequest) -> Distributor | None:
    return distributor_for_user(request.user)


def _not_a_distributor(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/not_a_distributor.html", status=403)


# --- Order history ------------------------------------------------------------------------------


def _history_filters(request: HttpRequest) -> tuple[OrderFilterForm, OrderFilters]:
    customers = visible_customers(request.user).order_by("name")[:500]
    form = OrderFilterForm(request.GET or None, customers=customers)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = OrderFilters(
            period=data["period"],
            status=data["status"],
            customer_id=data["customer"],
            query=data["q"],
        )
    else:
        filters = OrderFilters()
    return form, filters


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    form, filters = _history_filters(request)
    orders = order_history(request.user, filters)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "orders/order_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any([filters.period, filters.status, filters.customer_id, filters.query]),
            "query_string": query.urlencode(),
            "distributor": _distributor_or_none(request),
        },
    )


@login_required
@require_GET
def order_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _history_filters(request)
    orders = order_history(request.user, filters)
    header = [
        "order",
        "placed_at",
        "paid_at",
        "status",
        "purpose",
        "customer",
        "currency",
        "total",
        "pv",
        "cv",
        "retail_profit",
    ]

    def rows():
        yield header
        for order in orders.iterator(chunk_size=2000):
            yield [
                order.pk,
                order.placed_at.isoformat(),
                order.paid_at.isoformat() if order.paid_at else "",
                order.status,
                order.purpose,
                order.customer.name if order.customer_id else "",
                order.currency,
                order.total_amount,
                order.total_pv,
                order.total_cv,
                order.retail_profit,
            ]

    response = StreamingHttpResponse(stream_csv(rows()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_visible_order(request.user, pk)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "refunds": order.refunds.prefetch_related("lines__order_line"),
            "can_pay": bool(online_payment_provider()) and order.can_be_cancelled,
        },
    )


@login_required
@require_GET
def order_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_visible_order(request.user, pk)
    return render(
        request,
        "orders/receipt.html",
        {"order": order, "lines": order.lines.all(), "refunds": order.refunds.all()},
    )


@login_required
@require_POST
def order_pay_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_visible_order(request.user, pk)
    provider = online_payment_provider()
    if not provider:
        raise Http404("Online payment is not available.")
    try:
        order_pay(order=order, provider=provider, by=request.user)
    except (ValidationError, PaymentRefused) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(
            request, f"Order #{order.pk} is paid ({get_provider(provider).label}). Thank you!"
        )
    return redirect("order_detail", pk=order.pk)


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = get_visible_order(request.user, pk)
    try:
        order_cancel(order=order, by=request.user, reason="Cancelled by the distributor.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Order #{order.pk} is cancelled.")
    return redirect("order_detail", pk=order.pk)


# --- Order entry --------------------------------------------------------------------------------


def _entry_context(request: HttpRequest, distributor: Distributor, data) -> dict:
    cart = parse_cart(data)
    buyer_form = OrderBuyerForm(data if data else None)
    purpose = buyer_form.purpose if data else OrderPurpose.PERSONAL
    quote = quote_order(items=cart.items, purpose=purpose)
    query = data.get("q", "") if data else ""
    products = orderable_products(query)
    shown = {p.pk for p in products}
    chosen = [line.product for line in quote.lines if line.product.pk not in shown]
    return {
        "distributor": distributor,
        "cart": cart,
        "quote": quote,
        "errors": cart.errors + quote.errors,
        "buyer_form": buyer_form,
        "customers": own_customers(distributor.pk)[:500],
        "products": chosen + products,
        "quantities": cart.items,
        "query": query,
        "max_quantity": max_quantity_per_line(),
        "quantity_prefix": QUANTITY_PREFIX,
        "is_terminated": distributor.status == "terminated",
    }


@login_required
def order_new(request: HttpRequest) -> HttpResponse:
    distributor = _distributor_or_none(request)
    if distributor is None:
        return _not_a_distributor(request)
    # Training a first retail sale needs is shown from the start, not after the review.
    training = pending_before_retail_sale(distributor)
    if request.method != "POST":
        context = _entry_context(request, distributor, {})
        context["retail_training"] = training
        return render(request, "orders/order_new.html", context)
    context = _entry_context(request, distributor, request.POST)
    context["retail_training"] = training
    buyer_form: OrderBuyerForm = context["buyer_form"]
    step = request.POST.get("step", "review")
    if step == "edit":
        return render(request, "orders/order_new.html", context)
    if training and buyer_form.purpose == OrderPurpose.RETAIL:
        context["errors"].append(
            "Finish the required compliance training (listed above) before your first sale "
            "to a retail customer; an order for yourself needs none."
        )
    ready = buyer_form.is_valid() and not context["errors"] and context["quote"].lines
    if not context["quote"].lines and not context["errors"]:
        context["errors"].append("Add at least one product to the order.")
    customer = None
    if buyer_form.is_valid() and buyer_form.cleaned_data["buyer"] == BUYER_CUSTOMER:
        customer = own_customers(distributor.pk).filter(pk=buyer_form.cleaned_data["customer"])
        customer = customer.first()
        if customer is None:
            raise Http404("No such customer.")
    context["customer"] = customer
    if not ready:
        return render(request, "orders/order_new.html", context, status=422)
    if step != "place":
        return render(request, "orders/order_review.html", context)
    data = buyer_form.cleaned_data
    try:
        with transaction.atomic():
            if data["buyer"] == BUYER_NEW_CUSTOMER:
                customer = customer_create(
                    distributor=distributor,
                    name=data["new_name"],
                    email=data["new_email"],
                    phone=data["new_phone"],
                )
            order = order_place(
                distributor=distributor,
                items=context["cart"].items,
                purpose=buyer_form.purpose,
                customer=customer,
                by=request.user,
            )
    except ValidationError as error:
        context["errors"] = error.messages
        return render(request, "orders/order_new.html", context, status=422)
    messages.success(request, f"Order #{order.pk} is placed.")
    return redirect("order_detail", pk=order.pk)


@login_required
@require_POST
def order_totals(request: HttpRequest) -> HttpResponse:
    """htmx: the running totals (money, PV, CV) of what is typed on the order page."""
    distributor = _distributor_or_none(request)
    if distributor is None:
        return _not_a_distributor(request)
    context = _entry_context(request, distributor, request.POST)
    return render(request, "orders/partials/totals.html", context)


@login_required
@require_GET
def order_products(request: HttpRequest) -> HttpResponse:
    """htmx: product rows matching the search, keeping the products already chosen."""
    distributor = _distributor_or_none(request)
    if distributor is None:
        return _not_a_distributor(request)
    context = _entry_context(request, distributor, request.GET)
    return render(request, "orders/partials/product_rows.html", context)


# --- Customers ----------------------------------------------------------------------------------


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    customers = search_customers(visible_customers(request.user), query).order_by("name", "id")
    if has_staff_powers(request.user):
        customers = customers.select_related("distributor__user")
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "orders/customer_list.html",
        {
            "page": page,
            "query": query,
            "query_string": urlencode({"q": query}) if query else "",
            "distributor": _distributor_or_none(request),
        },
    )


@login_required
def customer_new(request: HttpRequest) -> HttpResponse:
    distributor = _distributor_or_none(request)
    if distributor is None:
        return _not_a_distributor(request)
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_create(distributor=distributor, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{customer.name} is added to your customers.")
            return redirect("customers_home")
    return render(request, "orders/customer_form.html", {"form": form, "customer": None})


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_visible_customer(request.user, pk)
    form = CustomerForm(
        request.POST or None, instance=Customer(pk=customer.pk, **_fields(customer))
    )
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_update(customer=customer, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"{customer.name} is saved.")
            return redirect("customers_home")
    return render(request, "orders/customer_form.html", {"form": form, "customer": customer})


def _fields(customer: Customer) -> dict:
    return {
        "distributor_id": customer.distributor_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "address": customer.address,
    }


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
