"""Compliance services: compute the flags of a period (set-based), review them, and the
income disclosure generation entry point used by the command and the task.

Rules (thresholds are settings, see config/settings.py "Compliance")
---------------------------------------------------------------------
For distributors (never the house) in a period, from paid order lines minus refund lines of
the period (the volume service's rule: the moment money moved):

* ``personal_use_share``: PV for personal use > LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT % of
  their PV;
* ``few_retail_customers``: fewer distinct retail customers with a paid order in the period
  than LADDER_COMPLIANCE_MIN_RETAIL_CUSTOMERS;
  both only for people with PV > 0 who earned at least
  LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS in the period, by its calculation (else its
  projection; with neither, nobody yet). Paying on internal consumption is the concern: a
  member who buys for their own use and earns nothing is a customer. "0" checks everyone;
* ``loading_amount``: personal-use purchases (amount paid, net of refunds) above
  LADDER_COMPLIANCE_LOADING_MAX_MONTHLY;
* ``loading_spike``: personal-use purchases above LADDER_COMPLIANCE_LOADING_SPIKE_FACTOR × the
  person's own monthly average over the previous LADDER_COMPLIANCE_LOADING_HISTORY_MONTHS
  months (only when that average is above zero);
* ``recruiting_without_selling``: at least LADDER_COMPLIANCE_RECRUITING_MIN_ENROLLEES personal
  enrollees who joined in the period, or who are active now, while retail PV in the period is
  below LADDER_COMPLIANCE_RECRUITING_MIN_RETAIL_PV.

Re-computation is idempotent: one row per (distributor, period, kind), upserted; the measured
values of open flags are refreshed, reviewed flags keep their review, and open flags whose rule
no longer holds are removed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from commissions.errors import CommissionError
from commissions.models import CommissionPeriod, Hold, HoldStatus
from commissions.services.adjustments import hold_place
from core.money import quantize
from core.periods import Period
from orders.volume import moved_lines_sql

from .models import ComplianceFlag, FlagKind, FlagStatus


class ComplianceError(Exception):
    """A review that cannot be done, with the reason staff should read."""


@dataclass(frozen=True)
class Thresholds:
    personal_use_max_percent: Decimal
    min_retail_customers: int
    loading_max_monthly: Decimal
    loading_spike_factor: Decimal
    loading_history_months: int
    recruiting_min_enrollees: int
    recruiting_min_retail_pv: Decimal
    retail_rules_min_earnings: Decimal = Decimal("0.01")

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            personal_use_max_percent=Decimal(
                str(settings.LADDER_COMPLIANCE_PERSONAL_USE_MAX_PERCENT)
            ),
            min_retail_customers=int(settings.LADDER_COMPLIANCE_MIN_RETAIL_CUSTOMERS),
            loading_max_monthly=Decimal(str(settings.LADDER_COMPLIANCE_LOADING_MAX_MONTHLY)),
            loading_spike_factor=Decimal(str(settings.LADDER_COMPLIANCE_LOADING_SPIKE_FACTOR)),
            loading_history_months=int(settings.LADDER_COMPLIANCE_LOADING_HISTORY_MONTHS),
            recruiting_min_enrollees=int(settings.LADDER_COMPLIANCE_RECRUITING_MIN_ENROLLEES),
            recruiting_min_retail_pv=Decimal(
                str(settings.LADDER_COMPLIANCE_RECRUITING_MIN_RETAIL_PV)
            ),
            retail_rules_min_earnings=Decimal(
                str(settings.LADDER_COMPLIANCE_RETAIL_RULES_MIN_EARNINGS)
            ),
        )


# One statement: per distributor, the period's net volumes and amounts, distinct retail
# customers, trailing personal purchases and personal enrollees; only rows where a rule trips
# are returned (the WHERE repeats the rules; Python then names which ones).
_MEASURE_SQL = f"""
WITH moved AS (
{moved_lines_sql(["distributor_id", "purpose", "pv", "amount"], month="first_day")}
), volume AS (
    SELECT distributor_id,
        COALESCE(SUM(pv) FILTER (WHERE purpose = 'personal'), 0) AS personal_pv,
        COALESCE(SUM(pv) FILTER (WHERE purpose = 'retail'), 0) AS retail_pv,
        COALESCE(SUM(amount) FILTER (WHERE purpose = 'personal'), 0) AS personal_amount
    FROM moved GROUP BY distributor_id
), customers AS (
    SELECT distributor_id, COUNT(DISTINCT customer_id) AS customers FROM orders_order
    WHERE purpose = 'retail' AND commission_month = %(first_day)s
    GROUP BY distributor_id
), history AS (
    SELECT distributor_id, SUM(amount) AS amount FROM (
{moved_lines_sql(["distributor_id", "purpose", "amount"], month="first_day", since="history_month")}
    ) h WHERE purpose = 'personal' GROUP BY distributor_id
), enrollees AS (
    SELECT sponsor_id AS distributor_id,
        COUNT(*) FILTER (WHERE joined_on >= %(first_day)s AND joined_on <= %(last_day)s)
            AS joined_in_period,
        COUNT(*) FILTER (WHERE status = 'active') AS active
    FROM genealogy_distributor WHERE sponsor_id IS NOT NULL GROUP BY sponsor_id
    HAVING COUNT(*) FILTER (WHERE joined_on >= %(first_day)s AND joined_on <= %(last_day)s)
            >= %(min_enrollees)s
        OR COUNT(*) FILTER (WHERE status = 'active') >= %(min_enrollees)s
), earners AS (
    SELECT distributor_id FROM commissions_distributorresult
    WHERE run_id = %(run)s AND period_total >= %(min_earnings)s
), candidates AS (
    SELECT distributor_id FROM volume UNION SELECT distributor_id FROM enrollees
)
SELECT c.distributor_id,
    COALESCE(v.personal_pv, 0), COALESCE(v.retail_pv, 0), COALESCE(v.personal_amount, 0),
    COALESCE(cu.customers, 0), COALESCE(h.amount, 0),
    COALESCE(e.joined_in_period, 0), COALESCE(e.active, 0),
    %(everyone)s OR ea.distributor_id IS NOT NULL
