import math
import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal.ratelimit import get_cache_key, get_rates
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from .site import site_url
from .validators import validate_email_length


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        user.email = user.email.lower()
        user.name = form.cleaned_data.get("name", "")
        if commit:
            user.save()
        return user

    def clean_email(self, email: str) -> str:
        """Every address allauth takes (sign-up, adding or changing an address) obeys RFC 5321's
        length limits."""
        email = super().clean_email(email)
        validate_email_length(email)
        return email

    def pre_authenticate(self, request, **credentials) -> None:
        """allauth's login lockout (``ACCOUNT_RATE_LIMITS["login_failed"]``), saying how long
        it lasts instead of "try again later"."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code != "too_many_login_attempts":
                raise
            key = self._get_login_attempts_cache_key(request, **credentials)
            wait = login_lockout_seconds(request, key=key)
            raise ValidationError(lockout_message(wait), code=error.code) from None

    def get_login_redirect_url(self, request) -> str:
        """Staff land on the staff overview (it sends a session without two-factor to set it
        up); everyone else on their dashboard, or where `?next=` asked."""
        if request.user.is_staff:
            return reverse("staff_overview")
        return super().get_login_redirect_url(request)

    def send_mail(self, template_prefix, email, context) -> None:
        """Every allauth email names the company and links to its site (never example.com)."""
        context.setdefault("company_name", settings.LADDER_COMPANY_NAME)
        context.setdefault("site_url", site_url())
        super().send_mail(template_prefix, email, context)


def login_lockout_seconds(request, *, key: str, now: float | None = None) -> float:
    """Seconds until allauth's ``login_failed`` limits let this person try again: for each
    rate that is full (per IP, per account), until enough of its recorded failures age out.

    allauth keeps, per rate, the times of recent failures (newest first) for the rate's window;
    this reads the same cache entries its limiter writes (allauth pinned in requirements.txt).
    """
    now = time.time() if now is None else now
    wait = 0.0
    for rate in get_rates(app="allauth.account", action="login_failed"):
        cache_key = get_cache_key(
            request, app="allauth.account", action="login_failed", rate=rate, key=key
        )
        history = [at for at in cache.get(cache_key, []) if at > now - rate.duration]
        if len(history) >= rate.amount:
            wait = max(wait, history[rate.amount - 1] + rate.duration - now)
    return wait


def lockout_message(seconds: float) -> str:
    """ "Too many failed login attempts: try again in 5 minutes." (rounded up, never 0)."""
    if seconds < 60:
        amount, unit = max(1, math.ceil(seconds)), "second"
    else:
        amount, unit = math.ceil(seconds / 60), "minute"
    plural = "" if amount == 1 else "s"
    return f"Too many failed login attempts: try again in {amount} {unit}{plural}."
