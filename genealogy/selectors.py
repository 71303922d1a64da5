"""Every read of the genealogy that a page needs, and the one access rule.

`visible_distributors(user)` decides what a person may see: staff with staff powers (a session
that passed two-factor authentication, ``accounts.access.has_staff_powers``) see everyone; anyone
else is what they are otherwise: a distributor sees themselves and their placed downline
(nested-set range), plus their own direct enrollees who are still waiting for placement, plus
their placement downline (binary and matrix plans: the `Placement` rows whose label lies inside
theirs, even people enrolled by someone else); never anyone above them or in their upline's other
legs. A user who is neither sees nobody. Views never filter distributors by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.http import Http404
from django.utils import timezone

from accounts.access import has_staff_powers
from accounts.models import User
from core.periods import last_month_starts

from . import downline_counts
from .codes import normalize_referral_code
from .labels import PLACEMENT_TREE, SPONSOR_TREE
from .models import COMPANY_TREE_ID, Distributor, DistributorStatus, Placement, TreeKind


class SponsorRefusal(Exception):
    """A referral code that cannot enroll anyone, with the message a person should read."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def find_enrolling_sponsor(raw_code: str) -> Distributor:
    code = normalize_referral_code(raw_code)
    if not code:
        raise SponsorRefusal("Enter the referral code of the person who introduced you.", "empty")
    sponsor = Distributor.objects.select_related("user").filter(referral_code=code).first()
    if sponsor is None:
        raise SponsorRefusal(f"No distributor has the code {code}.", "unknown")
    if sponsor.status != DistributorStatus.ACTIVE:
        raise SponsorRefusal(
            f"The distributor with the code {code} cannot enroll new people at the moment. "
            "Please ask them, or the company, for help.",
            "not_active",
        )
    return sponsor


def distributor_for_user(user) -> Distributor | None:
    """The user's distributor, or None; no query when the session's user came with it
    (``accounts.backends``)."""
    if not user.is_authenticated:
        return None
    if Distributor._meta.get_field("user").remote_field.is_cached(user):
        return getattr(user, "distributor", None)
    return Distributor.objects.filter(user=user).select_related("user", "sponsor__user").first()


def visible_distributors(user) -> QuerySet[Distributor]:
    """The one access rule: what `user` may see of the genealogy."""
    queryset = Distributor.objects.all()
    if has_staff_powers(user):
        return queryset
    viewer = distributor_for_user(user)
    if viewer is None:
        return queryset.none()
    return queryset.filter(downline_q(viewer, include_self=True) | placement_downline_q(viewer))


def placement_downline_q(viewer: Distributor) -> Q:
    """The viewer's placement downline: people whose placement label lies strictly inside the
    viewer's (lft, rght) (nobody when the viewer has no placed node).

    A correlated EXISTS probes each candidate's placement row by its primary key; the viewer's
    labels are two scalar subqueries the database reads once (no extra query here). So a lookup
    of one person costs one index probe whatever the size of the placement downline, and a
    list filtered by something else (a sponsor, a name) is never joined with the whole range.
    """
    mine = Placement.objects.filter(distributor_id=viewer.pk, lft__isnull=False)
    inside = Placement.objects.filter(
        distributor_id=OuterRef("pk"),
        lft__gt=Subquery(mine.values("lft")[:1]),
        lft__lt=Subquery(mine.values("rght")[:1]),
    )
    return Q(Exists(inside))


def downline_q(viewer: Distributor, *, include_self: bool) -> Q:
    own = Q(pk=viewer.pk) if include_self else Q(pk__in=[])
    waiting = Q(pk__in=waiting_in_team(viewer))
    if not viewer.is_placed:
        return own | waiting
    # A descendant's lft lies inside the viewer's (lft, rght): one range on one column, which
    # the planner estimates well (a second bound on rght would make it guess).
    below = Q(tree_id=COMPANY_TREE_ID, lft__gt=viewer.lft, lft__lt=viewer.rght)
    return own | below | waiting


