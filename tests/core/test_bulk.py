"""``core.bulk``: the binary COPY payload round-trips through PostgreSQL (NULLs where asked,
whatever chunk they fall in), and ``beside`` runs work on a connection of its own outside a
transaction, in the caller's inside one."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection, transaction

from core import bulk
from core.bulk import beside, read_columns

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_payload_carries_nulls_in_any_chunk_through_copy(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("binary COPY is PostgreSQL's")
    monkeypatch.setattr(bulk, "_FILL_ROWS", 7)  # blocks and chunks far smaller than the data
    n = 50
    small = np.arange(n, dtype=np.int16) - 20
    big = np.arange(n, dtype=np.int64) * 10**12
    flag = np.arange(n) % 3 == 0
    null = np.zeros(n, dtype=bool)
    null[[0, 9, 10, 49]] = True
    payload = bulk.binary_copy_payload([small, big, flag], [None, null, None])
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE payload_check (a smallint, b bigint, c boolean)")
        with cursor.copy("COPY payload_check (a, b, c) FROM STDIN (FORMAT binary)") as copy:
            copy.write(payload)
        cursor.execute("SELECT a, b, c FROM payload_check ORDER BY a")
        rows = cursor.fetchall()
        cursor.execute("DROP TABLE payload_check")
    assert rows == [
        (int(a), None if missing else int(b), bool(c))
        for a, b, c, missing in zip(small, big, flag, null, strict=True)
    ]


def test_beside_runs_on_its_own_connection_and_hands_back_the_result_or_the_error():
    if connection.vendor != "postgresql":
        pytest.skip("one connection on other databases")
    mine = backend_pid()
    assert beside(backend_pid)() != mine
    columns = beside(lambda: read_columns("SELECT CAST(41 + 1 AS bigint)", {}, ["int8"]))()
    assert columns[0].tolist() == [42]

    def fails() -> None:
        raise ValueError("the work's own error")

    wait = beside(fails)
    with pytest.raises(ValueError, match="the work's own error"):
        wait()


def test_inside_a_transaction_beside_runs_at_once_in_the_callers_connection():
    with transaction.atomic():
        mine = backend_pid()
        assert beside(backend_pid)() == mine
