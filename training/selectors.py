"""Reads for the training pages, the onboarding checklist and the career path.

`visible_items(user)` is the one access rule of the library: staff see every item; a
distributor sees the published items whose audience includes them (everyone, or from a rank
upward, by the highest rank they reached in a closed period, rank codes of the plan in force).
Checklist steps are computed from the database every time, never ticked by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.access import has_staff_powers
from commissions.calendar import commission_calendar
from commissions.engine import words
from commissions.engine.plan import Plan, Rank
from commissions.engine.ranks import leg_cap
from commissions.engine.words import volume as volume_words
from commissions.models import (
    cents_to_decimal,
)
from commissions.progress import (
    MonthProgress,
    Requirement,
    month_progress,
    qualified_leg_count,
    rank_requirements,
)
from commissions.selectors import highest_ranks
from genealogy.models import Distributor
from genealogy.selectors import distributor_for_user, visible_distributors
from orders.models import Customer, Order, OrderStatus

from .hooks import published_disclosure
from .models import ReferralShare, TrainingCategory, TrainingCompletion, TrainingItem


def onboarding_days() -> int:
    return settings.LADDER_ONBOARDING_DAYS


# --- Audience ---------------------------------------------------------------------------------


def rank_codes_up_to(highest: int, *, now: dt.datetime | None = None) -> list[str]:
    """Codes of the plan's ranks 1..highest: the rank-gated audiences that include a person."""
    if highest <= 0:
        return []
    plan = commission_calendar(now).plan
    return [] if plan is None else [rank.code for rank in plan.ranks[:highest]]


def audience_q(codes: list[str]) -> Q:
    return Q(min_rank_code="") | Q(min_rank_code__in=codes)


def items_for_distributor(
    distributor: Distributor, *, now: dt.datetime | None = None
) -> QuerySet[TrainingItem]:
    highest = highest_ranks([distributor.pk]).get(distributor.pk, 0)
    codes = rank_codes_up_to(highest, now=now)
    return TrainingItem.objects.filter(audience_q(codes), is_published=True)


def visible_items(user, *, now: dt.datetime | None = None) -> QuerySet[TrainingItem]:
    """The one access rule of the library: what ``user`` may open."""
    if has_staff_powers(user):
        return TrainingItem.objects.all()
    distributor = distributor_for_user(user)
    if distributor is None:
        return TrainingItem.objects.none()
    return items_for_distributor(distributor, now=now)


# --- Library ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LibraryFilters:
    category: str = ""
    query: str = ""


def library_items(
    user, filters: LibraryFilters, *, distributor: Distributor | None = None
) -> QuerySet[TrainingItem]:
    """The library list, filtered and searched, with ``is_done`` for the viewer."""
    items = visible_items(user)
    if filters.category:
        items = items.filter(category=filters.category)
    if filters.query:
        items = items.filter(
            Q(title__icontains=filters.query)
            | Q(summary__icontains=filters.query)
            | Q(body__icontains=filters.query)
        )
    done = TrainingCompletion.objects.filter(
        item_id=OuterRef("pk"), distributor_id=distributor.pk if distributor else None
    )
    return items.annotate(is_done=Exists(done)).order_by("category", "order", "title", "id")


@dataclass(frozen=True)
class CategoryProgress:
    category: str
    label: str
    total: int
    done: int
    required_total: int
    required_done: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else self.done * 100 // self.total


def progress_by_category(
    distributor: Distributor, *, now: dt.datetime | None = None
) -> list[CategoryProgress]:
    """Items done out of visible items, per category (two queries at most for rank 0)."""
    done = TrainingCompletion.objects.filter(item_id=OuterRef("pk"), distributor_id=distributor.pk)
    rows = {
        row["category"]: row
        for row in items_for_distributor(distributor, now=now)
        .annotate(is_done=Exists(done))
        .values("category")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(is_done=True)),
            required_total=Count("id", filter=Q(is_required=True)),
            required_done=Count("id", filter=Q(is_required=True, is_done=True)),
        )
        .order_by()
    }
    return [
        CategoryProgress(
            value,
            label,
            rows.get(value, {}).get("total", 0),
            rows.get(value, {}).get("done", 0),
            rows.get(value, {}).get("required_total", 0),
            rows.get(value, {}).get("required_done", 0),
        )
        for value, label in TrainingCategory.choices
    ]