def visible_in_tree(user, tree: str) -> QuerySet[Distributor]:
    """Where ``user`` may browse one tree (the graphical viewer, the placement tree page): the
    part of `visible_distributors` that lies in that tree, so that every child, path and search
    result read from a node they may open is theirs to see too. Staff with staff powers: the
    whole company; a distributor: themselves and their downline in ``tree``."""
    queryset = Distributor.objects.all()
    if has_staff_powers(user):
        return queryset
    viewer = distributor_for_user(user)
    if viewer is None:
        return queryset.none()
    if tree == TreeKind.PLACEMENT:
        return queryset.filter(Q(pk=viewer.pk) | placement_downline_q(viewer))
    return queryset.filter(downline_q(viewer, include_self=True))


SEARCH_USERS_AT_MOST = 5_000


def people_matching(term: str) -> Q:
    """A search term as a filter. All digits: a distributor number (one index lookup). Else a
    name containing it or an email starting with it: the matching users are read first, so a
    rare term costs one scan of the users, never a probe of a user per person of a big range
    (the planner, expecting matches everywhere, would walk the range); a common term, with
    more than ``SEARCH_USERS_AT_MOST`` matching users, is joined instead and finds its first
    results at once."""
    term = term.strip()
    if term.isdigit():
        return Q(number=int(term))
    words = Q(user__name__icontains=term) | Q(user__email__istartswith=term)
    users = list(
        User.objects.filter(Q(name__icontains=term) | Q(email__istartswith=term)).values_list(
            "pk", flat=True
        )[: SEARCH_USERS_AT_MOST + 1]
    )
    return words if len(users) > SEARCH_USERS_AT_MOST else Q(user_id__in=users)


def placement_downline(node: Placement) -> QuerySet[Distributor]:
    """People placed below ``node`` in the placement tree (never ``node`` itself), unordered."""
    return Distributor.objects.filter(placement__lft__gt=node.lft, placement__lft__lt=node.rght)


def search_downline(root: Distributor, tree: str, term: str) -> QuerySet[Distributor]:
    """People below ``root`` in ``tree`` matching ``term`` (`people_matching`), unordered: with
    no order to follow the database starts from the matching people (a number is one lookup), not
    from the whole range, so a search under the house of a million people does not walk them in
    label order."""
    match = people_matching(term)
    if tree == TreeKind.PLACEMENT:
        node = Placement.objects.filter(distributor_id=root.pk, lft__isnull=False).first()
        if node is None:
            return Distributor.objects.none()
        return placement_downline(node).filter(match)
    return Distributor.objects.filter(downline_q(root, include_self=False)).filter(match)


def move_sponsor_candidates(
    moving: Distributor, queryset: QuerySet[Distributor] | None = None
) -> QuerySet[Distributor]:
    """Who may become the new sponsor of ``moving`` (with their team): never the person
    themselves or anyone in their downline (that would make a loop), nor a terminated person."""
    queryset = Distributor.objects.all() if queryset is None else queryset
    return queryset.exclude(downline_q(moving, include_self=True)).exclude(
        status=DistributorStatus.TERMINATED
    )


def waiting_in_team(viewer: Distributor) -> list[int]:
    """People waiting for placement whose sponsor chain leads into the viewer's team.

    Waiting people are few (placement runs every minute), so this reads them all and follows
    sponsor links in Python; it lets a sponsor see a new recruit before placement.
    """
    waiting = dict(
        Distributor.objects.filter(placed_at__isnull=True).values_list("id", "sponsor_id")
    )
    if not waiting:
        return []
    sponsors = {s for s in waiting.values() if s not in waiting}
    if viewer.is_placed:
        inside = set(
            Distributor.objects.filter(
                id__in=sponsors, tree_id=COMPANY_TREE_ID, lft__gte=viewer.lft, lft__lt=viewer.rght
            ).values_list("id", flat=True)
        )
    else:
        inside = {viewer.pk} & sponsors
    visible: set[int] = set()
    changed = True
    while changed:
        changed = False
        for person, sponsor in waiting.items():
            if person not in visible and (sponsor in inside or sponsor in visible):
                visible.add(person)
                changed = True
    visible.discard(viewer.pk)
    return sorted(visible)


