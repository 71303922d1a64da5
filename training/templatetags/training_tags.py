from django import template

register = template.Library()


@register.inclusion_tag("training/partials/dashboard_card.html", takes_context=True)
def onboarding_card(context) -> dict:
    """The first-steps checklist on the dashboard (empty until the training app fills it)."""
    return {"request": context.get("request")}
