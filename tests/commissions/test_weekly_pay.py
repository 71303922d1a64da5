"""Weekly pay through the services on real PostgreSQL: a plan paying fast start and retail
profit every week and the rest monthly; calculate, close and export a week; balances carried
from week to week under the weekly minimum; refunds netted before the close."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal

import pytest

from commissions.errors import CommissionError
from commissions.models import (
    Clawback,
    CommissionLine,
    CommissionPeriod,
    DistributorResult,
    LineKind,
    PeriodStatus,
    Schedule,
)
from commissions.services.close import close_period
from commissions.services.plans import plan_version_create
from commissions.services.runs import calculate_period
from commissions.services.weeks import calculate_week, close_week, export_week_payouts
from core.periods import Period, Week
from genealogy.models import Distributor
from orders.models import RefundReason
from orders.services import order_refund
from tests.factories import (
    COMMISSION_TEST_PLAN,
    CustomerFactory,
    ProductFactory,
    buy,
    make_distributor,
    make_order,
)

pytestmark = pytest.mark.django_db(transaction=True)

WEEK = Week(dt.date(2026, 3, 9))  # Monday 9 – Sunday 15 March 2026
NEXT_WEEK = WEEK.next()
IN_WEEK = dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC)
IN_NEXT_WEEK = dt.datetime(2026, 3, 17, 15, 0, tzinfo=dt.UTC)
AFTER_GRACE = dt.datetime(2026, 3, 30, 12, 0, tzinfo=dt.UTC)


def weekly_document(minimum: str = "15", **weekly) -> dict:
    document = copy.deepcopy(COMMISSION_TEST_PLAN)
    document["fast_start"] = {"percent": "10", "days": 30, "basis": "cv"}
    document["retail_profit"] = {"enabled": True}
    document["schedules"] = {
        "weekly": {
            "components": ["fast_start", "retail_profit"],
            "minimum_payout": minimum,
            "activity_weeks": 2,
            **weekly,
        }
    }
    return document


@pytest.fixture
def team(db):
    """Ann → Cal → Dee → Eve (each enrolls the next), all joined on 1 March 2026."""
    plan_version_create(source=json.dumps(weekly_document()), effective_from=dt.date(2026, 1, 1))
    people = []
    sponsor = None
    for name in ("Ann Avery", "Cal Diaz", "Dee Brown", "Eve Stone"):
        sponsor = make_distributor(sponsor=sponsor, name=name)
        people.append(sponsor)
    Distributor.objects.filter(pk__in=[p.pk for p in people]).update(joined_on=dt.date(2026, 3, 1))
    return people


def paid(run, kind: int) -> dict[int, int]:
    return dict(
        CommissionLine.objects.filter(run=run, kind=kind).values_list("earner_id", "amount")
    )


def result_of(run, person) -> DistributorResult:
    return DistributorResult.objects.get(run=run, distributor=person)


def test_a_week_pays_its_kinds_and_the_month_pays_the_rest(team):
    ann, cal, dee, eve = team
    buy(ann, "100", paid_at=IN_WEEK)
    buy(cal, "120", paid_at=IN_WEEK)
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK, profit="30", customer=CustomerFactory(distributor=eve))
    run = calculate_week(week=WEEK)
    # Fast start 10 % to the enroller: Cal on Dee's 100 = 10.00, Dee on Eve's 200 = 20.00, Ann
    # on Cal's 120 = 12.00 (Ann's own enroller is the house, which never earns).
    assert paid(run, LineKind.FAST_START) == {ann.pk: 1200, cal.pk: 1000, dee.pk: 2000}
    assert paid(run, LineKind.RETAIL_PROFIT) == {eve.pk: 3000}
    assert paid(run, LineKind.UNILEVEL) == {}
    # The weekly minimum is 15.00: Cal's 10.00 is carried, the others are payable.
    assert result_of(run, cal).payable == 0 and result_of(run, cal).carried_out == 1000
    assert result_of(run, dee).payable == 2000
    row = CommissionPeriod.every_schedule.get(schedule=Schedule.WEEKLY, month=WEEK.first_day)
    assert row.period == WEEK and row.status == PeriodStatus.CALCULATED
    assert not CommissionPeriod.objects.filter(month=WEEK.first_day).exists()  # months only

    month = calculate_period(period=Period(2026, 3))
    assert paid(month, LineKind.FAST_START) == {} and paid(month, LineKind.RETAIL_PROFIT) == {}
    # Unilevel 5 %, 5 %, 10 % over the chain: Dee earns 5 % of Eve's 200 = 10.00, ...
    assert paid(month, LineKind.UNILEVEL)[dee.pk] == 1000


def test_balances_carry_from_week_to_week_and_weeks_close_in_order(team):
    ann, cal, dee, eve = team
    buy(ann, "100", paid_at=IN_WEEK)
    buy(cal, "200", paid_at=IN_WEEK)
    buy(dee, "100", paid_at=IN_WEEK)
    first = calculate_week(week=WEEK)
    buy(dee, "60", paid_at=IN_NEXT_WEEK)
    second = calculate_week(week=NEXT_WEEK)
    # Cal: 10.00 carried from the first week + 6.00 on Dee's 60 = 16.00 ≥ 15.00: paid.
    assert result_of(second, cal).carried_in == 1000
    assert result_of(second, cal).payable == 1600

    with pytest.raises(CommissionError, match="before 2026-03-19 00:00"):
        close_week(week=WEEK, now=dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC))
    with pytest.raises(CommissionError, match="Close the earlier weeks first: 2026-03-09"):
        close_week(week=NEXT_WEEK, now=AFTER_GRACE)
    closed = close_week(week=WEEK, now=AFTER_GRACE)
    assert closed.status == PeriodStatus.CLOSED and first.pk == closed.current_run_id
    csv = export_week_payouts(week=WEEK).decode()
    assert "Ann Avery,20.00" in csv and "Cal Diaz" not in csv  # Cal's 10.00 is carried
    assert CommissionPeriod.every_schedule.get(pk=closed.pk).status == PeriodStatus.PAID
    close_week(week=NEXT_WEEK, now=AFTER_GRACE)
    with pytest.raises(CommissionError, match="week of 2026-03-16 is closed"):
        calculate_week(week=NEXT_WEEK)
    # A closed week never opens a month, nor a closed month a week.
    assert close_period is not None and not CommissionPeriod.objects.exists()


def test_a_refund_before_the_close_is_netted_and_one_in_between_stops_the_close(team):
    ann, cal, dee, eve = team
    order = buy(eve, "200", paid_at=IN_WEEK)
    line = order.lines.get()
    order_refund(
        order=order,
        quantities={line.pk: 1},
        reason=RefundReason.RETURN,
        now=IN_WEEK + dt.timedelta(days=1),
    )
    buy(eve, "150", paid_at=IN_WEEK)
    buy(dee, "100", paid_at=IN_WEEK)  # active: Dee earns the fast start on Eve's orders
    run = calculate_week(week=WEEK)
    assert paid(run, LineKind.FAST_START) == {dee.pk: 1500}  # the refunded 200 pays nothing
    assert run.summary["netted_refund_lines"] == [line.refund_lines.get().pk]

    other = Distributor.objects.get(pk=eve.pk).orders.order_by("-id").first()
    order_refund(
        order=other,
        quantities={other.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=dt.datetime(2026, 3, 19, tzinfo=dt.UTC),
    )
    with pytest.raises(CommissionError, match="changed since run"):
        close_week(week=WEEK, now=AFTER_GRACE)
    run = calculate_week(week=WEEK)
    assert paid(run, LineKind.FAST_START) == {}
    assert close_week(week=WEEK, now=AFTER_GRACE).status == PeriodStatus.CLOSED


def test_activity_counts_the_weeks_window(team):
    ann, cal, dee, eve = team
    buy(cal, "120", paid_at=IN_WEEK)  # Cal is active in this week and the next (2 weeks)
    buy(dee, "100", paid_at=IN_NEXT_WEEK)
    run = calculate_week(week=NEXT_WEEK)
    assert paid(run, LineKind.FAST_START) == {cal.pk: 1000}
    assert result_of(run, cal).is_active and result_of(run, cal).pv == 0
    # The week keeps the rows of the people it touched only: Ann and Eve neither bought nor
    # earned nor carried anything in it.
    stored = set(DistributorResult.objects.filter(run=run).values_list("distributor_id", flat=True))
    assert stored == {cal.pk, dee.pk} and run.counts["result_rows"] == 2
    assert run.counts["distributors"] == 4  # the engine saw the whole tree


def test_a_week_that_does_not_start_on_the_plans_weekday_is_refused(team):
    with pytest.raises(CommissionError, match="start on a monday"):
        calculate_week(week=Week(dt.date(2026, 3, 10)))


def test_order_awards_paid_weekly_come_back_when_a_refund_takes_the_order_below_its_minimum(
    db,
):
    document = weekly_document(minimum="0")
    document["order_award"] = {
        "amount": "5",
        "per": "order",
        "minimum_order_cv": "100",
        "to": "enroller",
    }
    document["schedules"]["weekly"]["components"] = ["order_award"]
    plan_version_create(source=json.dumps(document), effective_from=dt.date(2026, 1, 1))
    ann = make_distributor(name="Ann Avery")
    cal = make_distributor(sponsor=ann, name="Cal Diaz")
    small = ProductFactory(pv=Decimal("40"), cv=Decimal("40"))
    buy(ann, "100", paid_at=IN_WEEK)  # an inactive earner's award is breakage
    # Given: Cal orders 3 × 40 CV in the first week (120 ≥ 100: 5.00 to Ann) and 2 × 40 (80:
    # below the minimum, nothing); one unit of the second order is returned in the same week.
    order = make_order(distributor=cal, items={small: 3}, paid_at=IN_WEEK)
    second = make_order(distributor=cal, items={small: 3}, paid_at=IN_WEEK)
    order_refund(
        order=second,
        quantities={second.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=IN_WEEK + dt.timedelta(hours=2),
    )
    run = calculate_week(week=WEEK)
    assert paid(run, LineKind.ORDER_AWARD) == {ann.pk: 500}  # the second order: 80 < 100
    close_week(week=WEEK, now=AFTER_GRACE)
    # When: one unit of the first order is returned in the next week (120 → 80 < 100).
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=IN_NEXT_WEEK,
    )
    calculate_week(week=NEXT_WEEK)
    # Then: the whole award comes back in that week, once.
    calculate_week(week=NEXT_WEEK)
    assert list(
        Clawback.objects.filter(period__month=NEXT_WEEK.first_day).values_list(
            "earner_id", "kind", "amount"
        )
    ) == [(ann.pk, LineKind.ORDER_AWARD, -500)]


def test_a_refund_after_the_close_is_clawed_back_in_its_own_week(team):
    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    order = buy(eve, "200", paid_at=IN_WEEK)
    calculate_week(week=WEEK)
    close_week(week=WEEK, now=AFTER_GRACE)
    # Eve's order is one line of one unit: its full refund takes back Dee's 20.00 fast start,
    # Refunded in the week of 23 March; the week of 16 March saw nothing.
    refunded_at = dt.datetime(2026, 3, 24, 15, tzinfo=dt.UTC)
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=refunded_at,
    )
    calculate_week(week=NEXT_WEEK)
    close_week(week=NEXT_WEEK, now=AFTER_GRACE)
    later = Week(dt.date(2026, 3, 23))
    run = calculate_week(week=later)
    clawbacks = Clawback.objects.filter(period__month=later.first_day)
    assert list(clawbacks.values_list("earner_id", "kind", "amount")) == [
        (dee.pk, LineKind.FAST_START, -2000)
    ]
    # Dee was paid 20.00 in the first week: the clawback leaves -20.00 to carry.
    assert result_of(run, dee).period_total == -2000
    assert result_of(run, dee).payable == 0 and result_of(run, dee).carried_out == -2000
    calculate_week(week=later)  # idempotent: no second clawback
    assert clawbacks.count() == 1
    # The month's clawbacks never take what the week paid (none of March's lines is a fast
    # start), and the month is untouched by the week's clawback row.
    assert not Clawback.objects.filter(period__schedule=Schedule.MONTHLY).exists()


def test_beat_calculates_the_week_that_just_ended_once(team):
    from commissions.tasks import calculate_previous_week_task, calculate_run_task

    first = calculate_previous_week_task.apply().get()
    assert "run" in first
    again = calculate_previous_week_task.apply().get()
    assert again == {"week": first["week"], "skipped": "already calculated"}
    # A queued weekly run goes through the same task as a month's.
    run = CommissionPeriod.every_schedule.get(current_run_id=first["run"]).current_run
    assert calculate_run_task.apply(args=[run.pk]).get()["status"] == "succeeded"


def test_beat_has_nothing_to_do_without_a_weekly_schedule(db):
    from commissions.tasks import calculate_previous_week_task
    from tests.factories import make_plan_version

    make_plan_version()
    assert "pays nothing weekly" in calculate_previous_week_task.apply().get()["skipped"]


def test_the_income_disclosure_counts_the_closed_weeks_ending_in_its_year(team):
    from compliance import disclosure

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    week_run = calculate_week(week=WEEK)
    close_week(week=WEEK, now=AFTER_GRACE)
    month_run = calculate_period(period=Period(2026, 3))
    close_period(period=Period(2026, 3), now=dt.datetime(2026, 4, 10, tzinfo=dt.UTC))
    # A week from 28 December 2026 to 3 January 2027 counts in 2027, the year it ends in.
    new_year = Week(dt.date(2026, 12, 28))
    buy(eve, "50", paid_at=new_year.start + dt.timedelta(days=1))
    calculate_week(week=new_year)
    close_week(week=new_year, now=new_year.end + dt.timedelta(days=5))

    source = disclosure.disclosure_source(2026)
    assert source.weeks == [WEEK.first_day.isoformat()]
    assert source.week_run_ids == [week_run.pk]
    assert "With the 1 closed pay week(s) ending in 2026" in disclosure.describe_source(source)
    assert disclosure.disclosure_source(2027).weeks == [new_year.first_day.isoformat()]
    # Each participant earned the month's and the week's period totals: Dee 20.00 of fast
    # start in the week beside the month's unilevel.
    expected = {
        person.pk: sum(
            DistributorResult.objects.filter(
                run__in=[week_run, month_run], distributor=person
            ).values_list("period_total", flat=True)
        )
        for person in team
    }
    assert result_of(week_run, dee).period_total == 2000
    earnings, _, _ = disclosure.participant_columns(source)
    assert sorted(earnings.tolist()) == sorted(expected.values())
    # The staff overview's payout of March is the month's run and the week's, out of March's CV.
    from portal.staff import payout_history

    (march,), _ = payout_history()
    paid = month_run.summary["total_paid"] + week_run.summary["total_paid"]
    assert march.total_paid * 100 == paid and paid > month_run.summary["total_paid"]
    assert march.percent_of_cv == (Decimal(paid) * 100 / month_run.summary["total_cv"]).quantize(
        Decimal("0.01")
    )


def test_a_closed_weeks_earnings_show_on_the_dashboard_and_in_the_personal_data(team):
    from portal.dashboard import monthly_history
    from portal.privacy import personal_data

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    calculate_week(week=WEEK)
    dee.refresh_from_db()  # joined on 1 March (the fixture's update)
    march = Period(2026, 3)
    in_april = dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC)
    # Before the week closes its figures are nobody's earnings yet.
    before = {row.period: row.earned for row in monthly_history(dee, now=in_april)}
    assert before[march] is None
    close_week(week=WEEK, now=AFTER_GRACE)
    # Dee's 20.00 of weekly fast start is March's, the month the week ends in (March itself
    # is not closed: no monthly statement yet).
    after = {row.period: row.earned for row in monthly_history(dee, now=in_april)}
    assert str(after[march]) == "20.00"
    statements = personal_data(dee.user)["statements"]
    assert [(s["period"], s["period_total"]) for s in statements] == [
        ("week of 2026-03-09", "20.00")
    ]
    lines = personal_data(dee.user)["statement_lines"]
    assert {line["period"] for line in lines} == {"week of 2026-03-09"}


def test_closing_a_week_tells_its_earners_their_weekly_statement_is_ready(team):
    from messaging.models import Notification, NotificationKind
    from messaging.tasks import notify_period_closed_task

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    calculate_week(week=WEEK)
    row = close_week(week=WEEK, now=AFTER_GRACE)
    notify_period_closed_task.apply(args=[row.pk]).get()
    notify_period_closed_task.apply(args=[row.pk]).get()  # once per week
    ready = Notification.objects.filter(user=dee.user, kind=NotificationKind.STATEMENT_READY)
    assert list(ready.values_list("title", "url")) == [
        ("Your statement for the week of 2026-03-09 is ready", "/earnings/week-2026-03-09/")
    ]
    assert not Notification.objects.filter(kind=NotificationKind.RANK_REACHED).exists()


def test_the_commands_calculate_close_and_export_a_pay_week(team, tmp_path, monkeypatch):
    from django.core.management import call_command

    from tests.clock import Clock

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    Clock(monkeypatch, AFTER_GRACE)
    call_command("run_commissions", "2026-03-09", "--close")
    row = CommissionPeriod.every_schedule.get(schedule=Schedule.WEEKLY, month=WEEK.first_day)
    assert row.status == PeriodStatus.CLOSED
    output = tmp_path / "week.csv"
    call_command("export_payouts", "2026-03-09", "--output", str(output))
    row.refresh_from_db()
    assert row.status == PeriodStatus.PAID
    assert output.read_bytes() == export_week_payouts(week=WEEK)  # the same bytes again


def test_staff_close_and_export_a_pay_week_in_the_admin(team, client):
    from django.urls import reverse

    from tests.factories import UserFactory, log_in_with_mfa

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    calculate_week(week=WEEK)
    calculate_period(period=Period(2026, 3))
    staff = UserFactory(is_staff=True, is_superuser=True)
    log_in_with_mfa(client, staff)
    url = reverse("admin:commissions_commissionperiod_changelist")
    listed = client.get(url, {"schedule__exact": "weekly"}).content.decode()
    assert "week of 2026-03-09" in listed and "2026-03</a>" not in listed
    row = CommissionPeriod.every_schedule.get(schedule=Schedule.WEEKLY)
    client.post(url, {"action": "close", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.status, row.closed_by) == (PeriodStatus.CLOSED, staff)
    exported = client.post(url, {"action": "export", "_selected_action": [row.pk]})
    assert exported["Content-Type"].startswith("text/csv")
    assert exported.content == export_week_payouts(week=WEEK)
    assert (
        client.get(reverse("admin:commissions_commissionperiod_change", args=[row.pk])).status_code
        == 200
    )


def test_the_dashboard_lists_the_last_closed_pay_weeks_with_their_statements(team, client):
    import re

    from django.urls import reverse

    ann, cal, dee, eve = team
    buy(dee, "100", paid_at=IN_WEEK)
    buy(eve, "200", paid_at=IN_WEEK)
    calculate_week(week=WEEK)
    close_week(week=WEEK, now=AFTER_GRACE)
    client.force_login(dee.user)
    page = client.get(reverse("dashboard")).content.decode()
    weeks = page[page.index('data-testid="weekly-statements"') :]
    link = reverse("earnings_week", args=["2026-03-09"])
    assert re.search(rf'href="{link}">Week of 2026-03-09</a>\s*<span[^>]*>\$?20\.00', weeks)
    assert client.get(link).status_code == 200
