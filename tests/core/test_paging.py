"""Admin paging over big tables: the planner's estimate unfiltered, an exact count filtered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import paging
from genealogy.models import Distributor
from tests.factories import make_distributor


@pytest.mark.django_db
def test_unfiltered_big_tables_use_the_estimate_and_filtered_lists_are_counted(monkeypatch):
    for _ in range(3):
        make_distributor()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE genealogy_distributor")
    everyone = Distributor.objects.order_by("-id")

    with CaptureQueriesContext(connection) as small:
        assert paging.LargeTablePaginator(everyone, 100).count == everyone.count()
    assert "COUNT(" in small.captured_queries[-1]["sql"]  # small tables are counted

    monkeypatch.setattr(paging, "ESTIMATE_ABOVE", 0)
    with CaptureQueriesContext(connection) as big:
        estimated = paging.LargeTablePaginator(everyone, 100).count
    assert estimated == 4  # three people and the house, as ANALYZE saw them
    assert not any("COUNT(" in q["sql"] for q in big.captured_queries)

    filtered = everyone.filter(is_house=False)
    with CaptureQueriesContext(connection) as exact:
        assert paging.LargeTablePaginator(filtered, 100).count == 3
    assert "COUNT(" in exact.captured_queries[-1]["sql"]
