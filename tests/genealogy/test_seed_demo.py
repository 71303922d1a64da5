import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from genealogy.demo import DEMO_LOGINS, build_sponsor_links
from genealogy.models import Distributor
from genealogy.numbering import number_tree

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_placed_company_with_demo_logins(capsys):
    call_command("seed_demo", distributors=300, seed=7, commission_months=0)
    rows = list(
        Distributor.objects.order_by("id").values_list("id", "sponsor_id", "lft", "rght", "level")
    )
    assert len(rows) == 301
    ids = np.array([r[0] for r in rows])
    sponsors = np.array([-1 if r[1] is None else r[1] for r in rows])
    expected = number_tree(ids, sponsors)
    assert [r[2] for r in rows] == expected.lft.tolist()
    assert [r[3] for r in rows] == expected.rght.tolist()
    assert [r[4] for r in rows] == expected.level.tolist()
    for email in DEMO_LOGINS.values():
        assert User.objects.get(email=email).emailaddress_set.get().verified
    assert "staff@ladder.example" in capsys.readouterr().out


def test_seed_demo_refuses_a_company_that_has_people():
    call_command("seed_demo", distributors=20, commission_months=0)
    with pytest.raises(CommandError, match="already has distributors"):
        call_command("seed_demo", distributors=20)
    call_command("seed_demo", distributors=20, if_empty=True)
    assert Distributor.objects.count() == 21


def test_demo_tree_is_deterministic_and_has_a_heavy_tail():
    first = build_sponsor_links(50_000, np.random.default_rng(3))
    second = build_sponsor_links(50_000, np.random.default_rng(3))
    assert np.array_equal(first, second)
    recruits = np.bincount(first, minlength=50_001)[1:]
    assert (recruits == 0).mean() > 0.5  # most people enroll nobody
    assert recruits.max() >= 50  # a few enroll many
    assert (first < np.arange(1, 50_001)).all()  # sponsors joined before their enrollees


@pytest.mark.django_db(transaction=True)
def test_seed_demo_closes_and_pays_past_months_of_commissions():
    from commissions.models import CommissionPeriod
    from orders.models import OrderLine
    from tests.factories import house

    house()
    call_command("seed_demo", distributors=60, order_months=3, commission_months=2)
    assert OrderLine.objects.exists()
    paid = CommissionPeriod.objects.filter(status="paid")
    assert paid.count() == 2
