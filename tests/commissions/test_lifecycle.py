"""Calculate → review → close → export, through the services, on real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from commissions.errors import CommissionError, RunInProgress
from commissions.models import (
    Adjustment,
    AdjustmentStatus,
    Clawback,
    CommissionLine,
    CommissionRun,
    DistributorResult,
    HoldStatus,
    LineKind,
    PeriodStatus,
)
from commissions.services.adjustments import (
    adjustment_approve,
    adjustment_create,
    hold_forfeit,
    hold_place,
    hold_release,
)
from commissions.services.close import close_period, export_payouts, payout_rows
from commissions.services.periods import RUN_LOCK_CLASS, period_row
from commissions.services.runs import calculate_period
from genealogy.models import Distributor
from orders.models import RefundReason
from orders.services import order_refund
from tests.commissions.conftest import PERIOD
from tests.factories import COMMISSION_TEST_PLAN, UserFactory, make_plan_version

pytestmark = pytest.mark.django_db(transaction=True)
APRIL = PERIOD.next()
IN_APRIL = dt.datetime(2026, 4, 12, 15, 0, tzinfo=dt.UTC)


def ledger(run) -> list[tuple]:
    return list(
        CommissionLine.objects.filter(run=run)
        .order_by("position")
        .values_list(
            "earner_id",
            "kind",
            "level",
            "source_id",
            "source_line_id",
            "base",
            "rate_ppm",
            "rate_units",
            "amount_before_cap",
            "amount",
            "position",
        )
    )


def return_in_april(buyer) -> None:
    """The buyer's only order (one line) is returned in full in April."""
    order = buyer.orders.get()
    order_refund(
        order=order,
        quantities={order.lines.get().pk: 1},
        reason=RefundReason.RETURN,
        now=IN_APRIL,
    )


def results(run) -> list[tuple]:
    return list(
        DistributorResult.objects.filter(run=run)
        .order_by("distributor_id")
        .values_list(
            "distributor_id",
            "paid_as_rank",
            "period_total",
            "balance",
            "payable",
            "carried_out",
            "carried_in",
            "on_hold",
        )
    )


def result_of(run, person) -> DistributorResult:
    return DistributorResult.objects.get(run=run, distributor=person)


def test_rerun_on_the_same_inputs_gives_identical_lines_and_export_bytes(chain, plan_version):
    first = calculate_period(period=PERIOD)
    first_lines, first_results = ledger(first), results(first)

    second = calculate_period(period=PERIOD)

    assert second.pk != first.pk
    assert second.input_hash == first.input_hash
    assert ledger(second) == first_lines
    assert results(second) == first_results
    # The superseded run's rows are gone: no duplicates for the period.
    assert not CommissionLine.objects.filter(run=first).exists()
    assert CommissionRun.objects.get(pk=first.pk).status == "superseded"
    close_period(period=PERIOD)
    export = export_payouts(period=PERIOD)
    assert export_payouts(period=PERIOD) == export
    assert period_row(PERIOD).status == PeriodStatus.PAID
    expected = sorted(
        [
            (chain.ann.number, "Ann Avery", "31.00"),
            (chain.cal.number, "Cal Diaz", "15.00"),
            (chain.dee.number, "Dee Brown", "10.00"),
        ]
    )
    assert export.decode().splitlines() == [
        "distributor_number,name,amount,currency,payout_method,payout_account",
        *(f"{number},{name},{amount},USD,bank_transfer," for number, name, amount in expected),
    ]


