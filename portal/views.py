"""Pages that compose many apps: the distributor dashboard, sign-up with a sponsor, the profile.

Thin: every figure comes from a selector of the app that owns it.
"""

from __future__ import annotations

from allauth.account.views import SignupView
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string

from accounts.forms import ProfileForm
from commissions.calendar import commission_calendar
from commissions.progress import month_progress, progress_key
from core.fragments import cached_fragment
from genealogy.members import update_profile
from genealogy.models import Distributor
from genealogy.selectors import SponsorRefusal, distributor_for_user, find_enrolling_sponsor
from genealogy.sharing import share_card_context

from .dashboard import (
    chart_data,
    earnings_overview,
    has_active_hold,
    monthly_history,
    recent_customer_orders,
    recent_recruits,
)


class EnrollmentSignupView(SignupView):
    """allauth's sign-up, with the sponsor fixed when the person came through a referral link."""

    template_name = "account/signup.html"
    fixed_sponsor: Distributor | None = None

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            messages.info(request, "You are already a member: share your own link instead.")
            return redirect("profile")
        code = kwargs.get("code")
        if code is not None:
            try:
                self.fixed_sponsor = find_enrolling_sponsor(code)
            except SponsorRefusal as refusal:
                return render(
                    request, "account/join_refused.html", {"message": str(refusal)}, status=404
                )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        kwargs["fixed_sponsor"] = self.fixed_sponsor
        return kwargs

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        context["fixed_sponsor"] = self.fixed_sponsor
        return context


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page after login: this month so far, rank progress, earnings; charts and lists
    load as htmx fragments.

    The month and earnings cards are cached while they come from a projection run: their key
    names the run, the closed periods, the hold and the person's status, so a cached copy is
    never out of date (``core.fragments``).
    """
    distributor = distributor_for_user(request.user)
    if distributor is None and request.user.is_staff:
        return redirect("staff_overview")
    context: dict = {"distributor": distributor}
    if distributor is not None:
        calendar = commission_calendar()
        on_hold = has_active_hold(distributor)

        def render_cards() -> str:
            cards = {
                "distributor": distributor,
                "progress": month_progress(distributor, calendar=calendar),
                "earnings": earnings_overview(distributor, calendar=calendar, is_on_hold=on_hold),
            }
            return render_to_string("accounts/partials/month_cards.html", cards, request)

        key = progress_key(calendar, distributor)  # None while the figures are live
        if key is not None:
            key = (*key, *calendar.locked_periods, on_hold)
        context.update(
            month_cards=cached_fragment(key, render_cards),
            **share_card_context(request, distributor),
        )
    return render(request, "accounts/dashboard.html", context)


def _own_distributor(request: HttpRequest) -> Distributor:
    distributor = distributor_for_user(request.user)
    if distributor is None:
        raise Http404("You have no distributor account.")
    return distributor


@login_required
def dashboard_charts(request: HttpRequest) -> HttpResponse:
    """Fragment: earnings, team and volume per month (charts with their tables)."""
    history = monthly_history(_own_distributor(request))
    return render(
        request,
        "accounts/partials/dashboard_charts.html",
        {"history": history, "chart": chart_data(history)},
    )


@login_required
def dashboard_lists(request: HttpRequest) -> HttpResponse:
    """Fragment: new people in the team and the latest orders of the distributor's customers."""
    distributor = _own_distributor(request)
    return render(
        request,
        "accounts/partials/dashboard_lists.html",
        {
            "distributor": distributor,
            "recruits": recent_recruits(distributor),
            "customer_orders": recent_customer_orders(distributor),
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    distributor = distributor_for_user(request.user)
    with_payouts = distributor is not None
    if request.method == "POST":
        form = ProfileForm(request.POST, with_payouts=with_payouts)
        if form.is_valid():
            update_profile(user=request.user, distributor=distributor, **form.cleaned_data)
            messages.success(request, "Your profile is saved.")
            return redirect("profile")
    else:
        initial = {"name": request.user.name}
        if distributor is not None:
            initial.update(
                country=distributor.country.code,
                phone=distributor.phone,
                share_phone_with_team=distributor.share_phone_with_team,
                payout_method=distributor.payout_method,
                payout_account=distributor.payout_account,
            )
        form = ProfileForm(initial=initial, with_payouts=with_payouts)
    context = {"form": form, "distributor": distributor}
    if distributor is not None:
        context.update(share_card_context(request, distributor))
    return render(request, "accounts/profile.html", context)
