"""Periods: a period is a calendar month in the company's time zone (`settings.TIME_ZONE`).

The one definition lives in `core.periods`; this module keeps the orders app's import path.
"""

from core.periods import Period, company_zone

__all__ = ["Period", "company_zone"]
