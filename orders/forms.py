from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.utils import timezone

from accounts.validators import NameField, PhoneField, validate_email_length
from core.periods import Period

from .models import Customer, OrderStatus, RefundReason

BUYER_SELF = "self"
BUYER_CUSTOMER = "customer"
BUYER_NEW_CUSTOMER = "new"
QUANTITY_PREFIX = "qty_"


class CustomerForm(forms.ModelForm):
    phone = PhoneField(label="Phone (optional)", required=False)

    class Meta:
        model = Customer
        fields = ["name", "email", "phone", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}
        labels = {"email": "Email (optional)", "phone": "Phone (optional)"}


class OrderBuyerForm(forms.Form):
    """Who the order is for: the distributor, one of their customers, or a new customer."""

    buyer = forms.ChoiceField(
        choices=[
            (BUYER_SELF, "Myself (personal use, wholesale price)"),
            (BUYER_CUSTOMER, "One of my customers (retail sale)"),
            (BUYER_NEW_CUSTOMER, "A new customer"),
        ],
        initial=BUYER_SELF,
        widget=forms.RadioSelect,
    )
    customer = forms.IntegerField(required=False)
    new_name = NameField(label="Customer name", max_length=150, required=False)
    new_email = forms.EmailField(
        label="Email (optional)", required=False, validators=[validate_email_length]
    )
    new_phone = PhoneField(label="Phone (optional)", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        buyer = cleaned.get("buyer")
        if buyer == BUYER_CUSTOMER and not cleaned.get("customer"):
            self.add_error("customer", "Choose the customer.")
        if buyer == BUYER_NEW_CUSTOMER and not (cleaned.get("new_name") or "").strip():
            self.add_error("new_name", "Enter the new customer's name.")
        return cleaned

    @property
    def purpose(self) -> str:
        from .models import OrderPurpose

        buyer = self.data.get("buyer") or BUYER_SELF
        return OrderPurpose.PERSONAL if buyer == BUYER_SELF else OrderPurpose.RETAIL


@dataclass
class Cart:
    """Quantities typed on the order page: product id → quantity (blank and 0 mean none)."""

    items: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def parse_cart(data) -> Cart:
    cart = Cart()
    for key in data:
        if not key.startswith(QUANTITY_PREFIX):
            continue
        raw = (data.get(key) or "").strip()
        try:
            product_id = int(key[len(QUANTITY_PREFIX) :])
        except ValueError:
            continue
        if raw in ("", "0"):
            continue
        try:
            cart.items[product_id] = int(raw)
        except ValueError:
            cart.errors.append(f"“{raw[:20]}” is not a whole number of items.")
    return cart


def recent_periods(count: int = 24) -> list[Period]:
    period = Period.current(timezone.now())
    periods = []
    for _ in range(count):
        periods.append(period)
        period = period.previous()
    return periods


class OrderFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    period = forms.ChoiceField(label="Period", required=False)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *OrderStatus.choices]
    )
    customer = forms.TypedChoiceField(
        label="Customer", required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args, customers=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [("", "Any period")] + [
            (str(p), p.label) for p in recent_periods()
        ]
        self.fields["customer"].choices = [("", "Anyone")] + [
            (str(c.pk), c.name) for c in customers
        ]

    def clean_period(self) -> Period | None:
        value = self.cleaned_data.get("period")
        return Period.parse(value) if value else None


class RefundForm(forms.Form):
    """Staff refund of a paid order: a quantity per line, a reason and a note."""

    reason = forms.ChoiceField(choices=RefundReason.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=True)

    def __init__(self, *args, lines=(), left=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        left = left or {}
        self.line_fields = []
        for line in lines:
            name = f"line_{line.pk}"
            self.fields[name] = forms.IntegerField(
                label=f"{line.name} ({line.sku}) — bought {line.quantity}, "
                f"refundable {left.get(line.pk, 0)}",
                min_value=0,
                max_value=left.get(line.pk, 0),
                initial=0,
                required=False,
            )
            self.line_fields.append((line.pk, name))

    def quantities(self) -> dict[int, int]:
        return {
            line_id: self.cleaned_data.get(name) or 0
            for line_id, name in self.line_fields
            if self.cleaned_data.get(name)
        }


class ManualPaymentForm(forms.Form):
    method = forms.CharField(max_length=64, help_text="e.g. bank transfer, cash, card terminal")
    reference = forms.CharField(max_length=128, help_text="Bank or receipt reference.")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=255)


class BuyBackForm(forms.Form):
    distributor_number = forms.IntegerField(label="Distributor number")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