# --- Required training ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredItem:
    id: int
    title: str
    category: str
    is_done: bool


def required_items_by_distributor(
    distributor_ids: list[int], *, now: dt.datetime | None = None
) -> dict[int, list[RequiredItem]]:
    """The required, published items each person sees, and whether they finished each.

    Two queries when no required item is rank-gated, four otherwise, whatever the number of
    people.
    """
    items = list(
        TrainingItem.objects.filter(is_published=True, is_required=True)
        .order_by("category", "order", "id")
        .values_list("id", "title", "category", "min_rank_code")
    )
    if not items:
        return {pk: [] for pk in distributor_ids}
    codes_for: dict[int, set[str]] = {pk: set() for pk in distributor_ids}
    if any(code for _, _, _, code in items):
        ranks = highest_ranks(distributor_ids)
        if any(ranks.values()):
            plan = commission_calendar(now).plan
            all_codes = [] if plan is None else [rank.code for rank in plan.ranks]
            for pk in distributor_ids:
                codes_for[pk] = set(all_codes[: ranks.get(pk, 0)])
    finished = set(
        TrainingCompletion.objects.filter(
            distributor_id__in=distributor_ids, item_id__in=[i[0] for i in items]
        ).values_list("distributor_id", "item_id")
    )
    return {
        pk: [
            RequiredItem(item_id, title, category, (pk, item_id) in finished)
            for item_id, title, category, code in items
            if not code or code in codes_for[pk]
        ]
        for pk in distributor_ids
    }


def pending_compliance_items(
    distributor: Distributor, *, now: dt.datetime | None = None
) -> list[RequiredItem]:
    """Required compliance items ``distributor`` sees and has not finished yet."""
    items = required_items_by_distributor([distributor.pk], now=now)[distributor.pk]
    return [i for i in items if i.category == TrainingCategory.COMPLIANCE and not i.is_done]


# --- Onboarding checklist ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    is_done: bool
    hint: str
    url: str


@dataclass
class Checklist:
    distributor_id: int
    joined_on: dt.date
    ends_on: dt.date  # the first day the checklist is no longer shown
    steps: list[Step] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.is_done)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def is_complete(self) -> bool:
        return self.done_count == self.total

    @property
    def percent(self) -> int:
        return 100 if not self.steps else self.done_count * 100 // self.total


def onboarding_window_end(joined_on: dt.date) -> dt.date:
    return joined_on + dt.timedelta(days=onboarding_days())


def is_in_onboarding_window(joined_on: dt.date, *, now: dt.datetime | None = None) -> bool:
    return timezone.localdate(now or timezone.now()) < onboarding_window_end(joined_on)


