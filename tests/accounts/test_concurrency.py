from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from genealogy.members import complete_enrollment, record_enrollment
from genealogy.models import Distributor
from tests.factories import UserFactory, make_distributor

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_signups_under_one_sponsor_all_succeed_with_unique_ids():
    sponsor = make_distributor()

    def sign_up(index: int) -> int:
        try:
            user = UserFactory(email=f"concurrent{index}@example.com")
            record_enrollment(user=user, name=f"Person {index}", sponsor=sponsor, country="US")
            return complete_enrollment(user=user).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        created = list(pool.map(sign_up, range(50)))

    assert len(set(created)) == 50
    enrolled = Distributor.objects.filter(sponsor=sponsor)
    assert enrolled.count() == 50
    assert len(set(enrolled.values_list("number", flat=True))) == 50
    assert len(set(enrolled.values_list("referral_code", flat=True))) == 50
