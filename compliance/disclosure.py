"""The income disclosure statement: what every participant of a year earned, from the ledger.

Who counts
----------
A *participant* of year Y is every distributor (not the house) who joined on or before
31 December Y and was not terminated before 1 January Y (a termination is dated by its
``TreeChange``; a terminated person without a dated termination is kept, which can only
lower the figures). Everyone counts, including people who earned nothing.

What counts
-----------
A person's *annual earnings* are the sum of ``DistributorResult.period_total`` (gross
earnings of the period, before expenses, holds and payout) over the final runs of the
year's *closed* (or paid) periods: its months and, when the plan pays some kinds weekly, the
closed pay weeks that end in the year (a week spanning New Year counts in the year it ends
in, when it is paid). Open or calculated months are left out and the statement says which
months and how many weeks it includes. Ranks come from the months only (a week computes
none): *highest rank reached* is the largest ``highest_rank`` in those runs (0: no rank);
*months at rank* counts the months whose ``paid_as_rank`` equals it.

How it is computed
------------------
One SQL statement aggregates the results per distributor and joins them to the participant
set; the rows come back as int64 cents (binary COPY on PostgreSQL, no Python object per row)
and every figure is computed with numpy on exact integer cents.

* Percentiles use the *nearest-rank* method (numpy ``method="inverted_cdf"``): the P-th
  percentile is the smallest earning such that at least P % of participants earned that much
  or less. It is always an amount somebody actually earned, exact to the cent. The median is
  the 50th percentile by the same method.
* The mean is the exact integer sum divided by the count, rounded half-up to the cent.
* "Earned $0" counts participants whose annual earnings are zero or less.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from commissions.models import (
    LOCKED_STATUSES,
    CommissionPeriod,
    PlanVersion,
    Schedule,
    cents_to_decimal,
)
from core.bulk import read_columns
from core.csv import safe_csv_writer
from core.money import quantize
from core.periods import Period

from .models import DisclosureStatement

PERCENTILES = (10, 25, 50, 75, 90, 99)
PERCENTILE_METHOD = "inverted_cdf"
NO_RANK = "No rank"


class DisclosureError(Exception):
    """A statement that cannot be generated, with the reason staff should read."""


@dataclass(frozen=True)
class DisclosureSource:
    year: int
    periods: list[str]
    run_ids: list[int]
    missing_periods: list[str]
    plan_version_id: int | None
    rank_names: dict[int, str]
    weeks: list[str] = field(default_factory=list)  # closed pay weeks (first days)
    week_run_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "year": self.year,
            "periods": self.periods,
            "run_ids": self.run_ids,
            "missing_periods": self.missing_periods,
            "plan_version_id": self.plan_version_id,
            "rank_names": {str(k): v for k, v in self.rank_names.items()},
            "weeks": self.weeks,
            "week_run_ids": self.week_run_ids,
            "description": describe_source(self),
        }


def describe_source(source: DisclosureSource) -> str:
    if not source.periods:
        return f"No closed commission period in {source.year}."
    text = (
        f"Final commission runs of the {len(source.periods)} closed period(s) of "
        f"{source.year} ({', '.join(source.periods)}; runs "
        f"{', '.join(f'#{r}' for r in source.run_ids)})."
    )
    if source.weeks:
        text += (
            f" With the {len(source.weeks)} closed pay week(s) ending in {source.year} "
            f"({source.weeks[0]} to {source.weeks[-1]}; runs "
            f"{', '.join(f'#{r}' for r in source.week_run_ids)})."
        )
    if source.missing_periods:
        text += f" Not yet closed, so not included: {', '.join(source.missing_periods)}."
    return text


def default_disclosure_year(now: dt.datetime | None = None) -> int:
    """The year a statement is usually generated for: the last full calendar year in the
    company's time zone (at 23:59 on 31 December it is still the year before)."""
    return Period.current(now).year - 1


