from django import template

from commissions.models import cents_to_decimal

register = template.Library()


@register.filter
def cents(value):
    """Integer cents → Decimal currency units (for the `money` and `volume` filters)."""
    if value is None or value == "":
        return ""
    return cents_to_decimal(value)


@register.filter
def rank_name(rank: int, run) -> str:
    names = (run.summary or {}).get("rank_names") or []
    return names[rank] if 0 <= rank < len(names) else str(rank)
