"""Factories for tests: people are created through the same services the product uses."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.client_sessions import log_in_with_mfa  # noqa: F401 - the tests' import
from accounts.models import User
from genealogy.models import COMPANY_TREE_ID, Distributor, DistributorStatus
from genealogy.selectors import prime_downline_sizes
from genealogy.services import (
    create_distributor,
    fold_downline_counts,
    place_pending_distributors,
)

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


def house() -> Distributor:
    """The company's root; transactional tests flush the migration's copy, so recreate it."""
    existing = Distributor.objects.select_related("user").filter(is_house=True).first()
    if existing is not None:
        return existing
    user = User.objects.create(email="house@ladder.invalid", name="House", is_active=False)
    return Distributor.objects.create(
        user=user,
        number=10_000_000,
        referral_code="HOUSE",
        is_house=True,
        lft=1,
        rght=2,
        tree_id=COMPANY_TREE_ID,
        level=0,
        placed_at=timezone.now(),
    )


def make_distributor(
    *,
    sponsor: Distributor | None = None,
    place: bool = True,
    status: str = DistributorStatus.ACTIVE,
    **user_fields,
) -> Distributor:
    user = UserFactory(**user_fields)
    distributor = create_distributor(user=user, sponsor=sponsor or house(), country="US")
    if status != DistributorStatus.ACTIVE:
        Distributor.objects.filter(pk=distributor.pk).update(status=status)
    if place:
        place_pending_distributors()
    return Distributor.objects.select_related("user").get(pk=distributor.pk)


def make_chain(length: int, *, sponsor: Distributor | None = None) -> list[Distributor]:
    """A line of people, each enrolled by the previous one, placed in one batch."""
    people = []
    current = sponsor or house()
    for _ in range(length):
        current = make_distributor(sponsor=current, place=False)
        people.append(current)
    place_pending_distributors()
    return [Distributor.objects.select_related("user").get(pk=p.pk) for p in people]


def stored_numbering() -> dict[int, tuple[int | None, int, int, int]]:
    """id -> (parent_id, lft, rght, level) of every placed distributor, as stored."""
    return {
        row[0]: row[1:]
        for row in Distributor.objects.filter(placed_at__isnull=False).values_list(
            "id", "parent_id", "lft", "rght", "level"
        )
    }


def dense_numbering() -> dict[int, tuple[int | None, int, int, int]]:
    """`stored_numbering` with the gapped labels replaced by their ranks 1..2n: the nesting
    and the order of siblings, whatever the gaps."""
    stored = stored_numbering()
    labels = sorted(v for _, lft, rght, _ in stored.values() for v in (lft, rght))
    rank = {value: index + 1 for index, value in enumerate(labels)}
    return {
        node: (parent, rank[lft], rank[rght], level)
        for node, (parent, lft, rght, level) in stored.items()
    }


def numbering_from_sponsor_links() -> dict[int, tuple[int | None, int, int, int]]:
    """id -> (parent_id, lft, rght, level) that `number_tree` derives from the sponsor links,
    siblings in their stored order (placement order)."""
    import numpy as np

    from genealogy.numbering import number_tree

    rows = list(
        Distributor.objects.filter(placed_at__isnull=False).values_list("id", "sponsor_id", "lft")
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    sponsors = np.array([-1 if r[1] is None else r[1] for r in rows], dtype=np.int64)
    numbering = number_tree(ids, sponsors, order_key=np.array([r[2] for r in rows]))
    return {
        node: (None if parent < 0 else parent, lft, rght, level)
        for node, parent, lft, rght, level in zip(
            numbering.ids.tolist(),
            numbering.parent_ids.tolist(),
            numbering.lft.tolist(),
            numbering.rght.tolist(),
            numbering.level.tolist(),
            strict=True,
        )
    }


def assert_tree_matches_sponsor_links() -> None:
    """The placed tree nests exactly as the sponsor links say (labels ranked, siblings in
    their stored order), levels and stored downline counts included."""
    assert dense_numbering() == numbering_from_sponsor_links()
    expected = {
        node: (rght - lft - 1) // 2 for node, (_, lft, rght, _) in dense_numbering().items()
    }
    people = list(Distributor.objects.filter(placed_at__isnull=False))
    prime_downline_sizes(people)
    assert {person.id: person.downline_size for person in people} == expected  # rows waiting
    fold_downline_counts()
    stored = dict(
        Distributor.objects.filter(placed_at__isnull=False).values_list("id", "descendants")
    )
    assert stored == expected


# --- Orders (catalog, customers, orders) ----------------------------------------------------------

from decimal import Decimal  # noqa: E402


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Product"

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n:04d}")
    kind = "product"
    wholesale_price = Decimal("20.00")
    retail_price = Decimal("30.00")
    pv = Decimal("15.00")
    cv = Decimal("12.50")
    is_active = True


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "orders.Customer"

    distributor = factory.LazyFunction(make_distributor)
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.net")


def make_order(
    *,
    distributor: Distributor,
    items: dict,
    customer=None,
    paid_at=None,
    placed_at=None,
):
    """Place (and pay, when `paid_at` is given) an order through the services.

    `items` maps a Product to a quantity.
    """
    from orders.models import OrderPurpose
    from orders.services import order_pay, order_place

    order = order_place(
        distributor=distributor,
        items={product.pk: quantity for product, quantity in items.items()},
        purpose=OrderPurpose.RETAIL if customer else OrderPurpose.PERSONAL,
        customer=customer,
        now=placed_at or paid_at,
    )
    if paid_at is not None:
        order = order_pay(order=order, provider="test", now=paid_at)
    return order


# --- Commissions (plan versions, purchases in a period) -------------------------------------------

COMMISSION_TEST_PLAN: dict = {
    "name": "Test plan",
    "currency": "USD",
    "activity": {"personal_pv": "100"},
    "ranks": [{"code": "member", "name": "Member", "personal_pv": "100", "unilevel_levels": 3}],
    "unilevel": {"percents": ["5", "5", "10"]},
    "options": {"compression": "dynamic"},
}


def make_plan_version(document: dict | None = None, *, effective_from=None, **options):
    """A stored plan version (default: three unilevel levels 5/5/10 %, dynamic compression)."""
    import copy
    import datetime as dt
    import json

    from commissions.services.plans import plan_version_create

    doc = copy.deepcopy(document or COMMISSION_TEST_PLAN)
    if options:
        doc["options"] = {**doc.get("options", {}), **options}
    return plan_version_create(
        source=json.dumps(doc), effective_from=effective_from or dt.date(2020, 1, 1)
    )


def buy(distributor: Distributor, volume: str, *, paid_at, customer=None, profit: str = "0"):
    """A paid order of one product worth `volume` PV and CV (retail margin `profit`)."""
    volume_decimal = Decimal(volume)
    product = ProductFactory(
        pv=volume_decimal,
        cv=volume_decimal,
        wholesale_price=volume_decimal,
        retail_price=volume_decimal + Decimal(profit),
    )
    return make_order(
        distributor=distributor, items={product: 1}, customer=customer, paid_at=paid_at
    )


# --- Compliance and disclosure (hand-built closed periods) ----------------------------------------


def closed_period_with_results(month, results: dict, *, plan_version=None, status: str = "closed"):
    """A period of `month` (a date, first day) whose current run holds `results`.

    `results` maps a Distributor to (period_total cents, paid_as_rank, highest_rank). Written
    directly (no engine run): for statistics over the ledger, not for commission rules.
    """
    from commissions.models import CommissionPeriod, CommissionRun, DistributorResult

    period = CommissionPeriod.objects.create(month=month)
    run = CommissionRun.objects.create(period=period, status="succeeded", plan_version=plan_version)
    DistributorResult.objects.bulk_create(
        [
            DistributorResult(
                run=run,
                distributor_id=person.pk,
                sponsor_id=person.sponsor_id,
                parent_id=person.parent_id,
                status=0,
                pv=0,
                cv=0,
                gv=0,
                counted_gv=0,
                is_active=paid_as > 0,
                paid_as_rank=paid_as,
                highest_rank=highest,
                advancement_paid_rank=0,
                carried_in=0,
                period_total=total,
                balance=total,
                payable=total,
                carried_out=0,
                on_hold=False,
            )
            for person, (total, paid_as, highest) in results.items()
        ]
    )
    period.current_run = run
    period.status = status
    period.closed_at = timezone.now() if status in ("closed", "paid") else None
    period.save()
    return period


# --- Training (library items) -----------------------------------------------------------------


class TrainingItemFactory(factory.django.DjangoModelFactory):
    """A published article for everyone (set kind, category, min_rank_code, is_required)."""

    class Meta:
        model = "training.TrainingItem"

    title = factory.Sequence(lambda n: f"Lesson {n:03d}")
    summary = "What you will learn."
    category = "product"
    kind = "article"
    body = "# Hello\n\nSome *text*."
    is_published = True
