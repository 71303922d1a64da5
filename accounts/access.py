"""Who holds staff powers: staff whose session passed two-factor authentication.

The power to see and change beyond one's own downline (the company's people, orders,
statements, compliance) belongs only to a staff account whose *session* passed MFA, and that
still has MFA turned on. Anyone else is what they are otherwise: a distributor if they have
one, or nobody. A staff member with MFA turned on whose session did not pass it (signed in
before setting it up, say) is asked for a code first.

``SessionMFAMiddleware`` (``accounts.middleware``) reads the session's authentication records
(allauth keeps one for each method a session passed) and marks ``request.user``;
``has_staff_powers(user)`` is the one question every page and selector asks. A user that did not
come from a request (a task, a command) carries no mark and holds no staff powers.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

SESSION_MFA_ATTRIBUTE = "session_passed_mfa"


def session_passed_mfa(request: HttpRequest, user) -> bool:
    """Whether this session passed a second factor (at login, or asked again since)."""
    if not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)


def mark_session_mfa(request: HttpRequest, user):
    """Give ``user`` its session's MFA state; a staff member whose MFA was turned off since
    the session passed it loses it (one query, for staff only)."""
    passed = (
        user.is_authenticated
        and user.is_staff
        and session_passed_mfa(request, user)
        and is_mfa_enabled(user)
    )
    setattr(user, SESSION_MFA_ATTRIBUTE, passed)
    return user


def has_staff_powers(user) -> bool:
    """The one rule: staff whose session passed MFA see beyond their own downline."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_staff
        and getattr(user, SESSION_MFA_ATTRIBUTE, False)
    )


def refuse_staff_without_mfa(request: HttpRequest, what: str) -> HttpResponse | None:
    """For a staff member without staff powers, where to go instead: set MFA up when it is
    off, or type a code when this session has not passed it. None when they may go on."""
    if has_staff_powers(request.user):
        return None
    if not is_mfa_enabled(request.user):
        messages.warning(
            request, f"Staff must turn on two-factor authentication before using {what}."
        )
        return redirect("mfa_activate_totp")
    messages.warning(request, f"Enter a two-factor code to use {what}.")
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('mfa_reauthenticate')}?{query}")


def staff_required(view):
    """Staff powers only (a session that passed MFA, ``accounts.access``): others get a 404;
    staff without MFA are sent to set it up, staff whose session did not pass it to type a
    code."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise Http404
        refusal = refuse_staff_without_mfa(request, "staff pages")
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    return wrapper
