"""Notification centre, announcements, team messages and email preferences. Thin views."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from genealogy.selectors import distributor_for_user

from . import selectors, services
from .forms import AudienceFilterForm, EmailPreferencesForm, MessageForm
from .models import MessageAudience, NotificationKind

PER_PAGE = 25


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "all")
    queryset = selectors.notifications_for(request.user)
    if show == "unread":
        queryset = queryset.filter(read_at__isnull=True)
    elif show == "read":
        queryset = queryset.filter(read_at__isnull=False)
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "messaging/notifications.html",
        {"page": page, "show": show, "unread": selectors.unread_count(request.user)},
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()]
    services.notifications_mark_read(user=request.user, ids=ids or None)
    target = request.POST.get("next")
    if target and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("messaging:notifications")


@login_required
def bell(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/partials/bell_count.html",
        {"unread": selectors.unread_count(request.user)},
    )


@login_required
def email_preferences(request: HttpRequest) -> HttpResponse:
    off = selectors.opted_out_kinds(request.user)
    initial = {"kinds": [k for k in NotificationKind.values if k not in off]}
    form = EmailPreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.email_preferences_set(user=request.user, enabled_kinds=form.cleaned_data["kinds"])
        flash.success(request, "Your email preferences are saved.")
        return redirect("messaging:preferences")
    return render(request, "messaging/preferences.html", {"form": form})


@csrf_exempt  # one-click unsubscribe (RFC 8058) posts from the mail client; the token is the key
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_id, kind = services.read_unsubscribe_token(token)
    except signing.BadSignature:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=400)
    label = NotificationKind(kind).label
    if request.method == "POST":
        services.email_opt_out(user_id=user_id, kind=kind)
        return render(request, "messaging/unsubscribe.html", {"done": True, "label": label})
    return render(request, "messaging/unsubscribe.html", {"label": label, "token": token})


@login_required
@require_POST
def announcement_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.announcement_dismiss(announcement_id=pk, user=request.user):
        raise Http404("No such announcement.")
    if request.htmx:
        return HttpResponse("")
    return redirect("dashboard")


def _sender(request: HttpRequest):
    sender = distributor_for_user(request.user)
    if sender is None:
        raise Http404("Only distributors can message a team.")
    return sender


@login_required
def message_new(request: HttpRequest) -> HttpResponse:
    sender = _sender(request)
    # A link from the team list opens the form with that list's filters and audience chosen.
    requested = request.GET.get("audience")
    initial = {"audience": requested} if requested in MessageAudience.values else {}
    form = MessageForm(request.POST or None, initial=initial)
    filter_form = AudienceFilterForm(request.POST or request.GET or None)
    if request.method == "POST" and form.is_valid():
        audience = form.cleaned_data["audience"]
        filters = filter_form.to_filters() if audience == MessageAudience.FILTER else None
        if filters is not None and not filter_form.is_valid():
            # Never the whole team for a filter that could not be read.
            form.add_error(None, "Correct the team list filter below, or choose other recipients.")
        else:
            try:
                message = services.message_send(
                    sender=sender,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    audience=audience,
                    filters=filters,
                )
            except services.MessageRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                flash.success(request, "Your message is on its way.")
                return redirect("messaging:message_detail", pk=message.pk)
    return render(
        request,
        "messaging/message_new.html",
        {"form": form, "filter_form": filter_form, "limit": services.max_messages_per_day()},
    )


@login_required
def sent_list(request: HttpRequest) -> HttpResponse:
    sender = _sender(request)
    page = Paginator(selectors.sent_messages(sender), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "messaging/sent.html", {"page": page})


@login_required
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.message_for_recipient(request.user, pk)
    if message is None:
        raise Http404("No such message.")
    services.notifications_mark_read_for_message(user=request.user, message_id=message.pk)
    is_sender = message.sender.user_id == request.user.pk
    context = {
        "message": message,
        "body": services.render_markdown(message.body),
        "is_sender": is_sender,
        "progress": services.message_progress(message) if is_sender else None,
    }
    return render(request, "messaging/message_detail.html", context)


@login_required
def message_progress(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.message_for_recipient(request.user, pk)
    if message is None or message.sender.user_id != request.user.pk:
        raise Http404("No such message.")
    return render(
        request,
        "messaging/partials/progress.html",
        {"message": message, "progress": services.message_progress(message)},
    )
