import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import User
from genealogy.demo import DEMO_LOGINS, build_sponsor_links
from genealogy.labels import check_labels
from genealogy.models import Distributor, Placement

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_a_placed_company_with_demo_logins(capsys):
    call_command("seed_demo", distributors=300, seed=7, commission_months=0)
    rows = list(
        Distributor.objects.order_by("id").values_list("id", "sponsor_id", "lft", "rght", "level")
    )
    # The house, 300 people, and six new recruits waiting in holding tanks (4 of the leader's).
    assert len(rows) == 307
    leader = Distributor.objects.get(user__email=DEMO_LOGINS["leader"])
    waiting = Placement.objects.filter(placed_at__isnull=True)
    assert waiting.count() == 6
    assert waiting.filter(distributor__sponsor=leader).count() == 4
    assert all(row.tank_deadline > timezone.now() for row in waiting)
    assert Placement.objects.filter(placed_at__isnull=False).count() == 301
    ids = np.array([r[0] for r in rows])
    sponsors = np.array([-1 if r[1] is None else r[1] for r in rows])
    descendants = Distributor.objects.order_by("id").values_list("descendants", flat=True)
    problems = check_labels(
        ids,
        sponsors,
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows]),
        level=np.array([r[4] for r in rows]),
        descendants=np.array(list(descendants)),
    )
    assert problems == []  # the placed sponsor tree is the sponsor links, numbered
    for email in DEMO_LOGINS.values():
        assert User.objects.get(email=email).emailaddress_set.get().verified
    assert "staff@ladder.example" in capsys.readouterr().out


def test_seed_demo_refuses_a_company_that_has_people():
    call_command("seed_demo", distributors=20, commission_months=0)
    with pytest.raises(CommandError, match="already has distributors"):
        call_command("seed_demo", distributors=20)
    call_command("seed_demo", distributors=20, if_empty=True)
    assert Distributor.objects.count() == 21 + 6  # and the six recruits in holding tanks


def test_demo_tree_is_deterministic_and_has_a_heavy_tail():
    first = build_sponsor_links(50_000, np.random.default_rng(3))
    second = build_sponsor_links(50_000, np.random.default_rng(3))
    assert np.array_equal(first, second)
    recruits = np.bincount(first, minlength=50_001)[1:]
    assert (recruits == 0).mean() > 0.5  # most people enroll nobody
    assert recruits.max() >= 50  # a few enroll many
    assert (first < np.arange(1, 50_001)).all()  # sponsors joined before their enrollees


@pytest.mark.django_db(transaction=True)
def test_seed_demo_closes_and_pays_past_months_of_commissions():
    from commissions.models import CommissionPeriod
    from orders.models import OrderLine
    from tests.factories import house

    house()
    # Five months of orders: two closed, the finished month left open, the month in its grace
    # period for late payments, and the current one.
    call_command("seed_demo", distributors=60, order_months=5, commission_months=2)
    assert OrderLine.objects.exists()
    paid = CommissionPeriod.objects.filter(status="paid").count()
    # Last month is only calculated while its grace period for late payments runs (early days).
    calculated = CommissionPeriod.objects.filter(status="calculated").count()
    assert paid >= 1 and paid + calculated == 2


@pytest.fixture
def eager_celery():
    """Tasks run in-process, so anything seeding queued would send its email here."""
    from config.celery import app as celery_app

    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def outbox_rows(task_name: str | None = None) -> int:
    """Tasks written to the transactional outbox (of one name), when the project has one."""
    from django.apps import apps

    if not apps.is_installed("outbox"):
        return 0
    rows = apps.get_model("outbox", "OutboxTask").objects.all()
    return (rows.filter(task_name=task_name) if task_name else rows).count()


