"""Admin: erasure requests (approve/reject with a reason). The model is compliance's; the
erasure it carries out reaches every app, so its admin lives in the top layer."""

from __future__ import annotations

from django.contrib import admin

from compliance.models import ErasureRequest, ErasureStatus
from core.review_admin import ReviewAdmin, decision_form

from . import privacy

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
