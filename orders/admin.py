"""Staff tools: the catalog, customers, every order, refunds and buy-back.

Orders and refunds are read-only rows: every change goes through `orders.services` (payment,
shipping, cancellation, refunds), which records who did it, when and why.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import SafeAutocompleteAdmin
from core.paging import LargeTablePaginator
from genealogy.models import Distributor

from .forms import BuyBackForm, CancelForm, ManualPaymentForm, RefundForm
from .models import Customer, Order, OrderLine, Product, Refund, RefundLine
from .payments import PaymentRefused, provider_names
from .services import (
    buy_back_eligible_lines,
    buy_back_on_termination,
    order_cancel,
    order_pay,
    order_refund,
    order_ship,
    refundable_quantities,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = (
        "sku",
        "name",
        "kind",
        "wholesale_price",
        "retail_price",
        "pv",
        "cv",
        "is_active",
    )
    list_filter = ("kind", "is_active")
    search_fields = ("sku", "name")
    list_editable = ("is_active",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Customer)
class CustomerAdmin(SafeAutocompleteAdmin):
    list_display = ("name", "email", "phone", "distributor", "created_at")
    search_fields = ("name", "email", "=distributor__number")
    autocomplete_fields = ("distributor",)  # by number or name, never by internal id
    list_select_related = ("distributor__user",)
    show_full_result_count = False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "sku",
        "name",
        "kind",
        "quantity",
        "unit_price",
        "unit_wholesale",
        "unit_retail",
        "amount",
        "pv",
        "cv",
        "retail_profit",
    )
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "refunded_at",
        "commission_month",
        "reason",
        "amount",
        "pv",
        "cv",
        "rate",
        "created_by",
        "note",
    )
    readonly_fields = fields
    show_change_link = True


def _action_page(request, title: str, form, queryset, action: str) -> HttpResponse:
    return render(
        request,
        "admin/orders/action_form.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "form": form,
            "queryset": queryset,
            "action": action,
            "opts": Order._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


class PaymentProviderFilter(admin.SimpleListFilter):
    """The registered providers (a DISTINCT over every order would scan millions of rows)."""

    title = "payment provider"
    parameter_name = "payment_provider"

    def lookups(self, request, model_admin):
        return [(name, name) for name in provider_names()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(payment_provider=value) if value else queryset


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "placed_at",
        "distributor",
        "purpose",
        "customer",
        "status",
        "total_amount",
        "total_pv",
        "total_cv",
        "paid_at",
        "commission_month",
    )
    # No date_hierarchy: it reads every order's month (DISTINCT) on each page; the paid-at
    # filter covers the same need.
    list_filter = (
        "status",
        "purpose",
        PaymentProviderFilter,
        ("paid_at", admin.DateFieldListFilter),
    )
    search_fields = ("=id", "=external_number", "=distributor__number", "customer__name")
    list_select_related = ("distributor__user", "customer")
    show_full_result_count = False
    paginator = LargeTablePaginator
    inlines = [OrderLineInline, RefundInline]
    actions = ["record_payment", "mark_shipped", "cancel_orders"]
    readonly_fields = [f.name for f in Order._meta.fields] + ["refund_link"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Refund")
    def refund_link(self, obj: Order) -> str:
        if not obj.is_paid:
            return "Only a paid order can be refunded."
        url = reverse("admin:orders_order_refund", args=[obj.pk])
        return format_html('<a class="button" href="{}">Refund this order…</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:pk>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="orders_order_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not request.user.has_perm("orders.add_refund"):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=pk)
        lines = list(order.lines.all())
        left = refundable_quantities(order)
        form = RefundForm(request.POST or None, lines=lines, left=left)
        if request.method == "POST" and form.is_valid():
            try:
                refund = order_refund(
                    order=order,
                    quantities=form.quantities(),
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                self.message_user(
                    request, f"Refund #{refund.pk} of {refund.amount} recorded.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:orders_order_change", args=[pk]))
        return render(
            request,
            "admin/orders/refund_form.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Refund order #{order.pk}",
                "order": order,
                "form": form,
                "opts": Order._meta,
            },
        )

    @admin.action(description="Record payment (manual provider)…", permissions=["change"])
    def record_payment(self, request: HttpRequest, queryset: QuerySet[Order]):
        if queryset.count() != 1:
            self.message_user(
                request,
                "Record one payment at a time (each has its own reference).",
                messages.ERROR,
            )
            return None
        form = ManualPaymentForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            order = queryset.get()
            try:
                order_pay(order=order, provider="manual", by=request.user, **form.cleaned_data)
            except (ValidationError, PaymentRefused) as error:
                self.message_user(request, _text(error), messages.ERROR)
            else:
                self.message_user(request, f"Payment recorded on order #{order.pk}.")
            return None
        return _action_page(request, "Record a payment", form, queryset, "record_payment")

    @admin.action(description="Mark shipped", permissions=["change"])
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet[Order]):
        done = 0
        for order in queryset.order_by("id"):
            try:
                order_ship(order=order, by=request.user)
                done += 1
            except ValidationError as error:
                self.message_user(request, _text(error), messages.WARNING)
        self.message_user(request, f"{done} order(s) marked shipped.")

    @admin.action(description="Cancel unpaid orders…", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]):
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for order in queryset.order_by("id"):
                try:
                    order_cancel(order=order, by=request.user, reason=form.cleaned_data["reason"])
                    done += 1
                except ValidationError as error:
                    self.message_user(request, _text(error), messages.WARNING)
            self.message_user(request, f"{done} order(s) cancelled.")
            return None
        return _action_page(request, "Cancel orders", form, queryset, "cancel_orders")


def _text(error: Exception) -> str:
    return " ".join(getattr(error, "messages", [str(error)]))


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    fields = ("order_line", "quantity", "amount", "pv", "cv", "retail_profit", "refunded_at")
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    """Read-only: a refund is created by the refund service (from an order, or buy-back)."""

    list_display = (
        "id",
        "order",
        "reason",
        "amount",
        "pv",
        "cv",
        "rate",
        "refunded_at",
        "commission_month",
        "created_by",
    )
    list_filter = ("reason", ("refunded_at", admin.DateFieldListFilter))
    search_fields = ("=id", "=order__id", "=order__distributor__number")
    list_select_related = ("order", "created_by")
    inlines = [RefundLineInline]
    readonly_fields = [f.name for f in Refund._meta.fields]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        """Adding a refund starts from an order: ask for its number, then the refund form."""
        order_id = request.GET.get("order") or request.POST.get("order")
        if order_id and str(order_id).isdigit():
            return HttpResponseRedirect(reverse("admin:orders_order_refund", args=[order_id]))
        return render(
            request,
            "admin/orders/refund_pick_order.html",
            {
                **self.admin_site.each_context(request),
                "title": "Refund an order",
                "opts": Refund._meta,
                "buy_back_url": reverse("admin:orders_refund_buy_back"),
            },
        )

    def get_urls(self):
        return [
            path(
                "buy-back/",
                self.admin_site.admin_view(self.buy_back_view),
                name="orders_refund_buy_back",
            ),
            *super().get_urls(),
        ]

    def buy_back_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("orders.add_refund"):
            raise PermissionDenied
        form = BuyBackForm(request.POST or request.GET or None)
        distributor = lines = None
        if form.is_bound and form.is_valid():
            distributor = Distributor.objects.filter(
                number=form.cleaned_data["distributor_number"]
            ).first()
            if distributor is None:
                form.add_error("distributor_number", "No distributor has this number.")
            else:
                lines = list(buy_back_eligible_lines(distributor=distributor))
                if request.method == "POST" and "confirm" in request.POST:
                    quantities = {
                        line.pk: int(request.POST.get(f"line_{line.pk}") or 0) for line in lines
                    }
                    try:
                        refunds = buy_back_on_termination(
                            distributor=distributor,
                            by=request.user,
                            quantities=quantities,
                            note=form.cleaned_data["note"],
                        )
                    except (ValidationError, ValueError) as error:
                        form.add_error(None, _text(error))
                    else:
                        self.message_user(request, f"Buy-back recorded: {len(refunds)} refund(s).")
                        return HttpResponseRedirect(reverse("admin:orders_refund_changelist"))
        return render(
            request,
            "admin/orders/buy_back_form.html",
            {
                **self.admin_site.each_context(request),
                "title": "Buy-back on termination",
                "opts": Refund._meta,
                "form": form,
                "distributor": distributor,
                "lines": lines,
            },
        )