def disclosure_source(year: int) -> DisclosureSource:
    """The closed periods of ``year``, their final runs, and the rank names of their plan."""
    rows = list(
        CommissionPeriod.objects.filter(
            month__year=year, status__in=LOCKED_STATUSES, current_run__isnull=False
        )
        .select_related("current_run")
        .order_by("month")
    )
    included = {row.month for row in rows}
    missing = [str(Period(year, m)) for m in range(1, 13) if dt.date(year, m, 1) not in included]
    version_id = None
    for row in reversed(rows):
        if row.current_run.plan_version_id:
            version_id = row.current_run.plan_version_id
            break
    if version_id is None:
        version = (
            PlanVersion.objects.filter(effective_from__lte=dt.date(year, 12, 1))
            .order_by("-effective_from", "-id")
            .first()
        )
    else:
        version = PlanVersion.objects.get(pk=version_id)
    rank_names = {0: NO_RANK}
    if version is not None:
        for index, rank in enumerate(version.plan.ranks, start=1):
            rank_names[index] = rank.name
    weeks = [
        row
        for row in CommissionPeriod.every_schedule.filter(
            schedule=Schedule.WEEKLY,
            month__gte=dt.date(year, 1, 1) - relativedelta(days=6),
            month__lte=dt.date(year, 12, 31),
            status__in=LOCKED_STATUSES,
            current_run__isnull=False,
        ).order_by("month")
        if row.period.last_day.year == year
    ]
    return DisclosureSource(
        year=year,
        periods=[str(row.period) for row in rows],
        run_ids=[row.current_run_id for row in rows],
        missing_periods=missing,
        plan_version_id=version.pk if version else None,
        rank_names=rank_names,
        weeks=[row.month.isoformat() for row in weeks],
        week_run_ids=[row.current_run_id for row in weeks],
    )


# One row per participant: annual earnings (cents), highest rank, months at that rank.
_PARTICIPANT_SQL = """
WITH results AS (
    SELECT distributor_id, period_total, highest_rank, paid_as_rank
    FROM commissions_distributorresult WHERE run_id IN ({runs})
    UNION ALL  -- pay weeks: their earnings only (no rank, so no month at one)
    SELECT distributor_id, period_total, 0, 0
    FROM commissions_distributorresult WHERE run_id IN ({week_runs})
), yearly AS (
    SELECT distributor_id, SUM(period_total) AS total, MAX(highest_rank) AS highest
    FROM results GROUP BY distributor_id
), at_rank AS (
    SELECT r.distributor_id, COUNT(*) AS months
    FROM results r JOIN yearly y ON y.distributor_id = r.distributor_id
    WHERE r.paid_as_rank = y.highest AND y.highest > 0
    GROUP BY r.distributor_id
)
SELECT CAST(COALESCE(y.total, 0) AS bigint), CAST(COALESCE(y.highest, 0) AS bigint),
    CAST(COALESCE(a.months, 0) AS bigint)
FROM genealogy_distributor d
LEFT JOIN yearly y ON y.distributor_id = d.id
LEFT JOIN at_rank a ON a.distributor_id = d.id
WHERE d.is_house = %(false)s AND d.joined_on <= %(last_day)s
  AND NOT (d.status = 'terminated' AND EXISTS (
        SELECT 1 FROM genealogy_treechange t
        WHERE t.distributor_id = d.id AND t.kind = 'termination' AND t.at < %(year_start)s))
"""


