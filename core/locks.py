"""PostgreSQL session advisory locks, tried and never waited for."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def try_advisory_lock(lock_class: int, key: int) -> Iterator[bool]:
    """Try the session advisory lock (``lock_class``, ``key``), both 32-bit; yield whether it
    was granted and release it after the block. It goes with the connection, so a killed
    worker's lock is free again. Other databases have none: always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [lock_class, key])
        granted = cursor.fetchone()[0]
    try:
        yield granted
    finally:
        if granted:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [lock_class, key])
