"""Admin: compliance flags (review through the same services as the staff page), disclosure
statements (read-only snapshots). Erasure requests are reviewed in ``portal.admin``: erasing
reaches every app."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.review_admin import ReviewAdmin, decision_form

from . import disclosure, services
from .models import ComplianceFlag, DisclosureStatement, FlagStatus

FlagReviewForm = decision_form(
    ComplianceFlag, [("dismiss", "Dismiss"), ("hold", "Hold payouts")], reason_field="review_reason"
)


class BulkDecisionForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        strip=True,
        help_text="Recorded on every selected flag, with your name and the time.",
    )


@admin.register(ComplianceFlag)
class ComplianceFlagAdmin(ReviewAdmin):
    form = FlagReviewForm
    reason_field = "review_reason"
    refused = services.ComplianceError
    list_display = [
        "period",
        "distributor",
        "kind",
        "evidence",
        "status",
        "reviewed_by",
        "reviewed_at",
    ]
    actions = ["dismiss_selected", "hold_selected"]
    list_filter = ["status", "kind", "period"]
    search_fields = ["distributor__number", "distributor__user__email", "distributor__user__name"]
    list_select_related = ["distributor__user", "reviewed_by"]
    readonly_fields = [
        "distributor",
        "period",
        "kind",
        "evidence",
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

    @admin.display(description="Evidence")
    def evidence(self, obj: ComplianceFlag) -> str:
        return obj.evidence

    # --- Deciding many flags with one reason ---------------------------------------------------

    @admin.action(description="Dismiss the selected flags (one reason for all)…")
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[ComplianceFlag]):
        return self._decide_selected(request, queryset, "dismiss")

    @admin.action(description="Hold payouts of the selected flags' distributors (one reason)…")
    def hold_selected(self, request: HttpRequest, queryset: QuerySet[ComplianceFlag]):
        return self._decide_selected(request, queryset, "hold")

    def _decide_selected(self, request: HttpRequest, queryset, decision: str):
        """Ask for the reason, then decide every selected flag through its service (audited
        there); a refused flag is reported by number and the others still go through."""
        form = BulkDecisionForm(request.POST if "apply" in request.POST else None)
        flags = list(queryset.select_related("distributor__user").order_by("id"))
        if form.is_bound and form.is_valid():
            reason, done = form.cleaned_data["reason"], 0
            for flag in flags:
                try:
                    self.decide(flag, decision=decision, reason=reason, by=request.user)
                except services.ComplianceError as refused:
                    messages.error(
                        request,
                        f"Flag #{flag.pk} (#{flag.distributor.number} "
                        f"{flag.distributor.display_name}) not decided: {refused}",
                    )
                else:
                    done += 1
            verb = "dismissed" if decision == "dismiss" else "turned into payout holds"
            if done:
                messages.success(request, f"{done} of {len(flags)} flag(s) {verb}.")
            return None
        return TemplateResponse(
            request,
            "admin/compliance/complianceflag/decide_selected.html",
            {
                **self.admin_site.each_context(request),
                "title": ("Dismiss flags" if decision == "dismiss" else "Hold payouts for flags"),
                "opts": self.model._meta,
                "form": form,
                "flags": flags,
                "decision": decision,
                "action": f"{decision}_selected",
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )


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