@pytest.mark.django_db(transaction=True)
def test_seeding_sends_no_email_notifies_nobody_and_queues_no_task(eager_celery):
    from django.core import mail

    from messaging.models import Notification
    from tests.factories import house

    house()
    call_command("seed_demo", distributors=60, order_months=4, commission_months=2)

    assert mail.outbox == []
    assert Notification.objects.count() == 0
    assert outbox_rows() == 0


@pytest.mark.django_db(transaction=True)
def test_messaging_hears_events_again_after_seeding(eager_celery):
    from messaging.models import Notification, NotificationKind
    from tests.factories import house, make_distributor

    house()
    call_command("seed_demo", distributors=20, commission_months=0)
    leader = Distributor.objects.filter(is_house=False).order_by("id").first()

    make_distributor(sponsor=leader)

    # The sponsor is told (through the outbox, when the project has one; here eagerly).
    told = Notification.objects.filter(user=leader.user, kind=NotificationKind.NEW_RECRUIT)
    assert told.exists() or outbox_rows("messaging.notify_new_recruit") == 1


@pytest.mark.django_db(transaction=True)
def test_demo_company_shows_every_feature_without_a_shell(capsys):
    from allauth.mfa.models import Authenticator
    from django.utils import timezone

    from commissions.demo import ready_period
    from commissions.models import Adjustment, AdjustmentStatus, CommissionPeriod
    from commissions.services.adjustments import adjustment_approve
    from commissions.services.close import close_period, export_payouts
    from commissions.services.periods import closable_from
    from commissions.services.runs import calculate_period
    from compliance.models import ComplianceFlag, DisclosureStatement
    from genealogy.demo import STAFF_LOGINS
    from messaging.models import Announcement
    from tests.factories import house
    from training.models import TrainingItem

    house()
    call_command("seed_demo", distributors=200, order_months=5, commission_months=2)
    now = timezone.now()
    ready = ready_period(now)

    # A finished month, past its grace period, open and not calculated...
    assert closable_from(ready) <= now
    row = CommissionPeriod.objects.filter(month=ready.first_day).first()
    assert row is None or (row.status == "open" and row.current_run_id is None)
    # ...after the months before it, closed and paid.
    paid = CommissionPeriod.objects.filter(status="paid").order_by("month")
    assert [p.period for p in paid] == [ready.shifted(-2), ready.shifted(-1)]
    # Compliance flags computed and an income disclosure published.
    assert ComplianceFlag.objects.filter(period__in=[ready.shifted(-1).first_day]).exists()
    assert DisclosureStatement.objects.filter(
        is_published=True, year=ready.shifted(-1).year
    ).exists()
    # Two staff logins with an authenticator, and an adjustment waiting for the second one.
    staff = User.objects.filter(is_staff=True, email__in=list(STAFF_LOGINS))
    assert staff.count() == 2
    assert Authenticator.objects.filter(user__in=staff, type="totp").count() == 2
    pending = Adjustment.objects.get(status=AdjustmentStatus.PENDING)
    assert pending.created_by.email == "staff@ladder.example"
    # Content for a new distributor.
    assert TrainingItem.objects.filter(is_required=True).exists()
    assert TrainingItem.objects.filter(title="Your first 30 days").exists()
    assert Announcement.objects.count() >= 2

    # Staff can calculate, close and export the ready month, and approve as the second person.
    calculate_period(period=ready)
    close_period(period=ready, now=now)
    export_payouts(period=ready)
    assert CommissionPeriod.objects.get(month=ready.first_day).status == "paid"
    approver = User.objects.get(email="approver@ladder.example")
    assert adjustment_approve(adjustment=pending, by=approver).status == "approved"


@pytest.mark.django_db(transaction=True)
def test_demo_totp_prints_a_code_for_both_staff_logins(capsys):
    from tests.factories import house

    house()
    call_command("seed_demo", distributors=20, commission_months=0)
    capsys.readouterr()

    call_command("demo_totp")

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "staff@ladder.example",
        "approver@ladder.example",
    ]
    assert all(len(line.split()[1]) == 6 and line.split()[1].isdigit() for line in lines)
