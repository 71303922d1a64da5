"""Bulk I/O with PostgreSQL, for every app that moves millions of rows.

Two ways, both falling back to batched ORM work on other databases (SQLite in ``make run``):

* text COPY of rows of any model (``write_rows``): dates, strings and NULLs, as the demo
  company, imports and message deliveries need;
* binary COPY straight from and into numpy arrays (``copy_columns``, ``read_columns``): a
  commission run reads and writes millions of fixed-width integer rows, and formatting them as
  text row by row costs seconds per million, where the binary format is a fixed layout per row
  (a field count, then a length and a big-endian value per field) that numpy builds and parses
  in one vectorized step. Only integer and boolean columns (money is int64 cents).

Plus the sequence and statistics upkeep that goes with bulk writes, and one snapshot for a check
that reads a large table in several statements (``consistent_snapshot``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from django.db import connection, models, transaction

T = TypeVar("T")


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


def vacuum_and_analyze(*models_to_analyze: type[models.Model]) -> None:
    """Refresh planner statistics after a bulk load (PostgreSQL), so queries use the indexes;
    outside a transaction also VACUUM, so rows a bulk rewrite left behind are reused rather
    than scanned (what autovacuum does, when it is on)."""
    if connection.vendor != "postgresql":
        return
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for model in models_to_analyze:
            cursor.execute(f"{command} {model._meta.db_table}")


def autovacuum_is_off() -> bool:
    """PostgreSQL's autovacuum is off: big rewrites (placement, moves) then leave dead rows
    that every later scan reads, until someone vacuums."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "off"


# --- Binary COPY of numpy columns ----------------------------------------------------------------

# numpy dtype of each supported PostgreSQL column type, big-endian as COPY BINARY wants.
_PG_TYPES: dict[str, str] = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "bool": "?"}
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _pg_type(array: np.ndarray) -> str:
    if array.dtype == np.bool_:
        return "bool"
    return {2: "int2", 4: "int4", 8: "int8"}[array.dtype.itemsize]


# Rows filled per block: a block (a few MB) stays in the CPU cache while each of its fields is
# written, where a pass per field over the whole array would stream it through memory once per
# column (seconds at a million rows of twenty columns).
_FILL_ROWS = 1 << 14


def binary_copy_payload(columns: Sequence[np.ndarray], nulls: Sequence[np.ndarray | None]) -> bytes:
    """The COPY BINARY bytes for equal-length integer/bool columns (``nulls`` marks NULLs)."""
    length = len(columns[0])
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for index, column in enumerate(columns):
        fields += [(f"len{index}", ">i4"), (f"v{index}", _PG_TYPES[_pg_type(column)])]
    rows = np.empty(length, dtype=np.dtype(fields))
    template = np.zeros((), dtype=rows.dtype)
    template["count"] = len(columns)
    for index, column in enumerate(columns):
        template[f"len{index}"] = 1 if column.dtype == np.bool_ else column.dtype.itemsize
    with_nulls = [index for index, null in enumerate(nulls) if null is not None and null.any()]
    for start in range(0, length, _FILL_ROWS):
        stop = start + _FILL_ROWS
        block = rows[start:stop]
        block[...] = template
        for index, column in enumerate(columns):
            block[f"v{index}"] = column[start:stop]
        for index in with_nulls:
            # A NULL is a length of -1 and no value bytes: such rows are rebuilt below.
            block[f"len{index}"][nulls[index][start:stop]] = -1
    if not with_nulls:
        return b"".join([_HEADER, memoryview(rows.view(np.uint8)), _TRAILER])
    return b"".join([_HEADER, *_with_nulls(rows, nulls), _TRAILER])


def _with_nulls(
    rows: np.ndarray, nulls: Sequence[np.ndarray | None], *, chunk_rows: int = 1 << 16
) -> list:
    """The row bytes, in pieces, where NULL fields drop their value bytes: a byte mask over the
    fixed layout, built a chunk of rows at a time and only for chunks that hold a NULL (the
    others are their fixed-layout bytes as they are), so a column with one NULL costs one
    small chunk."""
    width = rows.dtype.itemsize
    raw = rows.view(np.uint8).reshape(len(rows), width)
    holes = []  # (offset, size, null mask) of each field that has NULLs
    for index, null in enumerate(nulls):
        if null is not None and null.any():
            field, offset = rows.dtype.fields[f"v{index}"][:2]
            holes.append((offset, field.itemsize, null))
    has_null = np.zeros(len(rows), dtype=bool)
    for _, _, null in holes:
        has_null |= null
    pieces = []
    for start in range(0, len(rows), chunk_rows):
        stop = min(start + chunk_rows, len(rows))
        if not has_null[start:stop].any():
            pieces.append(memoryview(raw[start:stop]).cast("B"))
            continue
        keep = np.ones((stop - start, width), dtype=bool)
        for offset, size, null in holes:
            keep[null[start:stop], offset : offset + size] = False
        pieces.append(raw[start:stop][keep].tobytes())
    return pieces