def onboarding_checklists(
    distributor_ids: list[int], *, now: dt.datetime | None = None
) -> dict[int, Checklist]:
    """Every person's checklist, computed from the database (a fixed number of queries)."""
    user = OuterRef("user_id")
    me = OuterRef("pk")
    rows = Distributor.objects.filter(pk__in=distributor_ids).values_list(
        "pk",
        "joined_on",
        "phone",
        "country",
        Exists(EmailAddress.objects.filter(user_id=user, verified=True)),
        Exists(
            Authenticator.objects.filter(
                user_id=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
            )
        ),
        Exists(Customer.objects.filter(distributor_id=me)),
        Exists(Order.objects.filter(distributor_id=me).exclude(status=OrderStatus.CANCELLED)),
        Exists(ReferralShare.objects.filter(distributor_id=me)),
        Exists(Distributor.objects.filter(sponsor_id=me)),
    )
    rows = list(rows)
    required = required_items_by_distributor([row[0] for row in rows], now=now)
    checklists = {}
    for pk, joined_on, phone, country, verified, mfa, customer, order, shared, enrollee in rows:
        items = required[pk]
        left = sum(1 for item in items if not item.is_done)
        steps = [
            Step(
                "verify_email",
                "Verify your email address",
                verified,
                "Open the link we emailed you.",
                reverse("account_email"),
            ),
            Step(
                "profile",
                "Complete your profile",
                bool(phone and country),
                "Add your phone number and country.",
                reverse("profile"),
            ),
            Step(
                "mfa",
                "Turn on two-factor authentication",
                mfa,
                "Protect your account with an authenticator app.",
                reverse("mfa_index"),
            ),
            Step(
                "training",
                "Finish the required training",
                left == 0,
                f"{left} required item{'s' if left != 1 else ''} left." if left else "",
                reverse("training_library"),
            ),
            Step(
                "customer",
                "Add your first retail customer",
                customer,
                "Keep the people you sell to in your customer list.",
                reverse("customer_new"),
            ),
            Step(
                "order",
                "Place your first order",
                order,
                "For yourself or for a customer.",
                reverse("order_new"),
            ),
            Step(
                "share",
                "Share your referral link",
                shared or enrollee,
                "Copy your link from the share card and send it.",
                reverse("profile"),
            ),
        ]
        checklists[pk] = Checklist(pk, joined_on, onboarding_window_end(joined_on), steps)
    return checklists


def dashboard_checklist(
    distributor: Distributor, *, now: dt.datetime | None = None
) -> Checklist | None:
    """The card's checklist: None after the window (no query) or once every step is done."""
    if not is_in_onboarding_window(distributor.joined_on, now=now):
        return None
    checklist = onboarding_checklists([distributor.pk], now=now).get(distributor.pk)
    return None if checklist is None or checklist.is_complete else checklist


# --- The sponsor's new recruits ---------------------------------------------------------------


def new_recruits(user, *, query: str = "", now: dt.datetime | None = None):
    """The viewer's own enrollees still in their first days, through the access rule."""
    viewer = distributor_for_user(user)
    if viewer is None:
        return Distributor.objects.none()
    since = timezone.localdate(now or timezone.now()) - dt.timedelta(days=onboarding_days() - 1)
    recruits = visible_distributors(user).filter(sponsor_id=viewer.pk, joined_on__gte=since)
    if query:
        recruits = recruits.filter(Q(user__name__icontains=query) | Q(user__email__icontains=query))
    return recruits.select_related("user").order_by("-joined_on", "-id")


# --- Career path ------------------------------------------------------------------------------


@dataclass
class CareerRank:
    number: int
    rank: Rank
    rules: list[str]
    unlocks: list[str]
    standing: list[Requirement]
    is_paid_as: bool
    disclosure: dict | None


@dataclass
class CareerPath:
    plan: Plan | None
    progress: MonthProgress | None
    ranks: list[CareerRank]
    statement: object | None  # compliance.DisclosureStatement
    activity_rule: str = ""


def _percent(rate: int) -> str:
    """A rate (rate units) as "5%", "3.333333%": every decimal it has, none added."""
    return f"{words.percent(rate)}%" if rate else "0%"


def _money(cents: int) -> str:
    return f"{cents_to_decimal(cents):,.2f} {settings.LADDER_CURRENCY}"


