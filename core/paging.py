"""Paging over tables of millions of rows."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

ESTIMATE_ABOVE = 100_000


class LargeTablePaginator(Paginator):
    """Counts a filtered list exactly; an unfiltered list of a big PostgreSQL table shows the
    planner's row estimate instead of counting every row on every page (seconds at 10M rows).
    Small tables, and tables the planner has not analyzed, are counted."""

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return super().count