def test_export_pays_each_person_by_their_method_and_account_else_the_default(
    chain, plan_version, settings
):
    # Given Ann paid by PayPal, Cal by check, and Dee, who has not chosen, under a default of
    # bank transfer with three methods offered
    settings.LADDER_PAYOUT_METHODS = ["bank_transfer", "paypal", "check"]
    settings.LADDER_PAYOUT_METHOD = "bank_transfer"
    Distributor.objects.filter(pk=chain.ann.pk).update(
        payout_method="paypal", payout_account="ann.avery@pay.example"
    )
    Distributor.objects.filter(pk=chain.cal.pk).update(payout_method="check")
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    # When the month's payouts are exported (twice)
    export = export_payouts(period=PERIOD)

    # Then each row carries the person's own method and account, in number order, same bytes
    rows = {
        number: (method, account)
        for number, *_, method, account in (
            line.split(",") for line in export.decode().splitlines()[1:]
        )
    }
    assert rows == {
        str(chain.ann.number): ("paypal", "ann.avery@pay.example"),
        str(chain.cal.number): ("check", ""),
        str(chain.dee.number): ("bank_transfer", ""),
    }
    numbers = [line.split(",")[0] for line in export.decode().splitlines()[1:]]
    assert numbers == sorted(numbers, key=int)
    assert export_payouts(period=PERIOD) == export


def test_export_cells_never_start_like_a_spreadsheet_formula(chain, plan_version):
    chain.ann.user.name = '=HYPERLINK("http://evil.example")'
    chain.ann.user.save()
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    export = export_payouts(period=PERIOD).decode()

    assert "'=HYPERLINK" in export
    assert ",=" not in export and not any(line.startswith("=") for line in export.splitlines())


def test_people_without_a_choice_are_paid_by_the_configured_default(chain, plan_version, settings):
    settings.LADDER_PAYOUT_METHODS = ["bank_transfer", "check"]
    settings.LADDER_PAYOUT_METHOD = "check"
    Distributor.objects.filter(pk=chain.dee.pk).update(
        payout_method="bank_transfer", payout_account="RCP-0042"
    )
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    lines = export_payouts(period=PERIOD).decode().splitlines()

    assert f"{chain.ann.number},Ann Avery,31.00,USD,check," in lines
    assert f"{chain.cal.number},Cal Diaz,15.00,USD,check," in lines
    assert f"{chain.dee.number},Dee Brown,10.00,USD,bank_transfer,RCP-0042" in lines


def test_payout_rows_read_the_people_in_one_query(chain, plan_version, django_assert_num_queries):
    calculate_period(period=PERIOD)
    row = close_period(period=PERIOD)
    for person in chain.people:
        Distributor.objects.filter(pk=person.pk).update(
            payout_method="paypal", payout_account=f"{person.number}@pay.example"
        )

    with django_assert_num_queries(2):  # the payable balances, then the people
        rows = payout_rows(row)

    assert [(method, account) for *_, method, account in rows] == [
        ("paypal", f"{number}@pay.example") for number, *_ in rows
    ]
    assert len(rows) == 3


def test_a_second_run_while_one_holds_the_period_is_refused(chain, plan_version):
    db = connection.settings_dict
    other = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        dbname=db["NAME"],
        autocommit=True,
    )
    try:
        key = PERIOD.year * 100 + PERIOD.month
        other.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_CLASS, key])

        with pytest.raises(RunInProgress, match="being calculated"):
            calculate_period(period=PERIOD)
        with pytest.raises(RunInProgress):
            close_period(period=PERIOD)
        # Unlock before closing: a closed connection's locks are released by its backend
        # process a moment later, which a loaded machine lets the next run see.
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_CLASS, key])
    finally:
        other.close()
    assert calculate_period(period=PERIOD).status == "succeeded"


