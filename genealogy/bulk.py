"""Bulk row writing: PostgreSQL COPY when available, batched bulk inserts elsewhere."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import numpy as np
from django.db import connection, models


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def write_rows(
    model: type[models.Model],
    columns: Sequence[str],
    data: dict[str, np.ndarray | list],
    *,
    batch_size: int = 5_000,
) -> int:
    """Insert the columns of `data` (equal-length arrays) into `model`'s table."""
    length = len(data[columns[0]])
    if length == 0:
        return 0
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            column_list = ", ".join(connection.ops.quote_name(c) for c in columns)
            with cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy:
                for start in range(0, length, 100_000):
                    buffer = io.StringIO()
                    chunk = [_as_list(data[c][start : start + 100_000]) for c in columns]
                    for row in zip(*chunk, strict=True):
                        buffer.write("\t".join(map(_text, row)))
                        buffer.write("\n")
                    copy.write(buffer.getvalue())
        return length
    fields = {f.attname: f for f in model._meta.concrete_fields}
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})"  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, length, batch_size):
            chunk = [
                [
                    None
                    if v is None
                    else fields[c].get_db_prep_save(fields[c].to_python(v), connection)
                    for v in _as_list(data[c][start : start + batch_size])
                ]
                for c in columns
            ]
            cursor.executemany(sql, list(zip(*chunk, strict=True)))
    return length


def _as_list(values) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def reset_sequence(model: type[models.Model]) -> None:
    """After inserting explicit ids, move the id sequence past them (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def next_ids(model: type[models.Model], count: int) -> np.ndarray:
    """Reserve `count` ids above the current maximum (callers hold the data to themselves)."""
    current = model.objects.aggregate(m=models.Max("id"))["m"] or 0
    return np.arange(current + 1, current + 1 + count, dtype=np.int64)


def analyze_tables(*models_to_analyze: type[models.Model]) -> None:
    """Refresh planner statistics after a bulk load (PostgreSQL), so queries use the indexes."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_to_analyze:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
