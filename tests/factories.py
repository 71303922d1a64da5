"""Factories for tests: people are created through the same services the product uses."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from genealogy.models import COMPANY_TREE_ID, Distributor, DistributorStatus
from genealogy.services import create_distributor, place_pending_distributors

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
