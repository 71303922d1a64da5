from django import template

from training.selectors import dashboard_checklist

register = template.Library()


@register.inclusion_tag("training/partials/dashboard_card.html", takes_context=True)
def onboarding_card(context) -> dict:
    """The first-steps checklist on the dashboard, for the first days after joining."""
    distributor = context.get("distributor")
    checklist = dashboard_checklist(distributor) if distributor is not None else None
    return {
        "request": context.get("request"),
        "checklist": checklist,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("training/partials/share_tracking.html", takes_context=True)
def share_tracking(context) -> dict:
    """Records a "shared" event when the referral link's copy button is used on the page."""
    return {"csrf_token": context.get("csrf_token")}
