"""Team pages. Every distributor taken from the URL goes through the one access rule."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import has_staff_powers
from core.csv import stream_csv

from .forms import TeamFilterForm
from .models import Distributor
from .selectors import (
    children_of,
    downline,
    downline_count,
    get_visible_distributor,
    prime_downline_sizes,
    relative_level,
    team_root_for,
    team_stats,
    upline_path,
    with_team_counts,
)
from .sharing import share_card_context

CHILDREN_PER_PAGE = 25
LIST_PER_PAGE = 50


def _team_root(request: HttpRequest) -> Distributor:
    root = team_root_for(request.user)
    if root is None:
        raise Http404("You have no team.")
    return root


def _children_page(request: HttpRequest, node: Distributor):
    page = Paginator(children_of(node), CHILDREN_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    prime_downline_sizes(page.object_list)  # each child's team size, one query for the page
    return page


@login_required
def team_tree(request: HttpRequest) -> HttpResponse:
    root = _team_root(request)
    context = {
        "root": root,
        "root_recruits": children_of(root).count(),
        "page": _children_page(request, root),
        "node": root,
        "active_tab": "tree",
    }
    context.update(share_card_context(request, root))
    return render(request, "genealogy/tree.html", context)


@login_required
def tree_children(request: HttpRequest, number: int) -> HttpResponse:
    node = get_visible_distributor(request.user, number=number)
    return render(
        request,
        "genealogy/partials/children.html",
        {"node": node, "page": _children_page(request, node)},
    )


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    root = _team_root(request)
    form = TeamFilterForm(request.GET or None)
    template = "genealogy/partials/list_table.html" if request.htmx else "genealogy/list.html"
    if form.is_bound and not form.is_valid():
        # The errors and no list: a list that ignored the bad filter would look like its answer.
        # (htmx swaps only successful responses, so its fragment answers 200.)
        context = {"root": root, "form": form, "invalid": True, "active_tab": "list"}
        return render(request, template, context, status=200 if request.htmx else 400)
    filters = form.to_filters()
    queryset = downline(root, filters).select_related("user", "sponsor")
    total, capped = downline_count(root, filters, queryset)
    paginator = Paginator(queryset, LIST_PER_PAGE)
    paginator.count = total  # known from the nested set or a capped count: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    for member in page.object_list:
        member.relative_level = relative_level(root, member)
    query = request.GET.copy()
    query.pop("page", None)
    # "Message these people" opens the message form with this list's filters.
    message_filters = {
        f"f-{name}": value
        for name, value in request.GET.items()
        if name in TeamFilterForm.base_fields and name != "sort" and value
    }
    context = {
        "message_query": urlencode({"audience": "filter", **message_filters}),
        "root": root,
        "form": form,
        "page": page,
        "total": total,
        "capped": capped,
        "query": query.urlencode(),
        "active_tab": "list",
        "filtered": not filters.is_empty,
    }
    if not page.object_list and not context["filtered"]:
        context.update(share_card_context(request, root))
    return render(request, template, context)


@login_required
def team_list_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered downline as CSV, streamed from a server-side cursor."""
    from .imports import EXPORT_COLUMNS, rows_for_export

    root = _team_root(request)
    form = TeamFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label if name in form.fields else 'Filters'}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        )
        return HttpResponse(
            f"The filters are not valid ({problems}): no list was exported.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.to_filters()

    def rows():
        yield EXPORT_COLUMNS
        yield from rows_for_export(downline(root, filters), relative_to=root)

    stamp = timezone.localdate().isoformat()
    response = StreamingHttpResponse(stream_csv(rows()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="team-{root.number}-{stamp}.csv"'
    return response


@login_required
def team_stats_page(request: HttpRequest) -> HttpResponse:
    root = _team_root(request)
    stats = team_stats(root)
    return render(
        request,
        "genealogy/stats.html",
        {
            "root": root,
            "stats": stats,
            "active_tab": "stats",
            "chart_labels": [m.strftime("%b %Y") for m, _ in stats.joins_per_month],
            "chart_values": [v for _, v in stats.joins_per_month],
        },
    )


@login_required
def upline(request: HttpRequest) -> HttpResponse:
    root = _team_root(request)
    return render(
        request,
        "genealogy/upline.html",
        {
            "root": root,
            "sponsor": root.sponsor if root.sponsor_id else None,
            "active_tab": "upline",
        },
    )


@login_required
def member_upline(request: HttpRequest, number: int) -> HttpResponse:
    """The full path to the house: staff only (a distributor sees only their own sponsor)."""
    if not has_staff_powers(request.user):
        raise Http404("No such page.")
    member = get_visible_distributor(request.user, number=number)
    return render(
        request, "genealogy/member_upline.html", {"member": member, "path": upline_path(member)}
    )


@login_required
def member_detail(request: HttpRequest, number: int) -> HttpResponse:
    member = get_visible_distributor(request.user, number=number)
    root = _team_root(request)
    member = (
        with_team_counts(Distributor.objects.filter(pk=member.pk))
        .select_related("user", "sponsor__user")
        .get()
    )
    return render(
        request,
        "genealogy/member.html",
        {
            "root": root,
            "member": member,
            "level": relative_level(root, member),
            "page": _children_page(request, member),
            "node": member,
            "is_self": member.pk == root.pk,
        },
    )