def get_visible_distributor(user, **lookup) -> Distributor:
    """One distributor the user may see, or 404 (never 403: existence is not revealed)."""
    distributor = visible_distributors(user).select_related("user").filter(**lookup).first()
    if distributor is None:
        raise Http404("No such distributor in your team.")
    return distributor


# --- Team pages -------------------------------------------------------------------------------

TEAM_SORTS = {
    "tree": ("lft", "id"),
    "joined": ("-joined_on", "id"),
    "name": ("user__name", "id"),
    "number": ("number",),
    "level": ("level", "lft"),
}
COUNT_CAP = 10_000


def team_root_for(user) -> Distributor | None:
    """Whose team a person looks at: their own, or the whole company for staff."""
    viewer = distributor_for_user(user)
    if viewer is None and has_staff_powers(user):
        return Distributor.objects.select_related("user").get(is_house=True)
    return viewer


def with_team_counts(queryset: QuerySet[Distributor]) -> QuerySet[Distributor]:
    """Annotate the number of direct recruits (one correlated count per row of the page)."""
    recruits = (
        Distributor.objects.filter(sponsor=OuterRef("pk"))
        .order_by()
        .values("sponsor")
        .annotate(total=Count("id"))
        .values("total")
    )
    return queryset.annotate(
        direct_recruits=Coalesce(Subquery(recruits, output_field=IntegerField()), 0)
    )


def prime_downline_sizes(nodes: list[Distributor] | list[Placement]) -> None:
    """Give every node its exact `downline_size` with one query for all of them (the stored
    counts plus the waiting count rows inside each), so a page of people does not ask once
    per person."""
    placed = [node for node in nodes if node.lft is not None and node.placed_at is not None]
    if not placed:
        return
    space = PLACEMENT_TREE if isinstance(placed[0], Placement) else SPONSOR_TREE
    waiting = downline_counts.waiting_below(
        space, [node.lft for node in placed], [node.rght for node in placed]
    )
    for node, extra in zip(placed, waiting.tolist(), strict=True):
        node.__dict__["downline_size"] = node.descendants + extra  # the cached property


def children_of(node: Distributor) -> QuerySet[Distributor]:
    """Direct recruits of a node, placed or still waiting (the sponsor link is the truth)."""
    return with_team_counts(
        Distributor.objects.filter(sponsor=node).select_related("user").order_by("id")
    )


@dataclass(frozen=True)
class TeamFilters:
    query: str = ""
    level: int | None = None
    status: str = ""
    joined_from: dt.date | None = None
    joined_to: dt.date | None = None
    sort: str = "tree"

    @property
    def is_empty(self) -> bool:
        return not (self.query or self.level or self.status or self.joined_from or self.joined_to)


def downline(viewer: Distributor, filters: TeamFilters | None = None) -> QuerySet[Distributor]:
    """The viewer's downline (never the viewer), filtered and sorted for the team list."""
    filters = filters or TeamFilters()
    queryset = Distributor.objects.filter(downline_q(viewer, include_self=False))
    if filters.query:
        term = filters.query.strip()
        match = Q(user__name__icontains=term) | Q(user__email__istartswith=term)
        if term.isdigit():
            match |= Q(number=int(term))
        queryset = queryset.filter(match)
    if filters.level:
        queryset = queryset.filter(level=viewer.level + filters.level, placed_at__isnull=False)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.joined_from:
        queryset = queryset.filter(joined_on__gte=filters.joined_from)
    if filters.joined_to:
        queryset = queryset.filter(joined_on__lte=filters.joined_to)
    return queryset.order_by(*TEAM_SORTS.get(filters.sort, TEAM_SORTS["tree"]))


