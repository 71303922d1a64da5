"""Admin screens (same services as the commands), plan versions, the beat schedule, tasks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from commissions.errors import RunInProgress
from commissions.models import (
    Adjustment,
    AdjustmentStatus,
    CommissionPeriod,
    CommissionRun,
    PlanVersion,
)
from commissions.services.adjustments import adjustment_create, hold_place
from commissions.services.close import export_payouts
from commissions.services.periods import period_row
from commissions.services.plans import plan_version_update
from commissions.services.runs import calculate_period, refresh_projection, run_request
from tests.commissions.conftest import PERIOD
from tests.factories import COMMISSION_TEST_PLAN, UserFactory, log_in_with_mfa, make_plan_version


def admin_user(client, **fields):
    user = UserFactory(is_staff=True, is_superuser=True, **fields)
    log_in_with_mfa(client, user)
    return user


@pytest.mark.django_db
def test_migration_schedules_the_monthly_run_and_the_projection():
    monthly = PeriodicTask.objects.get(task="commissions.calculate_previous_month")
    projection = PeriodicTask.objects.get(task="commissions.refresh_projection")
    assert monthly.crontab.day_of_month == "1" and monthly.crontab.hour == "2"
    assert projection.interval.every == 1 and projection.interval.period == "minutes"
    weekly = PeriodicTask.objects.get(task="commissions.calculate_previous_week")
    assert weekly.crontab.day_of_week == "*" and weekly.crontab.hour == "2"  # daily, once a week


@pytest.mark.django_db
def test_calculate_action_enqueues_the_task_on_commit(client, django_capture_on_commit_callbacks):
    make_plan_version()
    admin_user(client)
    row = period_row(PERIOD)
    with django_capture_on_commit_callbacks() as callbacks:
        run_request(period=PERIOD)
    assert len([c for c in callbacks if "calendar_changed" not in c.__qualname__]) == 1
    assert CommissionRun.objects.get(period=row).status == "queued"
    with pytest.raises(RunInProgress):
        run_request(period=PERIOD)


@pytest.mark.django_db(transaction=True)
def test_admin_pages_show_periods_runs_and_the_plan_verdict(client, chain):
    version = make_plan_version()
    admin_user(client)
    calculate_period(period=PERIOD)
    run = CommissionRun.objects.get()

    assert client.get(reverse("admin:commissions_commissionperiod_changelist")).status_code == 200
    page = client.get(reverse("admin:commissions_commissionrun_change", args=[run.pk]))
    assert page.status_code == 200 and "% of CV" in page.content.decode()
    plan_page = client.get(reverse("admin:commissions_planversion_change", args=[version.pk]))
    text = plan_page.content.decode()
    assert "Pays on enrollment" in text and "20.00 % of CV" in text
    for name in ("adjustment", "hold", "commissionline", "distributorresult", "clawback"):
        assert client.get(reverse(f"admin:commissions_{name}_changelist")).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_admin_close_and_export_actions_call_the_services(client, chain):
    make_plan_version()
    admin_user(client)
    calculate_period(period=PERIOD)
    row = CommissionPeriod.objects.get()
    url = reverse("admin:commissions_commissionperiod_changelist")

    client.post(url, {"action": "close", "_selected_action": [row.pk]})
    exported = client.post(url, {"action": "export", "_selected_action": [row.pk]})

    assert exported["Content-Type"].startswith("text/csv")
    assert exported.content == export_payouts(period=PERIOD)
    assert CommissionPeriod.objects.get().status == "paid"


@pytest.mark.django_db
def test_admin_refuses_self_approval_of_a_large_adjustment(client, chain):
    make_plan_version()
    alice = admin_user(client)
    adjustment = adjustment_create(
        distributor=chain.ben, amount=Decimal("900"), reason="Bonus fix", by=alice, period=PERIOD
    )
    url = reverse("admin:commissions_adjustment_changelist")

    client.post(url, {"action": "approve", "_selected_action": [adjustment.pk], "note": ""})

    assert Adjustment.objects.get().status == AdjustmentStatus.PENDING


@pytest.mark.django_db
def test_plan_validation_errors_name_the_field(client):
    admin_user(client)
    bad = "name: X\nactivity: {personal_pv: '50'}\nranks: [{code: a, unilevel_levels: 9}]\n"
    bad += "unilevel: {percents: ['5']}\nsignup_bonus: '10'\n"
    page = client.post(
        reverse("admin:commissions_planversion_add"),
        {"effective_month": "2026-01", "note": "", "source": bad},
    )
    text = page.content.decode()
    assert "ranks[0].unilevel_levels: must be at most 1" in text
    assert "signup_bonus: pays on enrollment" in text
    assert not PlanVersion.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_used_plan_version_is_never_edited_an_edit_makes_a_new_version(chain):
    import json

    version = make_plan_version()
    calculate_period(period=PERIOD)

    edited = plan_version_update(
        version=version, source=json.dumps({**COMMISSION_TEST_PLAN, "name": "Renamed"})
    )

    assert edited.pk != version.pk
    assert PlanVersion.objects.get(pk=version.pk).name == "Test plan"


@pytest.mark.django_db(transaction=True)
def test_projection_keeps_the_open_month_fresh_and_skips_unchanged_inputs(chain):
    import datetime as dt

    make_plan_version()
    now = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)
    first = refresh_projection(now=now)
    again = refresh_projection(now=now)

    assert first.pk == again.pk and first.purpose == "projection"
    assert period_row(PERIOD).projection_run_id == first.pk
    assert first.summary["total_paid"] == 5600


@pytest.mark.django_db
def test_admin_ends_holds_one_by_one_and_reports_a_refused_one(client, chain):
    from commissions.models import Hold, HoldStatus

    staff = admin_user(client)
    first = hold_place(distributor=chain.ann, reason="Review", by=staff)
    second = hold_place(distributor=chain.ben, reason="Review", by=staff)
    url = reverse("admin:commissions_hold_changelist")
    selected = {"action": "release", "_selected_action": [first.pk, second.pk]}

    refused = client.post(url, {**selected, "note": ""}, follow=True)

    assert Hold.objects.filter(status=HoldStatus.ACTIVE).count() == 2
    assert f"#{first.pk}: Say why the hold ends." in refused.content.decode()

    done = client.post(url, {**selected, "note": "Cleared by review"}, follow=True)

    assert set(Hold.objects.values_list("status", flat=True)) == {HoldStatus.RELEASED}
    assert f"Hold #{second.pk} ended." in done.content.decode()
