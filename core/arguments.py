"""Argument types for management commands: a bad value ends in one clear line and a non-zero
exit (argparse's own error, a `CommandError` under `call_command`), never a traceback.

    parser.add_argument("--size", type=positive_int, default=10_000)
    parser.add_argument("year", type=year)
"""

from __future__ import annotations

import argparse
import math

FIRST_YEAR, LAST_YEAR = 1900, 9999  # the years a period can be in (core.periods)


def _whole(text: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative ({value})")
    return value


def positive_number(text: str) -> float:
    """A positive finite number (a rate for a benchmark or a demo; never money)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


def year(text: str) -> int:
    value = _whole(text)
    if not FIRST_YEAR <= value <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"a year is written YYYY ({FIRST_YEAR}-{LAST_YEAR}), not {text}"
        )
    return value
