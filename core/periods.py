"""Periods and the company's calendar: a period is a calendar month in the company's time zone.

The company's time zone is `settings.TIME_ZONE`. Every month step goes through
`dateutil.relativedelta` (never `timedelta(days=32)` or `days=335`), so month ends, leap days
and daylight-saving changes need no special case. This module imports no project app: the
genealogy, orders and commissions all count months the same way.

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

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone


def company_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def month_start(day: dt.date) -> dt.date:
    """The first day of the month ``day`` falls in."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months, the day clamped to the month's length."""
    return day + relativedelta(months=months)


def last_month_starts(day: dt.date, count: int) -> list[dt.date]:
    """The first days of the ``count`` months ending with the month of ``day``, oldest first."""
    if count < 1:
        raise ValueError(f"a window has at least one month, not {count}")
    last = month_start(day)
    return [last - relativedelta(months=back) for back in range(count - 1, -1, -1)]


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same local wall-clock time ``months`` calendar months earlier (day clamped)."""
    local = moment.astimezone(company_zone())
    return local - relativedelta(months=months)


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
    def of(cls, day: dt.date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        match = re.fullmatch(r"\s*([0-9]{4})-([0-9]{1,2})\s*", text or "")
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
        return self.first_day + relativedelta(day=31)

    def shifted(self, months: int) -> Period:
        """The period ``months`` calendar months later (earlier when negative)."""
        return Period.of(add_months(self.first_day, months))

    def next(self) -> Period:
        return self.shifted(1)

    def previous(self) -> Period:
        return self.shifted(-1)

    def last(self, count: int) -> list[Period]:
        """The ``count`` periods ending with this one, oldest first."""
        return [Period.of(day) for day in last_month_starts(self.first_day, count)]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return self.first_day.strftime("%B %Y")


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, order=True)
class Week:
    """A pay week: seven calendar days from ``first_day`` (a ``week_starts`` weekday, 0 =
    Monday), midnight to midnight on the company's wall clock, so a week with a daylight-saving
    change is 167 or 169 hours long. Weeks run across month and year ends; day steps go through
    ``dateutil.relativedelta``. Same interface as ``Period`` where a schedule needs it."""

    first_day: dt.date

    @classmethod
    def starting(cls, day: dt.date, week_starts: int = 0) -> Week:
        """The week (starting on weekday ``week_starts``) that ``day`` falls in."""
        if not 0 <= week_starts <= 6:
            raise ValueError(f"week_starts is a weekday number 0..6, not {week_starts}")
        back = (day.weekday() - week_starts) % 7
        return cls(day - relativedelta(days=back))

    @classmethod
    def containing(cls, moment: dt.datetime, week_starts: int = 0) -> Week:
        return cls.starting(moment.astimezone(company_zone()).date(), week_starts)

    @classmethod
    def current(cls, now: dt.datetime | None = None, week_starts: int = 0) -> Week:
        return cls.containing(now or timezone.now(), week_starts)

    @classmethod
    def parse(cls, text: str, week_starts: int = 0) -> Week:
        """A week written as its first day, ``YYYY-MM-DD`` (which must be a ``week_starts``)."""
        try:
            day = dt.date.fromisoformat((text or "").strip())
        except ValueError:
            raise ValueError(
                f"a week is written as its first day YYYY-MM-DD, not {text!r}"
            ) from None
        if day.weekday() != week_starts:
            raise ValueError(
                f"{day} is a {WEEKDAY_NAMES[day.weekday()]}: pay weeks start on a "
                f"{WEEKDAY_NAMES[week_starts]}"
            )
        return cls(day)

    @property
    def week_starts(self) -> int:
        return self.first_day.weekday()

    @property
    def last_day(self) -> dt.date:
        return self.first_day + relativedelta(days=6)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time(), tzinfo=company_zone())

    @property
    def end(self) -> dt.datetime:
        return self.next().start

    def shifted(self, weeks: int) -> Week:
        return Week(self.first_day + relativedelta(weeks=weeks))

    def next(self) -> Week:
        return self.shifted(1)

    def previous(self) -> Week:
        return self.shifted(-1)

    def last(self, count: int) -> list[Week]:
        """The ``count`` weeks ending with this one, oldest first."""
        if count < 1:
            raise ValueError(f"a window has at least one week, not {count}")
        return [self.shifted(-back) for back in range(count - 1, -1, -1)]

    def __str__(self) -> str:
        return f"week of {self.first_day.isoformat()}"

    @property
    def label(self) -> str:
        last = self.last_day
        if last.year != self.first_day.year:
            return f"{self.first_day:%-d %b %Y} – {last:%-d %b %Y}"
        if last.month != self.first_day.month:
            return f"{self.first_day:%-d %b} – {last:%-d %b %Y}"
        return f"{self.first_day:%-d} – {last:%-d %b %Y}"