def rank_rules(plan: Plan, rank: Rank) -> list[str]:
    """A rank's requirements in plain words."""
    rules = []
    if rank.personal_pv:
        rules.append(
            f"Personal volume: at least {volume_words(rank.personal_pv)} PV of your own orders "
            "(for yourself and your retail customers) in the month."
        )
    if rank.group_volume:
        text = (
            f"Group volume: at least {volume_words(rank.group_volume)} GV in the month, from you "
            "and everyone below you."
        )
        if rank.leg_cap_rate is not None:
            percent = _percent(rank.leg_cap_rate)
            if plan.options.leg_cap_basis == "required":
                cap = leg_cap(plan, rank, rank.group_volume)
                text += (
                    f" Leg cap: at most {percent} of the required GV"
                    f" ({volume_words(cap)} GV) counts "
                    "from any one leg, so the volume must come from several legs."
                )
            else:
                text += (
                    f" Leg cap: at most {percent} of your own GV counts from any one leg, so "
                    "the volume must come from several legs."
                )
        rules.append(text)
    if rank.qualified_legs_count:
        min_name = plan.ranks[rank.qualified_legs_min_rank - 1].name
        count = rank.qualified_legs_count
        rules.append(
            f"Qualified legs: {count} of your direct legs each hold someone paid as {min_name} "
            "or higher that month."
        )
    if rank.personally_enrolled_active:
        count = rank.personally_enrolled_active
        rules.append(
            f"Active people you enrolled: {count} "
            f"{'person' if count == 1 else 'people'} you personally enrolled are active in the "
            "month (they bought or sold their own activity PV)."
        )
    return rules


def rank_unlocks(plan: Plan, rank: Rank) -> list[str]:
    unlocks = []
    if rank.unilevel_levels:
        rates = ", ".join(
            f"level {n}: {_percent(rate)}"
            for n, rate in enumerate(plan.unilevel_rates[: rank.unilevel_levels], start=1)
        )
        unilevel = "level" if rank.unilevel_levels == 1 else "levels"
        unlocks.append(
            f"Unilevel commissions on {rank.unilevel_levels} {unilevel} of product volume "
            f"({rates})."
        )
    if rank.matching_generations:
        rates = ", ".join(
            f"generation {n}: {_percent(rate)}"
            for n, rate in enumerate(plan.matching_rates[: rank.matching_generations], start=1)
        )
        unlocks.append(
            f"Matching bonus on {rank.matching_generations} generation(s) of the people you "
            f"enrolled ({rates})."
        )
    if rank.advancement_bonus:
        unlocks.append(
            f"A one-time advancement bonus of {_money(rank.advancement_bonus)} when you first "
            "reach it."
        )
    return unlocks


def career_path(distributor: Distributor | None, *, now: dt.datetime | None = None) -> CareerPath:
    """Every rank of the plan in force, in plain words, with where the person stands."""
    now = now or timezone.now()
    plan = commission_calendar(now).plan
    statement = published_disclosure()
    by_rank = {}
    if statement is not None:
        by_rank = {row.get("rank"): row for row in statement.figures.get("ranks", [])}
    if plan is None:
        return CareerPath(None, None, [], statement)
    progress = month_progress(distributor, now=now) if distributor else None
    ranks = []
    for number, rank in enumerate(plan.ranks, start=1):
        standing: list[Requirement] = []
        if progress is not None:
            qualified = None
            if rank.qualified_legs_count and progress.is_projection:
                qualified = qualified_leg_count(
                    distributor, progress.projection_run.pk, rank.qualified_legs_min_rank
                )
            standing = rank_requirements(
                plan,
                rank,
                pv=progress.pv,
                gv=progress.gv,
                legs=progress.legs,
                active_enrollees=progress.active_enrollees,
                qualified_legs=qualified,
            )
        ranks.append(
            CareerRank(
                number=number,
                rank=rank,
                rules=rank_rules(plan, rank),
                unlocks=rank_unlocks(plan, rank),
                standing=standing,
                is_paid_as=progress is not None and progress.paid_as_rank == number,
                disclosure=by_rank.get(number),
            )
        )
    activity = (
        f"Every rank needs you to be active: at least {volume_words(plan.activity_personal_pv)} PV "
        "of your own in the month."
        if plan.activity_personal_pv
        else ""
    )
    return CareerPath(plan, progress, ranks, statement, activity)