FROM candidates c
JOIN genealogy_distributor d ON d.id = c.distributor_id AND NOT d.is_house
LEFT JOIN volume v ON v.distributor_id = c.distributor_id
LEFT JOIN customers cu ON cu.distributor_id = c.distributor_id
LEFT JOIN history h ON h.distributor_id = c.distributor_id
LEFT JOIN enrollees e ON e.distributor_id = c.distributor_id
LEFT JOIN earners ea ON ea.distributor_id = c.distributor_id
WHERE (COALESCE(v.personal_pv, 0) + COALESCE(v.retail_pv, 0) > 0
       AND (%(everyone)s OR ea.distributor_id IS NOT NULL) AND (
        COALESCE(v.personal_pv, 0) * 100
            > %(personal_percent)s * (COALESCE(v.personal_pv, 0) + COALESCE(v.retail_pv, 0))
        OR COALESCE(cu.customers, 0) < %(min_customers)s))
   OR COALESCE(v.personal_amount, 0) > %(loading_max)s
   OR (COALESCE(h.amount, 0) > 0
       AND COALESCE(v.personal_amount, 0) * %(history_months)s
           > %(spike_factor)s * h.amount)
   OR (e.distributor_id IS NOT NULL AND COALESCE(v.retail_pv, 0) < %(min_retail_pv)s)
