from __future__ import annotations

from allauth.account.internal.flows.login import perform_login
from allauth.account.models import EmailAddress, Login
from allauth.account.views import ConfirmEmailView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


class SignInOnConfirmEmailView(ConfirmEmailView):
    """allauth's email confirmation, which also signs a new member in from any browser.

    allauth signs in on confirmation only in the browser session that signed up, within
    `ACCOUNT_LOGIN_TIMEOUT`; a person who opens the link on their phone, or an hour later, had to
    log in again. Here confirming the sign-up address signs in wherever the link is opened. The
    link is as strong as a password-reset link and works once (a verified address no longer
    resolves its key), and only for someone who has never logged in: confirming a changed
    address later still asks for the password.
    """

    def post(self, *args, **kwargs) -> HttpResponse:
        confirmation = self.get_object()  # 404 for a used, expired or forged key
        address = confirmation.email_address
        is_first_sign_in = address.user.last_login is None
        response = super().post(*args, **kwargs)
        if (
            is_first_sign_in
            and not self.request.user.is_authenticated
            and EmailAddress.objects.filter(pk=address.pk, verified=True).exists()
        ):
            login = Login(
                user=address.user, email=address.email, redirect_url=self.get_next_url() or None
            )
            return perform_login(self.request, login)
        return response


def policies(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/policies.html")
