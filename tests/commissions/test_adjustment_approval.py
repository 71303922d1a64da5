"""The approval threshold applies to what one staff member adjusts for one distributor in one
period, not to each adjustment: splitting an amount into pieces just under it needs a second
person just the same, and that person is never the creator."""

from decimal import Decimal

import pytest
from django.urls import reverse

from commissions.errors import CommissionError
from commissions.models import Adjustment, AdjustmentStatus
from commissions.services.adjustments import (
    adjustment_approve,
    adjustment_create,
    adjustment_reject,
)
from core.periods import Period
from tests.factories import UserFactory, log_in_with_mfa, make_distributor

pytestmark = pytest.mark.django_db

MAY = Period(2031, 5)  # open; the threshold is the default 500.00


@pytest.fixture
def alice():
    return UserFactory(is_staff=True, is_superuser=True, name="Alice Admin")


@pytest.fixture
def bob():
    return UserFactory(is_staff=True, is_superuser=True, name="Bob Approver")


def adjust(person, amount: str, by, period: Period = MAY) -> Adjustment:
    return adjustment_create(
        distributor=person, amount=Decimal(amount), reason="Missed bonus", by=by, period=period
    )


def test_small_adjustments_count_at_once_until_their_total_passes_the_threshold(alice):
    ben = make_distributor()

    statuses = [adjust(ben, "199.99", alice).status for _ in range(3)]

    assert statuses == [AdjustmentStatus.APPROVED, AdjustmentStatus.APPROVED, "pending"]
    assert adjust(ben, "0.01", alice).status == AdjustmentStatus.PENDING  # and stay above it


def test_the_total_reaching_the_threshold_exactly_still_counts_at_once(alice):
    ben = make_distributor()
    assert adjust(ben, "250.00", alice).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "250.00", alice).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "0.01", alice).status == AdjustmentStatus.PENDING


def test_money_taken_back_counts_towards_the_total_too(alice):
    ben = make_distributor()
    assert adjust(ben, "300.00", alice).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "-300.00", alice).status == AdjustmentStatus.PENDING


def test_each_person_period_and_staff_member_has_their_own_total(alice, bob):
    ben, cal = make_distributor(), make_distributor()
    adjust(ben, "450.00", alice)

    assert adjust(cal, "450.00", alice).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "450.00", alice, period=MAY.next()).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "450.00", bob).status == AdjustmentStatus.APPROVED
    assert adjust(ben, "450.00", alice).status == AdjustmentStatus.PENDING


def test_a_rejected_adjustment_leaves_the_total(alice, bob):
    ben = make_distributor()
    adjust(ben, "450.00", alice)
    waiting = adjust(ben, "100.00", alice)
    adjustment_reject(adjustment=waiting, by=bob, note="duplicate")

    assert adjust(ben, "50.00", alice).status == AdjustmentStatus.APPROVED


def test_a_split_adjustment_is_approved_by_a_second_person_only(alice, bob):
    ben = make_distributor()
    for _ in range(5):
        adjust(ben, "150.00", alice)
    waiting = Adjustment.objects.filter(status=AdjustmentStatus.PENDING).order_by("pk")
    assert waiting.count() == 2  # 150 + 150 + 150 = 450 counted; the fourth and fifth wait

    for adjustment in waiting:
        with pytest.raises(CommissionError, match="second staff member"):
            adjustment_approve(adjustment=adjustment, by=alice)
        with pytest.raises(CommissionError, match="staff member must decide"):
            adjustment_approve(adjustment=adjustment, by=None)
    for adjustment in waiting:
        approved = adjustment_approve(adjustment=adjustment, by=bob)
        assert (approved.status, approved.decided_by) == (AdjustmentStatus.APPROVED, bob)


def test_the_admin_says_the_total_and_only_another_staff_member_approves(client, alice, bob):
    ben = make_distributor(name="Ben Split")
    url = reverse("admin:commissions_adjustment_add")
    log_in_with_mfa(client, alice)
    for _ in range(2):
        client.post(url, {"distributor": ben.pk, "amount_decimal": "300.00", "reason": "bonus"})
    last = client.post(
        url, {"distributor": ben.pk, "amount_decimal": "300.00", "reason": "bonus"}, follow=True
    )
    texts = [str(m) for m in last.context["messages"]]
    assert any("come to 900.00, above the approval threshold of 500.00" in t for t in texts), texts
    waiting = Adjustment.objects.filter(status=AdjustmentStatus.PENDING)
    assert waiting.count() == 2

    changelist = reverse("admin:commissions_adjustment_changelist")
    ids = [str(pk) for pk in waiting.values_list("pk", flat=True)]
    client.post(changelist, {"action": "approve", "_selected_action": ids, "note": "ok"})
    assert waiting.count() == 2  # the creator cannot approve their own

    log_in_with_mfa(client, bob)
    client.post(changelist, {"action": "approve", "_selected_action": ids, "note": "ok"})
    assert not waiting.exists()
    assert set(Adjustment.objects.values_list("decided_by", flat=True)) == {None, bob.pk}
