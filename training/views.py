"""Distributor pages for training, first steps and the career path: thin, through selectors."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.access import has_staff_powers
from genealogy.selectors import distributor_for_user, get_visible_distributor

from .forms import LibraryFilterForm
from .models import TrainingCategory, TrainingKind
from .rendering import render_markdown
from .selectors import (
    LibraryFilters,
    career_path,
    library_items,
    new_recruits,
    onboarding_checklists,
    onboarding_days,
    progress_by_category,
    visible_items,
)
from .services import referral_share_record, training_item_complete

PAGE_SIZE = 20


def _not_a_distributor(request: HttpRequest) -> HttpResponse:
    return render(request, "training/not_a_distributor.html", status=403)


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    distributor = distributor_for_user(request.user)
    form = LibraryFilterForm(request.GET or None)
    filters = LibraryFilters()
    if form.is_bound and form.is_valid():
        filters = LibraryFilters(form.cleaned_data["category"], form.cleaned_data["q"].strip())
    items = library_items(request.user, filters, distributor=distributor)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "training/library.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "progress": progress_by_category(distributor) if distributor else [],
            "categories": TrainingCategory.choices,
            "distributor": distributor,
        },
    )


@login_required
@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(visible_items(request.user), pk=pk)
    distributor = distributor_for_user(request.user)
    is_done = distributor is not None and item.completions.filter(distributor=distributor).exists()
    return render(
        request,
        "training/item_detail.html",
        {
            "item": item,
            "is_done": is_done,
            "distributor": distributor,
            "article_html": render_markdown(item.body) if item.kind == TrainingKind.ARTICLE else "",
        },
    )


@login_required
@require_GET
def item_document(request: HttpRequest, pk: int) -> FileResponse:
    item = get_object_or_404(visible_items(request.user), pk=pk, kind=TrainingKind.PDF)
    if not item.pdf:
        raise Http404("No document")
    response = FileResponse(
        item.pdf.open("rb"), content_type="application/pdf", filename=f"training-{item.pk}.pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def item_complete(request: HttpRequest, pk: int) -> HttpResponse:
    distributor = distributor_for_user(request.user)
    if distributor is None:
        return _not_a_distributor(request)
    item = get_object_or_404(visible_items(request.user), pk=pk)
    training_item_complete(distributor=distributor, item=item)
    messages.success(request, f"“{item.title}” is marked as done.")
    return redirect("training_item", pk=item.pk)


@login_required
@require_POST
def share_recorded(request: HttpRequest) -> HttpResponse:
    """Called by the share card's copy button (static JS): the link was copied to share."""
    distributor = distributor_for_user(request.user)
    if distributor is None:
        return _not_a_distributor(request)
    referral_share_record(distributor=distributor)
    return HttpResponse(status=204)


@login_required
@require_GET
def team(request: HttpRequest) -> HttpResponse:
    if distributor_for_user(request.user) is None:
        return _not_a_distributor(request)
    query = request.GET.get("q", "").strip()[:100]
    page = Paginator(new_recruits(request.user, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    checklists = onboarding_checklists([recruit.pk for recruit in page.object_list])
    rows = [(recruit, checklists[recruit.pk]) for recruit in page.object_list]
    return render(
        request,
        "training/team.html",
        {
            "page": page,
            "rows": rows,
            "q": query,
            "query": urlencode({"q": query}) if query else "",
            "days": onboarding_days(),
        },
    )


@login_required
@require_GET
def team_member(request: HttpRequest, number: int) -> HttpResponse:
    """First steps of one person in the viewer's team (the one access rule: 404 otherwise)."""
    recruit = get_visible_distributor(request.user, number=number)
    checklist = onboarding_checklists([recruit.pk])[recruit.pk]
    return render(
        request,
        "training/team_member.html",
        {"recruit": recruit, "checklist": checklist, "days": onboarding_days()},
    )


@login_required
@require_GET
def career(request: HttpRequest) -> HttpResponse:
    distributor = distributor_for_user(request.user)
    if distributor is None and not has_staff_powers(request.user):
        return _not_a_distributor(request)
    return render(
        request,
        "training/career.html",
        {"career": career_path(distributor), "distributor": distributor},
    )