ORDER BY c.distributor_id
"""  # noqa: S608 (the volume service's fixed SQL)


def earnings_run_id(period: Period) -> int | None:
    """The run whose earnings scope the retail rules: the calculation, else the projection."""
    row = (
        CommissionPeriod.objects.filter(month=period.first_day)
        .values_list("current_run_id", "projection_run_id")
        .first()
    )
    return None if row is None else row[0] or row[1]


def measure_period(period: Period, thresholds: Thresholds) -> list[tuple[int, str, dict, dict]]:
    """(distributor id, kind, measured, threshold) of every rule tripped in ``period``."""
    t = thresholds
    params = {
        "run": earnings_run_id(period),
        "min_earnings": int(t.retail_rules_min_earnings * 100),
        "everyone": t.retail_rules_min_earnings <= 0,
        "start": period.start,
        "end": period.end,
        "history_month": period.shifted(-t.loading_history_months).first_day,
        "first_day": period.first_day,
        "last_day": period.last_day,
        "min_enrollees": t.recruiting_min_enrollees,
        "personal_percent": t.personal_use_max_percent,
        "min_customers": t.min_retail_customers,
        "loading_max": t.loading_max_monthly,
        "history_months": t.loading_history_months,
        "spike_factor": t.loading_spike_factor,
        "min_retail_pv": t.recruiting_min_retail_pv,
    }
    with connection.cursor() as cursor:
        cursor.execute(_MEASURE_SQL, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        person, personal_pv, retail_pv, personal_amount, customers, history = row[:6]
        joined, active, retail_rules_apply = row[6:]
        personal_pv, retail_pv = Decimal(personal_pv), Decimal(retail_pv)
        personal_amount, history = Decimal(personal_amount), Decimal(history)
        pv = personal_pv + retail_pv
        if pv > 0 and retail_rules_apply:
            share = quantize(personal_pv * 100 / pv)
            volume = {"personal_pv": str(personal_pv), "retail_pv": str(retail_pv)}
            if personal_pv * 100 > t.personal_use_max_percent * pv:
                found.append(
                    (
                        person,
                        FlagKind.PERSONAL_USE_SHARE,
                        {**volume, "personal_percent": str(share)},
                        {"max_personal_percent": str(t.personal_use_max_percent)},
                    )
                )
            if customers < t.min_retail_customers:
                found.append(
                    (
                        person,
                        FlagKind.FEW_RETAIL_CUSTOMERS,
                        {**volume, "retail_customers": int(customers)},
                        {"min_retail_customers": t.min_retail_customers},
                    )
                )
        if personal_amount > t.loading_max_monthly:
            found.append(
                (
                    person,
                    FlagKind.LOADING_AMOUNT,
                    {"personal_purchases": str(personal_amount)},
                    {"max_monthly": str(t.loading_max_monthly)},
                )
            )
        if history > 0 and personal_amount * t.loading_history_months > (
            t.loading_spike_factor * history
        ):
            average = quantize(history / t.loading_history_months)
            found.append(
                (
                    person,
                    FlagKind.LOADING_SPIKE,
                    {"personal_purchases": str(personal_amount), "trailing_average": str(average)},
                    {
                        "spike_factor": str(t.loading_spike_factor),
                        "history_months": t.loading_history_months,
                    },
                )
            )
        if (
            max(joined, active) >= t.recruiting_min_enrollees
            and retail_pv < t.recruiting_min_retail_pv
        ):
            found.append(
                (
                    person,
                    FlagKind.RECRUITING_WITHOUT_SELLING,
                    {
                        "enrollees_joined_in_period": int(joined),
                        "active_enrollees": int(active),
                        "retail_pv": str(retail_pv),
                    },
                    {
                        "min_enrollees": t.recruiting_min_enrollees,
                        "min_retail_pv": str(t.recruiting_min_retail_pv),
                    },
                )
            )
    return found


@dataclass(frozen=True)
class FlagCounts:
    period: Period
    tripped: int
    created: int
    removed: int


def compute_compliance_flags(
    *, period: Period, thresholds: Thresholds | None = None, now: dt.datetime | None = None
) -> FlagCounts:
    """Measure ``period`` and upsert its flags (safe to run any number of times)."""
    now = now or timezone.now()
    found = measure_period(period, thresholds or Thresholds.from_settings())
    month = period.first_day
    with transaction.atomic():
        existing = set(
            ComplianceFlag.objects.filter(period=month).values_list("distributor_id", "kind")
        )
        keys = {(person, str(kind)) for person, kind, _, _ in found}
        stale = existing - keys
        removed = 0
        for kind in {kind for _, kind in stale}:
            keep = [person for person, tripped in keys if tripped == kind]
            removed += (
                ComplianceFlag.objects.filter(period=month, kind=kind, status=FlagStatus.OPEN)
                .exclude(distributor_id__in=keep)
                .delete()[0]
            )
        ComplianceFlag.objects.bulk_create(
            [
                ComplianceFlag(
                    distributor_id=person,
                    period=month,
                    kind=kind,
                    measured=measured,
                    threshold=threshold,
                    created_at=now,
                    computed_at=now,
                )
                for person, kind, measured, threshold in found
            ],
            batch_size=5_000,
            update_conflicts=True,
            unique_fields=["distributor", "period", "kind"],
            update_fields=["measured", "threshold", "computed_at"],
        )
    return FlagCounts(
        period=period, tripped=len(found), created=len(keys - existing), removed=removed
    )


def compute_recent_flags(*, now: dt.datetime | None = None) -> list[FlagCounts]:
    """The open month and the one before it (what beat runs daily)."""
    current = Period.current(now)
    return [
        compute_compliance_flags(period=current.previous(), now=now),
        compute_compliance_flags(period=current, now=now),
    ]


def _locked_open_flag(flag: ComplianceFlag) -> ComplianceFlag:
    locked = ComplianceFlag.objects.select_for_update().get(pk=flag.pk)
    if locked.status != FlagStatus.OPEN:
        raise ComplianceError(f"This flag is already {locked.get_status_display().lower()}.")
    return locked


def flag_dismiss(*, flag: ComplianceFlag, reason: str, by) -> ComplianceFlag:
    """Close the flag as reviewed and harmless, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ComplianceError("Say why the flag is dismissed.")
    with transaction.atomic():
        locked = _locked_open_flag(flag)
        locked.status, locked.reason = FlagStatus.DISMISSED, reason
        locked.reviewed_by, locked.reviewed_at = by, timezone.now()
        locked.save()
        return locked


def flag_hold(*, flag: ComplianceFlag, reason: str, by) -> ComplianceFlag:
    """Put the distributor's payouts on a compliance hold (commissions' hold service): their
    balance is carried unpaid until staff release or forfeit it. An active hold is reused."""
    reason = (reason or "").strip()
    if not reason:
        raise ComplianceError("Say why payouts are held.")
    with transaction.atomic():
        locked = _locked_open_flag(flag)
        hold = Hold.objects.filter(
            distributor_id=locked.distributor_id, status=HoldStatus.ACTIVE
        ).first()
        if hold is None:
            try:
                hold = hold_place(
                    distributor=locked.distributor,
                    reason=f"Compliance: {locked.get_kind_display()} in {locked.period_label}. "
                    f"{reason}",
                    by=by,
                )
            except CommissionError as refused:
                raise ComplianceError(str(refused)) from refused
        locked.status, locked.reason, locked.hold = FlagStatus.HOLD, reason, hold
        locked.reviewed_by, locked.reviewed_at = by, timezone.now()
        locked.save()
        return locked
