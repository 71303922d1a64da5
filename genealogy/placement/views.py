"""The holding tank: a sponsor's waiting recruits, placing one (preview, then confirm), and the
sponsor's own rule. Thin views: the access rule is `selectors.tank_entry_for`."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..policy import RULE_LABELS
from ..policy import placement_policy as policy_at
from ..selectors import visible_distributors
from .forms import PlaceForm, SponsorRuleForm
from .selectors import tank_entries, tank_entry_for, tank_sponsor_for
from .services import (
    PlacementError,
    choose_sponsor_rule,
    place_by_hand,
    place_by_rule_now,
    preview_placement,
    rule_for_recruit,
)

TANK_PER_PAGE = 25


def _policy_with_tree():
    policy = policy_at()
    if not policy.has_placement_tree:
        raise Http404("The company's plan has no placement tree.")
    return policy


@login_required
def tank(request: HttpRequest) -> HttpResponse:
    policy = _policy_with_tree()
    sponsor = tank_sponsor_for(request.user)
    if sponsor is None:
        raise Http404("You have no team.")
    search = request.GET.get("q", "")
    page = Paginator(tank_entries(sponsor, search=search), TANK_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "sponsor": sponsor,
        "policy": policy,
        "page": page,
        "search": search,
        "query": urlencode({"q": search}) if search else "",
        "rule_form": SponsorRuleForm(initial={"rule": sponsor.placement_rule}, policy=policy)
        if policy.rules_for_sponsors()
        else None,
        "current_rule": RULE_LABELS[rule_for_recruit(policy, sponsor.placement_rule)],
        "deadline_rule": RULE_LABELS[policy.auto_rule],
        "active_tab": "tank",
    }
    return render(request, "genealogy/placement_tank.html", context)


@login_required
def place(request: HttpRequest, number: int) -> HttpResponse:
    policy = _policy_with_tree()
    sponsor, person = tank_entry_for(request.user, number)
    form = PlaceForm(request.POST or None, policy=policy)
    preview = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        parent = None
        if data["how"] == "hand":
            # Through the access rule: a number outside the viewer's team reads as unknown.
            parent = visible_distributors(request.user).filter(number=data["parent"]).first()
            if parent is None:
                form.add_error("parent", f"No one in your team has the number {data['parent']}.")
        if not form.errors:
            try:
                if request.POST.get("confirmed") == "yes":
                    if parent is not None:
                        place_by_hand(
                            sponsor=sponsor,
                            person=person,
                            parent=parent,
                            position=data["position"],
                            by=request.user,
                        )
                    else:
                        place_by_rule_now(
                            sponsor=sponsor, person=person, rule=data["rule"], by=request.user
                        )
                    messages.success(request, f"{person.display_name} is placed.")
                    return redirect("placement_tank")
                preview = preview_placement(
                    sponsor=sponsor,
                    person=person,
                    parent=parent,
                    position=data["position"] if parent is not None else None,
                    rule=data["rule"] if parent is None else None,
                )
            except PlacementError as error:
                form.add_error(None, str(error))
    context = {
        "sponsor": sponsor,
        "person": person,
        "form": form,
        "preview": preview,
        "policy": policy,
        "entry": person.placement,
        "active_tab": "tank",
    }
    return render(request, "genealogy/placement_place.html", context)


@login_required
@require_POST
def sponsor_rule(request: HttpRequest) -> HttpResponse:
    policy = _policy_with_tree()
    sponsor = tank_sponsor_for(request.user)
    if sponsor is None or not policy.rules_for_sponsors():
        raise Http404("You cannot choose a placement rule.")
    form = SponsorRuleForm(request.POST, policy=policy)
    if form.is_valid():
        try:
            applied = choose_sponsor_rule(sponsor=sponsor, rule=form.cleaned_data["rule"])
        except PlacementError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, f"Your new recruits are placed by: {RULE_LABELS[applied]}.")
    else:
        messages.error(request, "Choose one of the rules offered.")
    return redirect("placement_tank")
