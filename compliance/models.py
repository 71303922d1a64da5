"""Compliance: flags raised per distributor per period, the published income disclosure
statements, and erasure requests (the right to be forgotten).

Flags are computed set-based by ``compliance.services.compute_compliance_flags`` and reviewed
by staff: dismissed with a reason, or turned into a compliance hold on payouts (a
``commissions.Hold``). A disclosure statement is a frozen snapshot: figures and where they
came from (periods, runs), so the public page never changes under a reader.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .evidence import evidence_in_words


class FlagKind(models.TextChoices):
    PERSONAL_USE_SHARE = "personal_use_share", "Personal use above the allowed share of PV"
    FEW_RETAIL_CUSTOMERS = "few_retail_customers", "Too few retail customers"
    LOADING_AMOUNT = "loading_amount", "Inventory loading: personal purchases above the limit"
    LOADING_SPIKE = "loading_spike", "Inventory loading: spike against own history"
    RECRUITING_WITHOUT_SELLING = "recruiting_without_selling", "Recruiting without selling"


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    HOLD = "hold", "Compliance hold placed"


class ComplianceFlag(models.Model):
    """One rule one distributor tripped in one period (one row per distributor, period, kind)."""

    distributor = models.ForeignKey(
        "genealogy.Distributor", on_delete=models.PROTECT, related_name="compliance_flags"
    )
    period = models.DateField(help_text="First day of the month.")
    kind = models.CharField(max_length=32, choices=FlagKind.choices)
    measured = models.JSONField(default=dict, help_text="The values the rule measured.")
    threshold = models.JSONField(default=dict, help_text="The settings the rule compared with.")
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    hold = models.ForeignKey(
        "commissions.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    computed_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-period", "kind", "distributor_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "period", "kind"], name="compliance_flag_once"
            ),
            models.CheckConstraint(condition=Q(period__day=1), name="compliance_flag_month"),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(reviewed_at__isnull=False) & ~Q(reason="")),
                name="compliance_flag_review_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="hold") | Q(hold__isnull=False),
                name="compliance_flag_hold_has_hold",
            ),
        ]
        indexes = [
            # The staff list: one status, newest month first, in the model's order.
            models.Index(
                fields=["status", "-period", "kind", "distributor"],
                name="compliance_flag_list_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.distributor_id} · {self.period:%Y-%m}"

    @property
    def period_label(self) -> str:
        return f"{self.period:%Y-%m}"

    @property
    def evidence(self) -> str:
        """What the rule measured, in words (``compliance.evidence``)."""
        return evidence_in_words(self.kind, self.measured, self.threshold)


class DisclosureStatement(models.Model):
    """A generated income disclosure statement: figures frozen with their source."""

    year = models.PositiveSmallIntegerField()
    generated_at = models.DateTimeField(default=timezone.now)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_published = models.BooleanField(default=True)
    source = models.JSONField(help_text="Periods and runs the figures come from.")
    figures = models.JSONField()

    class Meta:
        ordering = ["-year", "-generated_at", "-id"]
        indexes = [models.Index(fields=["year", "-generated_at"], name="disclosure_by_year_idx")]

    def __str__(self) -> str:
        return f"Income disclosure {self.year} ({self.generated_at:%Y-%m-%d %H:%M})"


class ErasureStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for a decision"
    APPROVED = "approved", "Approved: personal data erased"
    REJECTED = "rejected", "Rejected"


class ErasureRequest(models.Model):
    """A person's request to erase their personal data, and staff's audited decision."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="erasure_requests"
    )
    status = models.CharField(
        max_length=16, choices=ErasureStatus.choices, default=ErasureStatus.REQUESTED
    )
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True, help_text="What the person wrote.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    pseudonym = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="requested"), name="one_open_erasure_request"
            ),
            models.CheckConstraint(
                condition=Q(status="requested")
                | (Q(decided_at__isnull=False) & ~Q(decision_reason="")),
                name="erasure_decision_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Erasure request #{self.pk} ({self.get_status_display()})"
