"""A closed pay week written directly (no engine run), for the URL sweeps: a weekly
``CommissionPeriod`` whose final run pays one earner a fast start and a retail profit line. The
weekly rules themselves are tested through the services (``test_weekly_pay.py``,
``test_weekly_statements.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from commissions.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    LineKind,
    PeriodStatus,
    Schedule,
)
from core.periods import Week


@dataclass
class ClosedWeek:
    row: CommissionPeriod
    fast_start: CommissionLine  # 10 % of the buyer's order line
    retail_profit: CommissionLine  # the earner's profit on a retail customer's order line


def closed_week_with_lines(
    week: Week, *, earner, buyer, bought, sold, plan_version=None
) -> ClosedWeek:
    """A closed ``week`` paying ``earner`` 10 % fast start on ``buyer``'s order line ``bought``
    and the retail profit of the order line ``sold`` (to one of the earner's customers)."""
    row = CommissionPeriod.every_schedule.create(schedule=Schedule.WEEKLY, month=week.first_day)
    run = CommissionRun.objects.create(
        period=row,
        status="succeeded",
        plan_version=plan_version,
        is_final=True,
        summary={"rank_names": ["(no rank)", "Member"]},
        as_of=week.end,
    )
    fast_start_base = int(bought.cv * 100)  # an order line's CV and profit are its totals
    profit = int(sold.retail_profit * 100)
    total = fast_start_base // 10 + profit
    DistributorResult.objects.bulk_create(
        [
            DistributorResult(
                run=run,
                distributor_id=person.pk,
                sponsor_id=person.sponsor_id,
                parent_id=person.sponsor_id,
                status=0,
                pv=0,
                cv=0,
                gv=0,
                counted_gv=0,
                is_active=True,
                paid_as_rank=0,
                highest_rank=0,
                advancement_paid_rank=0,
                carried_in=0,
                period_total=amount,
                balance=amount,
                payable=amount,
                carried_out=0,
                on_hold=False,
            )
            for person, amount in ((earner, total), (buyer, 0))
        ]
    )
    lines = CommissionLine.objects.bulk_create(
        [
            CommissionLine(
                run=run,
                earner=earner,
                kind=LineKind.FAST_START,
                level=0,
                source=buyer,
                source_line=bought,
                base=fast_start_base,
                rate_units=10_000_000,
                amount_before_cap=fast_start_base // 10,
                amount=fast_start_base // 10,
                position=0,
            ),
            CommissionLine(
                run=run,
                earner=earner,
                kind=LineKind.RETAIL_PROFIT,
                level=0,
                source_line=sold,
                base=profit,
                rate_units=100_000_000,
                amount_before_cap=profit,
                amount=profit,
                position=1,
            ),
        ]
    )
    row.current_run = run
    row.status = PeriodStatus.CLOSED
    row.closed_at = timezone.now()
    row.save()
    return ClosedWeek(row, *lines)
