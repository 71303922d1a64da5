"""Admin: compliance flags (review through the same services as the staff page), disclosure
statements (read-only snapshots) and erasure requests (approve/reject with a reason)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts import privacy
from commissions import disclosure

from . import services
from .models import ComplianceFlag, DisclosureStatement, ErasureRequest, ErasureStatus, FlagStatus


class FlagReviewForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "—"), ("dismiss", "Dismiss"), ("hold", "Hold payouts")], required=False
    )
    review_reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    class Meta:
        model = ComplianceFlag
        fields = []

    def clean(self):
        data = super().clean()
        if data.get("decision") and not (data.get("review_reason") or "").strip():
            raise ValidationError("Give the reason for the decision.")
        return data


@admin.register(ComplianceFlag)
class ComplianceFlagAdmin(admin.ModelAdmin):
    form = FlagReviewForm
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        decision = form.cleaned_data.get("decision")
        reason = form.cleaned_data.get("review_reason", "")
        if not decision or obj.status != FlagStatus.OPEN:
            return
        try:
            if decision == "dismiss":
                services.flag_dismiss(flag=obj, reason=reason, by=request.user)
            else:
                services.flag_hold(flag=obj, reason=reason, by=request.user)
        except services.ComplianceError as refused:
            messages.error(request, str(refused))


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


class ErasureDecisionForm(forms.ModelForm):
    decision = forms.ChoiceField(
        choices=[("", "—"), ("approve", "Approve: erase now"), ("reject", "Reject")],
        required=False,
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    class Meta:
        model = ErasureRequest
        fields = []

    def clean(self):
        data = super().clean()
        if data.get("decision") and not (data.get("reason") or "").strip():
            raise ValidationError("Give the reason for the decision.")
        return data


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    form = ErasureDecisionForm
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

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        decision = form.cleaned_data.get("decision")
        reason = form.cleaned_data.get("reason", "")
        if not decision or obj.status != ErasureStatus.REQUESTED:
            return
        try:
            if decision == "approve":
                privacy.erasure_approve(request=obj, by=request.user, reason=reason)
            else:
                privacy.erasure_reject(request=obj, by=request.user, reason=reason)
        except privacy.PrivacyError as refused:
            messages.error(request, str(refused))