def downline_count(viewer: Distributor, filters: TeamFilters, queryset) -> tuple[int, bool]:
    """(count, is_capped): free from the nested set when unfiltered, capped otherwise."""
    if filters.is_empty:
        return viewer.downline_size + len(waiting_in_team(viewer)), False
    capped = queryset.order_by().values("id")[: COUNT_CAP + 1].count()
    return min(capped, COUNT_CAP), capped > COUNT_CAP


def upline_path(distributor: Distributor) -> list[Distributor]:
    """Sponsors from the distributor's sponsor up to the house (recursive CTE on sponsor_id)."""
    table = Distributor._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE up(id, sponsor_id, depth) AS (
                SELECT id, sponsor_id, 0 FROM {table} WHERE id = %s
                UNION ALL
                SELECT d.id, d.sponsor_id, up.depth + 1
                  FROM {table} d JOIN up ON d.id = up.sponsor_id
            )
            SELECT id FROM up WHERE depth > 0 ORDER BY depth
            """,  # noqa: S608 - table name from model meta
            [distributor.pk],
        )
        ids = [row[0] for row in cursor.fetchall()]
    by_id = Distributor.objects.select_related("user").in_bulk(ids)
    return [by_id[i] for i in ids]


@dataclass(frozen=True)
class TeamStats:
    as_of: dt.datetime
    downline_size: int
    active: int
    new_this_month: int
    per_level: list[tuple[str, int]]
    joins_per_month: list[tuple[dt.date, int]]


STATS_CACHE_SECONDS = 300
JOINS_WINDOW_MONTHS = 12  # joins per month: this month and the eleven before it


def team_stats(viewer: Distributor, *, today: dt.date | None = None) -> TeamStats:
    """Team figures from one scan of the downline range, cached for a few minutes."""
    today = today or timezone.localdate()
    key = f"genealogy:team-stats:{viewer.pk}:{viewer.lft}:{viewer.rght}:{today.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    window = last_month_starts(today, JOINS_WINDOW_MONTHS)
    first_month, month_start = window[0], window[-1]
    members = Distributor.objects.filter(downline_q(viewer, include_self=False)).order_by()
    level_counts = {
        f"level_{k}": Count("id", filter=Q(level=viewer.level + k, placed_at__isnull=False))
        for k in range(1, 11)
    }
    totals = members.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(status=DistributorStatus.ACTIVE)),
        new=Count("id", filter=Q(joined_on__gte=month_start)),
        waiting=Count("id", filter=Q(placed_at__isnull=True)),
        deeper=Count("id", filter=Q(level__gt=viewer.level + 10, placed_at__isnull=False)),
        **level_counts,
    )
    per_level = [(str(k), totals[f"level_{k}"]) for k in range(1, 11)]
    per_level[0] = ("1", per_level[0][1] + totals["waiting"])
    per_level.append(("deeper", totals["deeper"]))
    monthly = dict(
        members.filter(joined_on__gte=first_month)
        .annotate(month=TruncMonth("joined_on"))
        .values_list("month")
        .annotate(total=Count("id"))
        .values_list("month", "total")
    )
    months = [(month, monthly.get(month, 0)) for month in window]
    stats = TeamStats(
        as_of=timezone.now(),
        downline_size=totals["total"],
        active=totals["active"],
        new_this_month=totals["new"],
        per_level=per_level,
        joins_per_month=months,
    )
    cache.set(key, stats, STATS_CACHE_SECONDS)
    return stats


def relative_level(viewer: Distributor, member: Distributor) -> int:
    """The member's level in the viewer's team: 1 for their own recruits, and so on."""
    return level_below(
        viewer, level=member.level, is_placed=member.is_placed, sponsor_id=member.sponsor_id
    )


def level_below(viewer: Distributor, *, level: int, is_placed: bool, sponsor_id: int | None) -> int:
    """``relative_level`` from a row's values (for exports that read values, not objects)."""
    if is_placed and viewer.is_placed:
        return level - viewer.level
    return 1 if sponsor_id == viewer.pk else 0