def test_closed_period_ledger_is_immutable_in_the_database(chain, plan_version):
    run = calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    for statement in (
        "UPDATE commissions_commissionline SET amount = amount + 1 WHERE run_id = %s",
        "DELETE FROM commissions_commissionline WHERE run_id = %s",
        "UPDATE commissions_distributorresult SET payable = 0 WHERE run_id = %s",
        "DELETE FROM commissions_distributorresult WHERE run_id = %s",
        "UPDATE commissions_commissionrun SET summary = '{}' WHERE id = %s",
        "UPDATE commissions_commissionperiod SET status = 'open' WHERE current_run_id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="refused"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [run.pk])
    with (
        pytest.raises(DatabaseError, match="cannot change"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE commissions_planversion SET name = 'x' WHERE id = %s", [run.plan_version_id]
        )
    with pytest.raises(CommissionError, match="closed"):
        calculate_period(period=PERIOD)


def test_balances_carry_including_negative_ones(chain):
    make_plan_version({**COMMISSION_TEST_PLAN, "minimum_payout": "12"})
    staff = UserFactory(is_staff=True)
    adjustment_create(
        distributor=chain.eve,
        amount=Decimal("-7.50"),
        reason="Overpaid sample",
        by=staff,
        period=PERIOD,
    )
    march = calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    april = calculate_period(period=APRIL)

    dee = result_of(march, chain.dee)
    assert (dee.period_total, dee.payable, dee.carried_out) == (1000, 0, 1000)  # under 12.00
    eve = result_of(march, chain.eve)
    assert (eve.period_total, eve.payable, eve.carried_out) == (-750, 0, -750)
    assert result_of(april, chain.dee).carried_in == 1000
    assert result_of(april, chain.eve).carried_in == -750


def test_refund_of_a_closed_periods_order_claws_back_in_the_open_period(chain, plan_version):
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    return_in_april(chain.eve)

    april = calculate_period(period=APRIL)
    calculate_period(period=APRIL)  # a re-run claws back nothing twice

    clawed = sorted(Clawback.objects.values_list("earner_id", "kind", "level", "amount"))
    assert clawed == sorted(
        [
            (chain.dee.pk, LineKind.UNILEVEL, 1, -1000),
            (chain.cal.pk, LineKind.UNILEVEL, 2, -1000),
            (chain.ann.pk, LineKind.UNILEVEL, 3, -2000),
        ]
    )
    april = period_row(APRIL).current_run
    assert result_of(april, chain.ann).period_total == -2000
    assert result_of(april, chain.ann).carried_out == -2000
    assert result_of(april, chain.eve).cv == 0  # settled by clawback, not counted twice


@pytest.mark.parametrize(
    ("mode", "paid"), [("half_up", 667), ("half_even", 667), ("toward_zero", 666)]
)
def test_a_full_refund_claws_back_exactly_what_was_paid_in_the_plans_rounding_mode(
    chain, mode, paid
):
    # Eve's 200.00 CV pays Dee 3.3333 % on level 1: 666.66 cents, rounded by the plan's mode.
    # Clawbacks used a fixed half up, so a toward-zero plan took back a cent it never paid.
    make_plan_version(
        {**COMMISSION_TEST_PLAN, "unilevel": {"percents": ["3.3333", "5", "10"]}}, rounding=mode
    )
    march = calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    return_in_april(chain.eve)

    calculate_period(period=APRIL)

    line = CommissionLine.objects.get(run=march, earner=chain.dee, kind=LineKind.UNILEVEL)
    clawback = Clawback.objects.get(earner=chain.dee, kind=LineKind.UNILEVEL)
    assert (line.amount, clawback.amount) == (paid, -paid)


def test_refund_claws_back_through_the_frozen_compressed_upline(chain, plan_version):
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    # Cal's 120 paid Ann level 1 in March (Ben, inactive, was skipped): 6.00 comes back.
    return_in_april(chain.cal)

    calculate_period(period=APRIL)

    assert list(Clawback.objects.values_list("earner_id", "level", "amount")) == [
        (chain.ann.pk, 1, -600)
    ]


def test_large_adjustment_needs_a_different_staff_member(chain, plan_version):
    alice, bob = UserFactory(is_staff=True), UserFactory(is_staff=True)
    adjustment = adjustment_create(
        distributor=chain.ben,
        amount=Decimal("600.00"),
        reason="Missed bonus",
        by=alice,
        period=PERIOD,
    )
    assert adjustment.status == AdjustmentStatus.PENDING
    calculate_period(period=PERIOD)
    with pytest.raises(CommissionError, match="wait for approval"):
        close_period(period=PERIOD)

    with pytest.raises(CommissionError, match="second staff member"):
        adjustment_approve(adjustment=adjustment, by=alice)
    with pytest.raises(DatabaseError), transaction.atomic():
        Adjustment.objects.filter(pk=adjustment.pk).update(decided_by=alice, status="approved")
    adjustment_approve(adjustment=adjustment, by=bob)
    run = calculate_period(period=PERIOD)

    assert result_of(run, chain.ben).period_total == 60000
    assert result_of(run, chain.ben).payable == 60000


def test_small_adjustment_counts_at_once(chain, plan_version):
    staff = UserFactory(is_staff=True)
    adjustment_create(
        distributor=chain.ben, amount=Decimal("5.00"), reason="Goodwill", by=staff, period=PERIOD
    )
    run = calculate_period(period=PERIOD)
    assert result_of(run, chain.ben).period_total == 500


def test_hold_keeps_the_balance_until_released(chain, plan_version):
    staff = UserFactory(is_staff=True)
    hold = hold_place(distributor=chain.cal, reason="KYC documents missing", by=staff)
    march = calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    cal = result_of(march, chain.cal)
    assert (cal.on_hold, cal.payable, cal.carried_out) == (True, 0, 1500)
    assert "Cal Diaz" not in export_payouts(period=PERIOD).decode()

    released = hold_release(hold=hold, reason="Documents received", by=staff)
    april = calculate_period(period=APRIL)

    assert released.status == HoldStatus.RELEASED and released.ended_by == staff
    assert result_of(april, chain.cal).payable == 1500


def test_forfeited_hold_takes_the_held_balance_with_a_reason(chain, plan_version):
    staff = UserFactory(is_staff=True)
    hold = hold_place(distributor=chain.cal, reason="Policy breach review", by=staff)
    calculate_period(period=PERIOD)
    close_period(period=PERIOD)

    forfeited = hold_forfeit(hold=hold, reason="Policy breach confirmed", by=staff, now=IN_APRIL)
    april = calculate_period(period=APRIL)

    assert forfeited.forfeiture.amount == -1500
    assert result_of(april, chain.cal).balance == 0


def test_close_refuses_when_inputs_changed_since_the_run(chain, plan_version):
    calculate_period(period=PERIOD)
    staff = UserFactory(is_staff=True)
    adjustment_create(
        distributor=chain.ben, amount=Decimal("1.00"), reason="Late fix", by=staff, period=PERIOD
    )
    with pytest.raises(CommissionError, match="changed since run"):
        close_period(period=PERIOD)


def test_commands_calculate_close_and_export(chain, plan_version, tmp_path, capsys):
    call_command("run_commissions", str(PERIOD), "--close")
    target = tmp_path / "payouts.csv"
    call_command("export_payouts", str(PERIOD), "--output", str(target))

    assert period_row(PERIOD).status == PeriodStatus.PAID
    assert target.read_bytes() == export_payouts(period=PERIOD)


def test_load_plan_names_each_problem(tmp_path):
    from django.core.management.base import CommandError

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: X\nactivity: {personal_pv: '50'}\nranks: []\nunilevel: {percents: []}\n"
        "enrollment_bonus: '10'\n"
    )
    with pytest.raises(CommandError, match="problem"):
        call_command("load_plan", str(bad))
    call_command("load_plan", "plans/demo.yaml", "--effective-from", "2026-01")


MATCHING_PLAN = {
    **COMMISSION_TEST_PLAN,
    "ranks": [
        {
            "code": "member",
            "name": "Member",
            "personal_pv": "100",
            "unilevel_levels": 3,
            "matching_generations": 1,
        }
    ],
    "matching": {"percents": ["10"]},
}


def test_refund_claws_back_the_matching_paid_on_the_undone_unilevel_earnings(chain):
    make_plan_version(MATCHING_PLAN)
    march = calculate_period(period=PERIOD)
    close_period(period=PERIOD)
    # Dee earned 10.00 unilevel on Eve's 200 CV; Cal, who enrolled Dee, earned 10 % of it.
    matched = CommissionLine.objects.get(run=march, kind=LineKind.MATCHING, source=chain.dee)
    assert (matched.earner_id, matched.base, matched.amount) == (chain.cal.pk, 1000, 100)
    return_in_april(chain.eve)

    calculate_period(period=APRIL)
    calculate_period(period=APRIL)  # a re-run claws back nothing twice

    assert list(
        Clawback.objects.filter(kind=LineKind.MATCHING).values_list(
            "earner_id", "level", "refunded_base", "original_base", "amount"
        )
    ) == [(chain.cal.pk, 1, 1000, 1000, -100)]
