from decimal import Decimal

from django import template

from orders.money import currency, quantize_money

register = template.Library()


@register.filter
def money(value) -> str:
    """1234.5 → "1,234.50 USD" (the company's one currency)."""
    if value is None or value == "":
        return ""
    return f"{quantize_money(Decimal(value)):,.2f} {currency()}"


@register.filter
def volume(value) -> str:
    if value is None or value == "":
        return ""
    return f"{quantize_money(Decimal(value)):,.2f}"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.filter
def status_badge(status: str) -> str:
    return {
        "placed": "text-bg-warning",
        "paid": "text-bg-success",
        "shipped": "text-bg-primary",
        "cancelled": "text-bg-secondary",
    }.get(status, "text-bg-light")