def participant_columns(source: DisclosureSource) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(earnings cents, highest rank, months at it) of every participant, int64 arrays."""
    runs = ", ".join(str(int(r)) for r in source.run_ids) or "NULL"
    week_runs = ", ".join(str(int(r)) for r in source.week_run_ids) or "NULL"
    sql = _PARTICIPANT_SQL.format(runs=runs, week_runs=week_runs)
    params = {
        "false": False,
        "last_day": dt.date(source.year, 12, 31),
        "year_start": Period(source.year, 1).start,
    }
    total, highest, months = read_columns(sql, params, ["int8"] * 3)
    return total, highest, months


def _money(cents: int) -> str:
    return str(cents_to_decimal(cents))


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "0.00"
    return str(quantize(Decimal(part) * 100 / Decimal(whole)))


def _mean_cents(values: np.ndarray) -> int:
    if len(values) == 0:
        return 0
    mean = Decimal(int(values.sum(dtype=np.int64))) / Decimal(len(values))
    return int(quantize(mean, Decimal(1)))


def _percentiles(sorted_values: np.ndarray) -> dict[str, str]:
    if len(sorted_values) == 0:
        return {str(p): "0.00" for p in PERCENTILES}
    picked = np.percentile(sorted_values, PERCENTILES, method=PERCENTILE_METHOD)
    return {str(p): _money(int(v)) for p, v in zip(PERCENTILES, picked, strict=True)}


def _group_figures(sorted_values: np.ndarray) -> dict:
    count = len(sorted_values)
    zero = int((sorted_values <= 0).sum())
    percentiles = _percentiles(sorted_values)
    return {
        "participants": count,
        "zero_earners": zero,
        "zero_percent": _percent(zero, count),
        "mean": _money(_mean_cents(sorted_values)),
        "median": percentiles["50"],
        "percentiles": percentiles,
        "total": _money(int(sorted_values.sum(dtype=np.int64)) if count else 0),
    }


def compute_figures(
    earnings: np.ndarray, ranks: np.ndarray, months: np.ndarray, rank_names: dict[int, str]
) -> dict:
    """Every figure of the statement from per-participant int64 arrays (pure numpy)."""
    order = np.lexsort((earnings, ranks))
    earnings, ranks, months = earnings[order], ranks[order], months[order]
    figures = _group_figures(np.sort(earnings))
    figures["currency"] = settings.LADDER_CURRENCY
    figures["percentile_method"] = "nearest rank (numpy inverted_cdf)"
    total = len(earnings)
    by_rank = []
    bounds = np.searchsorted(ranks, np.arange(max(rank_names) + 2))
    for rank in sorted(rank_names):
        lo, hi = int(bounds[rank]), int(bounds[rank + 1])
        group = _group_figures(earnings[lo:hi])
        group["rank"] = rank
        group["name"] = rank_names[rank]
        group["share_percent"] = _percent(hi - lo, total)
        group["average_months_at_rank"] = (
            None
            if rank == 0 or hi == lo
            else str(quantize(Decimal(int(months[lo:hi].sum())) / Decimal(hi - lo), Decimal("0.1")))
        )
        by_rank.append(group)
    unknown = int((ranks > max(rank_names)).sum())
    if unknown:
        figures["ranks_beyond_plan"] = unknown
    figures["ranks"] = by_rank
    return figures


def income_disclosure_figures(year: int) -> tuple[DisclosureSource, dict]:
    source = disclosure_source(year)
    if not source.periods:
        raise DisclosureError(f"{year} has no closed commission period yet: close one first.")
    # Final runs of closed periods are immutable: the figures depend only on the run ids.
    earnings, ranks, months = participant_columns(source)
    return source, compute_figures(earnings, ranks, months, source.rank_names)


def generate_income_disclosure(*, year: int, by=None, now: dt.datetime | None = None):
    """Compute the statement of ``year`` and store it as the published snapshot."""
    source, figures = income_disclosure_figures(year)
    return DisclosureStatement.objects.create(
        year=year,
        generated_at=now or timezone.now(),
        generated_by=by,
        source=source.as_dict(),
        figures=figures,
    )


def latest_statement(year: int | None = None):
    """The newest published statement (of ``year`` when given), or None."""
    statements = DisclosureStatement.objects.filter(is_published=True)
    if year is not None:
        statements = statements.filter(year=year)
    return statements.order_by("-year", "-generated_at", "-id").first()


def published_years() -> list[int]:
    return list(
        DisclosureStatement.objects.filter(is_published=True)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


CSV_HEADER = [
    "group",
    "rank",
    "participants",
    "share_percent",
    "zero_percent",
    "mean",
    "median",
    *[f"p{p}" for p in PERCENTILES],
    "average_months_at_rank",
]


def statement_rows(figures: dict) -> list[list[str]]:
    """The table of the statement, the same rows for the page and the CSV."""
    rows = []
    for group, label, share, months in [(figures, "All participants", "100.00", "")] + [
        (r, r["name"], r["share_percent"], r["average_months_at_rank"] or "")
        for r in figures["ranks"]
    ]:
        rows.append(
            [
                "all" if group is figures else "rank",
                label,
                str(group["participants"]),
                share,
                group["zero_percent"],
                group["mean"],
                group["median"],
                *[group["percentiles"][str(p)] for p in PERCENTILES],
                months,
            ]
        )
    return rows


def _number_or_text(cell: str) -> Decimal | str:
    try:
        number = Decimal(cell)
    except ArithmeticError:
        return cell
    return number if number.is_finite() and str(number) == cell else cell


def statement_csv(statement) -> bytes:
    buffer = io.StringIO()
    writer = safe_csv_writer(buffer)
    writer.writerow(["# Income disclosure statement", statement.year])
    writer.writerow(["# generated_at", statement.generated_at.isoformat()])
    writer.writerow(["# source", statement.source.get("description", "")])
    writer.writerow(["# currency", statement.figures.get("currency", "")])
    writer.writerow(["# earnings", "gross, before business expenses"])
    writer.writerow(CSV_HEADER)
    for row in statement_rows(statement.figures):
        # The figures are stored as text: write the numbers as numbers (-1.50 stays a number).
        writer.writerow(row[:2] + [_number_or_text(cell) for cell in row[2:]])
    return buffer.getvalue().encode()
