"""An injected clock for tests at month ends: ``django.utils.timezone.now`` (read at call time
by the services, ``timezone.localdate`` and ``Period.current``) returns the clock's moment."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


class Clock:
    def __init__(self, monkeypatch, moment: dt.datetime) -> None:
        self.moment = moment
        monkeypatch.setattr(timezone, "now", lambda: self.moment)

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.moment = moment
        return moment

    def advance(self, **delta: float) -> dt.datetime:
        self.moment += dt.timedelta(**delta)
        return self.moment
