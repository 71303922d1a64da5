import datetime as dt

import numpy as np
import pytest

from genealogy.history import HistoryError, record_change, record_changes
from genealogy.models import TreeChange, TreeChangeKind, TreeKind
from tests.factories import house, make_distributor

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 3, 31, 22, 0, 0, 123456, tzinfo=dt.UTC)


def test_record_change_writes_one_row_with_its_effective_moment():
    a, b = make_distributor(), make_distributor()
    change = record_change(
        kind=TreeChangeKind.MOVE,
        distributor_id=a.pk,
        old_parent_id=house().pk,
        new_parent_id=b.pk,
        effective_at=MOMENT,
        reason="  asked for  ",
    )
    change.refresh_from_db()
    assert change.effective_at == MOMENT
    assert change.reason == "asked for"
    assert change.at > MOMENT


def test_record_change_refuses_an_empty_reason_and_unknown_kind():
    a = make_distributor()
    with pytest.raises(HistoryError):
        record_change(kind="move", distributor_id=a.pk, new_parent_id=None, reason=" ")
    with pytest.raises(HistoryError):
        record_change(kind="jump", distributor_id=a.pk, new_parent_id=None, reason="x")


@pytest.mark.parametrize("as_dicts", [False, True])
def test_record_changes_writes_columns_with_nulls_and_positions(as_dicts):
    people = [make_distributor() for _ in range(3)]
    ids = np.array([p.pk for p in people], dtype=np.int64)
    parents = np.array([house().pk, -1, people[0].pk], dtype=np.int64)
    positions = np.array([0, -1, 1], dtype=np.int64)
    moments = [MOMENT, MOMENT + dt.timedelta(seconds=1), MOMENT + dt.timedelta(days=1)]
    before = TreeChange.objects.count()
    if as_dicts:
        rows = [
            {
                "distributor_id": int(i),
                "new_parent_id": None if p < 0 else int(p),
                "new_position": None if q < 0 else int(q),
                "effective_at": m,
                "tree": TreeKind.PLACEMENT,
                "kind": TreeChangeKind.PLACEMENT,
                "reason": "placed",
            }
            for i, p, q, m in zip(ids, parents, positions, moments, strict=True)
        ]
    else:
        rows = {
            "distributor_id": ids,
            "new_parent_id": parents,
            "new_position": positions,
            "effective_at": moments,
            "tree": TreeKind.PLACEMENT,
            "kind": TreeChangeKind.PLACEMENT,
            "reason": "placed",
        }
    assert record_changes(rows) == 3
    assert TreeChange.objects.count() == before + 3
    written = {
        c.distributor_id: c
        for c in TreeChange.objects.filter(tree=TreeKind.PLACEMENT, kind="placement")
    }
    assert written[people[0].pk].new_parent_id == house().pk
    assert written[people[0].pk].new_position == 0
    assert written[people[0].pk].effective_at == MOMENT
    assert written[people[1].pk].new_parent_id is None
    assert written[people[1].pk].new_position is None
    assert written[people[1].pk].old_parent_id is None
    assert written[people[2].pk].effective_at == moments[2]
    assert written[people[2].pk].new_position == 1


def test_record_changes_refuses_mismatched_lengths_and_missing_reason():
    a = make_distributor()
    with pytest.raises(HistoryError):
        record_changes(
            {"distributor_id": [a.pk], "new_parent_id": [1, 2], "kind": "move", "reason": "x"}
        )
    with pytest.raises(HistoryError):
        record_changes({"distributor_id": [a.pk], "kind": "move"})


def test_record_changes_of_nothing_writes_nothing():
    before = TreeChange.objects.count()
    assert record_changes({"distributor_id": []}) == 0
    assert TreeChange.objects.count() == before
