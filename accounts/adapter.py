from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
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
