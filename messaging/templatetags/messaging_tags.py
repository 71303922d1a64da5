from django import template

from messaging import selectors
from messaging.services import render_markdown

register = template.Library()


@register.inclusion_tag("messaging/partials/dashboard_card.html", takes_context=True)
def announcements_card(context) -> dict:
    """Announcements for the person on the dashboard, until each is dismissed."""
    request = context.get("request")
    user = getattr(request, "user", None)
    announcements = (
        selectors.announcements_for(user, distributor=context.get("distributor"))
        if user is not None
        else []
    )
    for announcement in announcements:
        announcement.html = render_markdown(announcement.body)
    return {"request": request, "announcements": announcements}


@register.inclusion_tag("messaging/partials/bell.html", takes_context=True)
def notification_bell(context) -> dict:
    """The navbar bell; the unread count is loaded after the page and refreshed by htmx, so
    pages themselves run no query for it."""
    return {"request": context.get("request")}


@register.filter
def markdown(text: str):
    return render_markdown(text)
