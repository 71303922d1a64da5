"""The period a commissions command names: a month ``YYYY-MM``, or a pay week by its first day
``YYYY-MM-DD`` (when the plan pays some kinds weekly)."""

from __future__ import annotations

import datetime as dt
import re

from django.core.management.base import CommandError

from core.periods import Period, Week

HELP = "YYYY-MM (a month), or YYYY-MM-DD (the first day of a pay week)"


def parse_period(text: str) -> Period | Week:
    text = (text or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return Week(dt.date.fromisoformat(text))
        except ValueError:
            raise CommandError(f"no such day: {text}") from None
    try:
        return Period.parse(text)
    except ValueError as error:
        raise CommandError(f"{error} (or YYYY-MM-DD, the first day of a pay week)") from error
