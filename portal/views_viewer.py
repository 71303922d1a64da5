"""The placement tree page and the graphical genealogy viewer (both trees) with its JSON.

Thin: every node comes through `portal.viewer` from the one access rule (404 outside it); bad
parameters answer 400 with a message, never a 500.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from commissions.calendar import commission_calendar
from genealogy.models import TreeKind
from genealogy.policy import placement_policy
from genealogy.selectors import get_visible_distributor, search_downline

from . import viewer
from .viewer import ViewerInputError

PLACEMENT_SEARCH_PER_PAGE = 25


def _json_errors(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ViewerInputError as error:
            return JsonResponse({"error": str(error)}, status=400)

    return wrapper


def _root(request: HttpRequest, tree: str):
    """The node the viewer is rooted at: ``?root=<number>`` when given, else the person's own
    (the house for staff without one)."""
    raw = request.GET.get("root", "")
    if raw:
        if not raw.isdigit():
            raise ViewerInputError("root: a distributor number")
        return viewer.tree_node(request.user, tree, int(raw))
    return viewer.browse_root(request.user)


# --- The placement tree page ------------------------------------------------------------------


@login_required
@require_GET
def placement_tree(request: HttpRequest, number: int | None = None) -> HttpResponse:
    """A person's node in the placement tree: every leg with its people and volume, the people
    right below, and a search of the placement downline."""
    own = viewer.browse_root(request.user)
    person = own if number is None else get_visible_distributor(request.user, number=number)
    policy = placement_policy()
    # Someone in the sponsor downline whom a move put outside the placement downline is
    # visible, but their placement legs are not the viewer's to see.
    node = viewer.placement_of(person)
    in_tree = (
        node is None
        or person.pk == own.pk
        or viewer.is_in_tree(request.user, TreeKind.PLACEMENT, person)
    )
    if not in_tree:
        node = None
    context = {
        "active_tab": "placement",
        "person": person,
        "own": own,
        "policy": policy,
        "node": node,
        "in_tree": in_tree,
        "query": request.GET.get("q", "").strip()[:100],
    }
    if node is not None:
        context["legs"] = viewer.placement_legs(node, policy)
        context["has_carried"] = any(leg.carried is not None for leg in context["legs"])
        context["period"] = commission_calendar().period
        if person.pk != own.pk:
            ids, _ = viewer.path_ids(own, person, TreeKind.PLACEMENT)
            context["path"] = viewer.rows_for(TreeKind.PLACEMENT, ids[:-1])
        if context["query"]:
            found = (
                search_downline(person, TreeKind.PLACEMENT, context["query"])
                .select_related("user")
                .order_by("user__name", "number")
            )
            paginator = Paginator(found, PLACEMENT_SEARCH_PER_PAGE)
            context["results"] = paginator.get_page(request.GET.get("page"))
            context["search_query"] = urlencode({"q": context["query"]})
    return render(request, "portal/placement_tree.html", context)


# --- The graphical viewer ---------------------------------------------------------------------


@login_required
@require_GET
def genealogy_viewer(request: HttpRequest) -> HttpResponse:
    try:
        tree = viewer.parse_tree(request.GET.get("tree"))
        root = _root(request, tree)
    except ViewerInputError as error:
        return render(
            request, "portal/viewer.html", {"error": str(error), "active_tab": "viewer"}, status=400
        )
    policy = placement_policy()
    rows = viewer.rows_for(tree, [root.pk])
    context = {
        "active_tab": "viewer",
        "tree": tree,
        "root": root,
        "has_placement_tree": policy.has_placement_tree,
        "root_node": viewer.nodes_payload(rows, tree, policy=policy)[0] if rows else None,
    }
    return render(request, "portal/viewer.html", context)


@login_required
@require_GET
@_json_errors
def viewer_children(request: HttpRequest, number: int) -> JsonResponse:
    """One page of a node's children: ``?tree=sponsor|placement&after=<cursor>``."""
    tree = viewer.parse_tree(request.GET.get("tree"))
    after = viewer.parse_cursor(request.GET.get("after"))
    node = viewer.tree_node(request.user, tree, number)
    page = viewer.children_page(node, tree, after=after)
    return JsonResponse(
        {
            "tree": tree,
            "parent": node.number,
            "children": viewer.nodes_payload(page.rows, tree),
            "next": page.next_cursor,
        }
    )


@login_required
@require_GET
@_json_errors
def viewer_card(request: HttpRequest, number: int) -> JsonResponse:
    tree = viewer.parse_tree(request.GET.get("tree"))
    person = viewer.tree_node(request.user, tree, number)
    return JsonResponse(viewer.card(person, tree))


@login_required
@require_GET
@_json_errors
def viewer_path(request: HttpRequest, number: int) -> JsonResponse:
    """The people from the viewer's root down to one person (``?root=`` as the page)."""
    tree = viewer.parse_tree(request.GET.get("tree"))
    root = _root(request, tree)
    target = viewer.tree_node(request.user, tree, number)
    ids, reaches_root = viewer.path_ids(root, target, tree)
    return JsonResponse(
        {
            "tree": tree,
            "root": root.number,
            "reaches_root": reaches_root,
            "path": viewer.nodes_payload(viewer.rows_for(tree, ids), tree),
        }
    )


@login_required
@require_GET
@_json_errors
def viewer_search(request: HttpRequest) -> JsonResponse:
    """Up to 20 people in the root's downline matching ``?q=`` (a name, email, number)."""
    tree = viewer.parse_tree(request.GET.get("tree"))
    root = _root(request, tree)
    query = request.GET.get("q", "")[:100]
    rows = viewer.search(root, tree, query)
    return JsonResponse({"tree": tree, "results": viewer.nodes_payload(rows, tree)})
