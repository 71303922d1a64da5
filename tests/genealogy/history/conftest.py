import datetime as dt

import pytest

from tests.clock import Clock


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Starts on 2026-02-01 12:00 UTC; tests set or advance it."""
    return Clock(monkeypatch, dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC))
