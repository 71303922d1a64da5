"""Admin: compliance flags (review through the same services as the staff page), disclosure
statements (read-only snapshots) and erasure requests (approve/reject with a reason)."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts import privacy
from commissions import disclosure
from config.review_admin import ReviewAdmin, decision_form

from . import services
from .models import ComplianceFlag, DisclosureStatement, ErasureRequest, ErasureStatus, FlagStatus

FlagReviewForm = decision_form(
    ComplianceFlag, [("dismiss", "Dismiss"), ("hold", "Hold payouts")], reason_field="review_reason"
)


@admin.register(ComplianceFlag)
class ComplianceFlagAdmin(ReviewAdmin):
    form = FlagReviewForm
    reason_field = "review_reason"
    refused = services.ComplianceError
    list_display = ["period", "distributor", "kind", "status", "reviewed_by", "reviewed_at"]
    list_filter = ["status", "kind", "period"]
    search_fields = ["distributor__number", "distributor__user__email", "distributor__user__name"]
    list_select_related = ["distributor__user", "reviewed_by"]
    readonly_fields = [
        "distributor",
        "period",
        "kind",
        "measured",
        "threshold",
        "status",
        "reviewed_by",
        "reviewed_at",
        "reason",
        "hold",
        "created_at",
        "computed_at",
    ]
    fields = [*readonly_fields, "decision", "review_reason"]

    def is_undecided(self, obj: ComplianceFlag) -> bool:
        return obj.status == FlagStatus.OPEN

    def decide(self, obj: ComplianceFlag, *, decision: str, reason: str, by) -> None:
        service = services.flag_dismiss if decision == "dismiss" else services.flag_hold
        service(flag=obj, reason=reason, by=by)


@admin.register(DisclosureStatement)
class DisclosureStatementAdmin(admin.ModelAdmin):
    list_display = ["year", "generated_at", "generated_by", "is_published", "participants"]
    list_filter = ["year", "is_published"]
    readonly_fields = ["year", "generated_at", "generated_by", "source", "figures"]
    fields = [*readonly_fields, "is_published"]
    actions = ["regenerate"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Participants")
    def participants(self, obj: DisclosureStatement) -> int:
        return obj.figures.get("participants", 0)

    @admin.action(description="Generate the selected years again from the closed periods")
    def regenerate(self, request, queryset) -> None:
        for year in sorted(set(queryset.values_list("year", flat=True))):
            try:
                statement = disclosure.generate_income_disclosure(year=year, by=request.user)
            except disclosure.DisclosureError as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, f"Published {statement}.")


ErasureDecisionForm = decision_form(
    ErasureRequest, [("approve", "Approve: erase now"), ("reject", "Reject")]
)


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ReviewAdmin):
    form = ErasureDecisionForm
    refused = privacy.PrivacyError
    list_display = ["id", "user", "status", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "pseudonym"]
    list_select_related = ["user", "decided_by"]
    readonly_fields = [
        "user",
        "status",
        "requested_at",
        "note",
        "decided_by",
        "decided_at",
        "decision_reason",
        "pseudonym",
    ]
    fields = [*readonly_fields, "decision", "reason"]

    def is_undecided(self, obj: ErasureRequest) -> bool:
        return obj.status == ErasureStatus.REQUESTED

    def decide(self, obj: ErasureRequest, *, decision: str, reason: str, by) -> None:
        service = privacy.erasure_approve if decision == "approve" else privacy.erasure_reject
        service(request=obj, by=by, reason=reason)
