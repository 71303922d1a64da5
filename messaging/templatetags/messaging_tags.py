from django import template

register = template.Library()


@register.inclusion_tag("messaging/partials/dashboard_card.html", takes_context=True)
def announcements_card(context) -> dict:
    """Announcements on the dashboard (empty until the messaging app fills it)."""
    return {"request": context.get("request")}


@register.inclusion_tag("messaging/partials/bell.html", takes_context=True)
def notification_bell(context) -> dict:
    """The navbar bell with the unread count (empty until the messaging app fills it)."""
    return {"request": context.get("request")}
