"""Periods: a period is a calendar month in the company's time zone (`settings.TIME_ZONE`).

Volume counts in the period of the moment money moved: `paid_at` for an order line,
`refunded_at` for a refund line. `Period.start` and `Period.end` are aware datetimes (the end is
exclusive), so a query `start <= paid_at < end` picks exactly the period's rows whatever the
database's time zone.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone


def company_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1900 <= self.year <= 9999:
            raise ValueError(f"no such period: {self.year}-{self.month}")

    @classmethod
    def containing(cls, moment: dt.datetime) -> Period:
        """The period an aware moment falls in, read in the company's time zone."""
        local = moment.astimezone(company_zone())
        return cls(local.year, local.month)

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> Period:
        return cls.containing(now or timezone.now())

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
        if not match:
            raise ValueError(f"a period is written YYYY-MM, not {text!r}")
        return cls(int(match[1]), int(match[2]))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=company_zone())

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return self.end.date() - dt.timedelta(days=1)

    def next(self) -> Period:
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Period:
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return self.first_day.strftime("%B %Y")
