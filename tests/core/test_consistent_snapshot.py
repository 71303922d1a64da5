"""``core.bulk.consistent_snapshot``: a check's several reads see one moment, even when another
connection commits between them (PostgreSQL, real connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.db.utils import InternalError, OperationalError

from core.bulk import consistent_snapshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def count_users() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM accounts_user")
        return cursor.fetchone()[0]


def add_user_elsewhere() -> None:
    def work() -> None:
        try:
            UserFactory()
        finally:
            connections.close_all()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_a_write_committed_between_two_reads_is_not_seen_inside_the_snapshot():
    UserFactory()
    with consistent_snapshot():
        before = count_users()
        add_user_elsewhere()
        assert count_users() == before
    assert count_users() == before + 1


def test_without_the_snapshot_the_second_read_sees_it():
    UserFactory()
    before = count_users()
    add_user_elsewhere()
    assert count_users() == before + 1


def test_the_snapshot_refuses_writes():
    with pytest.raises((InternalError, OperationalError)), consistent_snapshot():
        UserFactory()
