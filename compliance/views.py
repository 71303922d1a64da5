"""Staff pages: review compliance flags (dismiss with a reason, or hold payouts)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.access import staff_required

from . import selectors, services
from .models import ComplianceFlag, FlagKind, FlagStatus

PAGE_SIZE = 50


@staff_required
def flag_list(request: HttpRequest) -> HttpResponse:
    filters = selectors.FlagFilters(
        period=request.GET.get("period", ""),
        kind=request.GET.get("kind", ""),
        status=request.GET.get("status", FlagStatus.OPEN),
        query=request.GET.get("q", ""),
    )
    page = Paginator(selectors.flag_list(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "compliance/flag_list.html",
        {
            "page": page,
            "filters": filters,
            "periods": selectors.flag_periods(),
            "kinds": FlagKind.choices,
            "statuses": FlagStatus.choices,
            "open_count": selectors.open_flag_count(),
            "query": query.urlencode(),
        },
    )


@staff_required
@require_POST
def flag_review(request: HttpRequest, pk: int) -> HttpResponse:
    flag = get_object_or_404(ComplianceFlag.objects.select_related("distributor__user"), pk=pk)
    decision, reason = request.POST.get("decision"), request.POST.get("reason", "")
    try:
        if decision == "dismiss":
            services.flag_dismiss(flag=flag, reason=reason, by=request.user)
            messages.success(request, f"Flag dismissed: {flag}.")
        elif decision == "hold":
            services.flag_hold(flag=flag, reason=reason, by=request.user)
            messages.success(
                request, f"Payouts of {flag.distributor} are on hold until staff release them."
            )
        else:
            messages.error(request, "Choose dismiss or hold.")
    except services.ComplianceError as refused:
        messages.error(request, str(refused))
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("compliance_flags")
