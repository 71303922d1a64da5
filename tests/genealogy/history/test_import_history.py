"""An imported company is in the tree from the day each person joined, so its past months
include them."""

import datetime as dt
import io

import numpy as np
import pytest

from core.periods import company_zone
from genealogy.history import tree_as_of
from genealogy.imports import import_genealogy
from genealogy.models import Distributor, TreeChange, TreeChangeKind
from tests.factories import house

pytestmark = pytest.mark.django_db

FILE = (
    "number,sponsor_number,name,email,joined,status\n"
    "50000001,,Early Bird,early@example.org,2025-01-10,active\n"
    "50000002,50000001,Later Bird,later@example.org,2025-03-02,active\n"
)


def test_imported_people_are_in_the_tree_from_the_start_of_their_joining_day():
    house()
    assert import_genealogy(io.StringIO(FILE)).is_valid
    early = Distributor.objects.get(number=50000001)
    later = Distributor.objects.get(number=50000002)
    change = TreeChange.objects.get(distributor=later, kind=TreeChangeKind.IMPORT)
    assert change.effective_at == dt.datetime(2025, 3, 2, tzinfo=company_zone())
    assert change.new_parent_id == early.pk and change.old_parent_id is None
    # As of February 2025 the early bird is there under the house, the later one not yet
    february = tree_as_of("sponsor", dt.datetime(2025, 3, 1, tzinfo=company_zone()))
    index = np.searchsorted(february.ids, [early.pk, later.pk])
    assert february.present[index].tolist() == [True, False]
    assert february.parent_ids[index[0]] == house().pk
    march = tree_as_of("sponsor", dt.datetime(2025, 3, 2, 0, 1, tzinfo=company_zone()))
    assert march.parent_ids[np.searchsorted(march.ids, later.pk)] == early.pk