def beside(work: Callable[[], T]) -> Callable[[], T]:
    """Start ``work`` (reads or COPYs that need no transaction) on a database connection of its
    own, in a thread, so that PostgreSQL does it on another core while the caller goes on;
    returns a function that waits for it and gives its result (or raises its error).

    Inside a transaction, or on another database, ``work`` runs at once in the caller's
    connection (a second connection would not see the transaction's rows; SQLite has one
    writer).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        result = work()
        return lambda: result

    def in_own_connection() -> T:
        try:
            return work()
        finally:
            connection.close()  # this thread's connection

    executor = ThreadPoolExecutor(max_workers=1)
    future: Future[T] = executor.submit(in_own_connection)
    executor.shutdown(wait=False)
    return future.result


def copy_columns(
    model: type[models.Model],
    data: dict[str, np.ndarray],
    *,
    nulls: dict[str, np.ndarray] | None = None,
    chunk_rows: int = 1_000_000,
) -> int:
    """Insert equal-length numpy columns into ``model``'s table; returns the row count.

    ``data`` maps column names (attnames, e.g. ``run_id``) to integer or boolean arrays whose
    dtype matches the column (int16 → smallint, int32 → integer, int64 → bigint). ``nulls``
    optionally maps a column to a boolean mask of NULL values.
    """
    nulls = nulls or {}
    names = list(data)
    length = len(data[names[0]]) if names else 0
    if length == 0:
        return 0
    if connection.vendor != "postgresql":
        return _insert_with_orm(model, data, nulls)
    table = connection.ops.quote_name(model._meta.db_table)
    column_list = ", ".join(connection.ops.quote_name(name) for name in names)
    statement = f"COPY {table} ({column_list}) FROM STDIN (FORMAT binary)"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, length, chunk_rows):
            stop = start + chunk_rows
            payload = binary_copy_payload(
                [np.ascontiguousarray(data[name][start:stop]) for name in names],
                [None if name not in nulls else nulls[name][start:stop] for name in names],
            )
            # One COPY stream: the header only at its start, the trailer only at its end.
            view = memoryview(payload)
            if start > 0:
                view = view[len(_HEADER) :]
            if stop < length:
                view = view[: -len(_TRAILER)]
            copy.write(view)
    return length


def _insert_with_orm(
    model: type[models.Model], data: dict[str, np.ndarray], nulls: dict[str, np.ndarray]
) -> int:
    names = list(data)
    lists = {name: data[name].tolist() for name in names}
    null_lists = {name: nulls[name].tolist() for name in nulls}
    length = len(lists[names[0]])
    objects = []
    for i in range(length):
        values = {
            name: (None if name in null_lists and null_lists[name][i] else lists[name][i])
            for name in names
        }
        objects.append(model(**values))
    model.objects.bulk_create(objects, batch_size=2_000)
    return length


def read_columns(sql: str, params: dict | Sequence, types: Sequence[str]) -> list[np.ndarray]:
    """Run ``sql`` and return its columns as numpy arrays (NULL read as -1).

    ``types`` names each column's PostgreSQL type (``int2``, ``int4``, ``int8``, ``bool``); the
    query must ``CAST`` its columns to exactly those types and ``COALESCE`` NULLs away. Other
    databases run the query through the cursor (fine for the small data sets they hold).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [
            np.array(
                [(-1 if row[i] is None else row[i]) for row in rows],
                dtype=np.bool_ if kind == "bool" else np.int64,
            )
            for i, kind in enumerate(types)
        ]
    chunks = []
    with connection.cursor() as cursor:
        statement = cursor.mogrify(sql, params)
        if isinstance(statement, bytes):
            statement = statement.decode()
        with cursor.copy(f"COPY ({statement}) TO STDOUT (FORMAT binary)") as copy:
            for data in copy:
                chunks.append(bytes(data))
    raw = b"".join(chunks)
    header = 11 + 4 + 4 + int.from_bytes(raw[15:19], "big")
    body = raw[header:-2]
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for index, kind in enumerate(types):
        fields += [(f"len{index}", ">i4"), (f"v{index}", _PG_TYPES[kind])]
    dtype = np.dtype(fields)
    if len(body) % dtype.itemsize:
        raise RuntimeError("COPY returned NULLs or unexpected column types; cast and COALESCE")
    rows = np.frombuffer(body, dtype=dtype)
    return [
        rows[f"v{index}"].astype(np.bool_ if kind == "bool" else np.int64)
        for index, kind in enumerate(types)
    ]


@contextlib.contextmanager
def consistent_snapshot() -> Iterator[None]:
    """Run the block's reads in one read-only snapshot (PostgreSQL REPEATABLE READ), so a check
    that reads a table and then rows that refer to it (a tree, then its waiting count rows)
    never sees a write that committed between the two. Inside an open transaction (a test, a
    caller's own atomic block) the caller's transaction is used as it is. SQLite's transactions
    are serializable already."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        with transaction.atomic():
            yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield
