"""Staff screens: plan versions, periods (calculate, close, export), runs, adjustments, holds
and the read-only ledger. Every action calls the same service a command or task calls."""

from __future__ import annotations

import datetime as dt
from decimal import InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts.access import has_staff_powers
from core.paging import LargeTablePaginator
from core.periods import Period
from core.review_admin import decide_each

from .admin_base import AddedByServiceAdmin
from .calendar import calendar_changed
from .engine import PlanValidationError
from .errors import CommissionError
from .models import (
    Adjustment,
    AdjustmentStatus,
    Clawback,
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
    DistributorResult,
    Hold,
    HoldStatus,
    PlanSimulation,
    PlanVersion,
    Schedule,
    cents_to_decimal,
)
from .services.adjustments import (
    adjustment_approve,
    adjustment_create,
    adjustment_reject,
    adjustments_on_own_authority,
    approval_threshold,
    hold_forfeit,
    hold_place,
    hold_release,
)
from .services.close import close_period, export_row_payouts
from .services.plans import (
    parse_plan_source,
    plan_verdict,
    plan_version_create,
    plan_version_update,
)
from .services.runs import run_request
from .services.weeks import close_week


def _money(cents) -> str:
    return f"{cents_to_decimal(cents):,.2f}"


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False
    paginator = LargeTablePaginator

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Plan versions ----------------------------------------------------------------------------


class PlanVersionForm(forms.ModelForm):
    effective_month = forms.CharField(
        label="Effective from (YYYY-MM)", help_text="The first period this version applies to."
    )

    class Meta:
        model = PlanVersion
        fields = ["source", "note"]
        widgets = {
            "source": forms.Textarea(attrs={"rows": 30, "cols": 100, "class": "vLargeTextField"})
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["effective_month"].initial = f"{self.instance.effective_from:%Y-%m}"

    def clean_effective_month(self) -> dt.date:
        try:
            return Period.parse(self.cleaned_data["effective_month"]).first_day
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error

    def clean_source(self) -> str:
        source = self.cleaned_data["source"]
        try:
            parse_plan_source(source)
        except PlanValidationError as error:
            raise forms.ValidationError(
                [f"{path or '(document)'}: {message}" for path, message in error.errors]
            ) from error
        return source


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    form = PlanVersionForm
    list_display = ["__str__", "effective_from", "max_payout_percent", "locked", "created_at"]
    readonly_fields = ["verdict", "created_by", "created_at"]
    actions = ["simulate"]

    def get_urls(self):
        from django.urls import path

        from . import admin_simulate

        def view(function):
            return self.admin_site.admin_view(lambda request, pk: function(self, request, pk))

        return [
            path(
                "<int:pk>/simulate/",
                view(admin_simulate.simulate_view),
                name="commissions_planversion_simulate",
            ),
            path(
                "simulations/<int:pk>/",
                view(admin_simulate.simulation_view),
                name="commissions_planversion_simulation",
            ),
            path(
                "simulations/<int:pk>/progress/",
                view(admin_simulate.simulation_progress_view),
                name="commissions_planversion_simulation_progress",
            ),
            path(
                "simulations/<int:pk>/csv/",
                view(admin_simulate.simulation_csv_view),
                name="commissions_planversion_simulation_csv",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Simulate on a closed month")
    def simulate(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, "Choose exactly one plan version to simulate.")
            return None
        version = queryset.get()
        return HttpResponseRedirect(
            reverse("admin:commissions_planversion_simulate", args=[version.pk])
        )

    @admin.display(boolean=True)
    def locked(self, obj: PlanVersion) -> bool:
        return obj.is_locked

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return ["verdict", "name", "effective_from", "source", "note", "created_by"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is not None and obj.is_locked:
            return ["verdict", "name", "effective_from", "note", "source", "created_by"]
        return (
            ["verdict", "effective_month", "note", "source"]
            if obj
            else [
                "effective_month",
                "note",
                "source",
            ]
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return obj is None or not obj.is_locked

    @admin.display(description="Validator's verdict")
    def verdict(self, obj: PlanVersion) -> str:
        if obj is None or obj.pk is None:
            return "-"
        verdict = plan_verdict(obj.plan)
        rows = [
            ("Valid", "yes: every field checked"),
            ("Pays on enrollment", "no: the validator refuses any plan that does"),
            ("Theoretical maximum payout", f"{verdict['max_payout_percent']:.2f} % of CV"),
            (
                "Payout cap",
                "none"
                if verdict["payout_cap_percent"] is None
                else f"{verdict['payout_cap_percent']} % of CV",
            ),
            ("Unilevel", " / ".join(f"{p} %" for p in verdict["unilevel_percents"])),
            ("Compression", verdict["compression"]),
            ("Ranks", ", ".join(verdict["ranks"])),
            (
                "Locked",
                "yes: used by a run; saving creates a new version" if obj.is_locked else "no",
            ),
        ]
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
        )

    def save_model(self, request, obj, form, change) -> None:
        effective = form.cleaned_data["effective_month"]
        source, note = form.cleaned_data["source"], form.cleaned_data.get("note", "")
        if change:
            saved = plan_version_update(
                version=PlanVersion.objects.get(pk=obj.pk),
                source=source,
                by=request.user,
                note=note,
            )
            if saved.pk != obj.pk:
                messages.info(
                    request, f"Version {obj.pk} is locked: saved as new version {saved.pk}."
                )
            elif saved.effective_from != effective:
                PlanVersion.objects.filter(pk=saved.pk).update(effective_from=effective)
                calendar_changed()
            obj.pk = saved.pk
        else:
            saved = plan_version_create(
                source=source, effective_from=effective, by=request.user, note=note
            )
            obj.pk = saved.pk


# --- Periods and runs -------------------------------------------------------------------------


@admin.register(CommissionPeriod)
class CommissionPeriodAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "schedule",
        "status",
        "run_link",
        "total_paid",
        "payout_percent",
        "closed_at",
        "paid_at",
    ]
    list_filter = ["schedule", "status"]
    actions = ["calculate", "close", "export"]
    fields = [
        "schedule",
        "month",
        "status",
        "run_link",
        "projection_run",
        "closed_at",
        "closed_by",
        "paid_at",
        "paid_by",
        "export_sha256",
        "export_total",
    ]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None) -> bool:
        return has_staff_powers(request.user) and obj is None  # actions need it; rows read-only

    @admin.display(description="Current run")
    def run_link(self, obj: CommissionPeriod) -> str:
        if not obj.current_run_id:
            return "-"
        return format_html(
            '<a href="../commissionrun/{}/change/">Run #{}</a>',
            obj.current_run_id,
            obj.current_run_id,
        )

    @admin.display(description="Paid")
    def total_paid(self, obj: CommissionPeriod) -> str:
        return _money((obj.current_run.summary or {}).get("total_paid")) if obj.current_run else "-"

    @admin.display(description="% of CV")
    def payout_percent(self, obj: CommissionPeriod) -> str:
        if not obj.current_run:
            return "-"
        return f"{obj.current_run.summary.get('payout_percent_of_cv') or '-'} %"

    def get_queryset(self, request):
        # Months and pay weeks alike (``objects`` holds the months only).
        return CommissionPeriod.every_schedule.select_related("current_run").order_by(
            "schedule", "-month"
        )

    @admin.action(description="Calculate (preview; can be re-run)")
    def calculate(self, request, queryset) -> None:
        for row in queryset:
            try:
                run = run_request(period=row.period, row=row, by=request.user)
            except CommissionError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, f"{row}: run #{run.pk} queued; its page shows progress.")

    @admin.action(description="Close (results become final)")
    def close(self, request, queryset) -> None:
        for row in queryset.order_by("month"):
            try:
                if row.schedule == Schedule.WEEKLY:
                    close_week(week=row.period, by=request.user)
                else:
                    close_period(period=row.period, by=request.user)
            except CommissionError as error:
                messages.error(request, f"{row}: {error}")
            else:
                messages.success(request, f"{row} closed: its ledger is now final.")

    @admin.action(description="Export payouts (CSV) and mark paid")
    def export(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, "Choose exactly one period to export.")
            return None
        row = queryset.get()
        try:
            data = export_row_payouts(row, by=request.user)
        except CommissionError as error:
            messages.error(request, str(error))
            return None
        response = HttpResponse(data, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payouts-{row}.csv"'
        return response


@admin.register(CommissionRun)
class CommissionRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "purpose",
        "status",
        "progress",
        "phase",
        "total_paid",
        "duration",
        "requested_at",
    ]
    list_filter = ["purpose", "status"]
    fields = [
        "period",
        "purpose",
        "status",
        "progress_bar",
        "phase",
        "plan_version",
        "engine_version",
        "input_hash",
        "is_final",
        "summary_table",
        "timings",
        "counts",
        "error",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "as_of",
    ]
    readonly_fields = fields

    @admin.display(description="Paid")
    def total_paid(self, obj: CommissionRun) -> str:
        return _money(obj.summary.get("total_paid")) if obj.summary else "-"

    @admin.display(description="Duration")
    def duration(self, obj: CommissionRun) -> str:
        seconds = obj.duration_seconds
        return "-" if seconds is None else f"{seconds:.1f} s"

    @admin.display(description="Progress")
    def progress_bar(self, obj: CommissionRun) -> str:
        return format_html(
            '<progress max="100" value="{}">{} %</progress> {} % {}',
            obj.progress,
            obj.progress,
            obj.progress,
            "(reload to refresh)" if obj.status in ("queued", "running") else "",
        )

    @admin.display(description="Summary")
    def summary_table(self, obj: CommissionRun) -> str:
        s = obj.summary or {}
        if not s:
            return "-"
        totals = format_html_join(
            "",
            "<tr><td>{}</td><td class='r'>{}</td><td class='r'>{}</td></tr>",
            (
                (kind, s["line_counts"].get(kind, 0), _money(amount))
                for kind, amount in s["totals"].items()
            ),
        )
        names = s.get("rank_names", [])
        ranks = format_html_join(
            "",
            "<tr><td>{}</td><td style='text-align:right'>{}</td></tr>",
            (
                (names[int(r)] if int(r) < len(names) else r, count)
                for r, count in s["paid_as_rank_counts"].items()
            ),
        )
        from genealogy.models import Distributor

        people = {
            d.pk: d
            for d in Distributor.objects.select_related("user").filter(
                pk__in=[t["distributor_id"] for t in s.get("top_earners", [])]
            )
        }
        top = format_html_join(
            "",
            "<tr><td>{}</td><td style='text-align:right'>{}</td></tr>",
            (
                (
                    str(people.get(t["distributor_id"], t["distributor_id"])),
                    _money(t["period_total"]),
                )
                for t in s.get("top_earners", [])
            ),
        )
        return format_html(
            "<p>Total CV {} · paid {} = <strong>{} % of CV</strong> (cap {}, reduction {}) · "
            "adjustments and clawbacks {} · payable {} · carried {} · on hold {} ({}) · "
            "active {} of {} · duration {}</p>"
            "<h4>Totals by kind</h4>"
            "<table><tr><th>kind</th><th>lines</th><th>amount</th></tr>{}</table>"
            "<h4>People per paid-as rank</h4><table>{}</table>"
            "<h4>Top earners</h4><table>{}</table>",
            _money(s["total_cv"]),
            _money(s["total_paid"]),
            s.get("payout_percent_of_cv") or "-",
            "applied" if s.get("cap_applied") else "not reached",
            _money(s.get("cap_reduction", 0)),
            _money(s.get("adjustments_and_clawbacks", 0)),
            _money(s["payable_total"]),
            _money(s["carried_out_total"]),
            s.get("on_hold_count", 0),
            _money(s.get("held_total", 0)),
            s["active_count"],
            s.get("distributor_count", "?"),
            self.duration(obj),
            totals,
            ranks,
            top,
        )


@admin.register(PlanSimulation)
class PlanSimulationAdmin(ReadOnlyAdmin):
    """Plan simulations as recorded; the comparison itself is on the simulation's page."""

    list_display = [
        "__str__",
        "status",
        "progress",
        "phase",
        "paid_total",
        "simulated_total",
        "requested_by",
        "requested_at",
    ]
    list_filter = ["status"]
    search_fields = ["plan_version__name", "requested_by__email"]
    list_select_related = ["plan_version", "period", "requested_by"]
    fields = [
        "plan_version",
        "period",
        "status",
        "progress_bar",
        "phase",
        "comparison",
        "paid_total",
        "simulated_total",
        "error",
        "plan_hash",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields

    @admin.display(description="Paid")
    def paid_total(self, obj: PlanSimulation) -> str:
        return (obj.result or {}).get("paid_total") or "-"

    @admin.display(description="Simulated")
    def simulated_total(self, obj: PlanSimulation) -> str:
        return (obj.result or {}).get("simulated_total") or "-"

    @admin.display(description="Progress")
    def progress_bar(self, obj: PlanSimulation) -> str:
        return format_html(
            '<progress max="100" value="{}">{} %</progress> {} %', *[obj.progress] * 3
        )

    @admin.display(description="Comparison")
    def comparison(self, obj: PlanSimulation) -> str:
        url = reverse("admin:commissions_planversion_simulation", args=[obj.pk])
        return format_html('<a href="{}">Open the simulation page</a>', url)


# --- Adjustments ------------------------------------------------------------------------------


class AdjustmentForm(forms.ModelForm):
    amount_decimal = forms.DecimalField(
        label="Amount",
        max_digits=12,
        decimal_places=2,
        help_text="Negative takes money back. When your adjustments for this person this month "
        "(signs ignored, this one included) go above the approval threshold, a second staff "
        "member must approve.",
    )

    class Meta:
        model = Adjustment
        fields = ["distributor", "reason"]

    def clean_amount_decimal(self):
        amount = self.cleaned_data["amount_decimal"]
        if amount == 0:
            raise forms.ValidationError("An adjustment of 0.00 changes nothing: enter an amount.")
        return amount


class DecisionForm(ActionForm):
    note = forms.CharField(required=False, label="Note / reason")


@admin.register(Adjustment)
class AdjustmentAdmin(AddedByServiceAdmin):
    form = AdjustmentForm
    action_form = DecisionForm
    list_display = [
        "__str__",
        "period",
        "amount_display",
        "status",
        "created_by",
        "decided_by",
        "created_at",
    ]
    list_filter = ["status", "period"]
    autocomplete_fields = ["distributor"]  # by number or name, never by internal id
    actions = ["approve", "reject"]

    @admin.display(description="Amount")
    def amount_display(self, obj: Adjustment) -> str:
        return _money(obj.amount)

    refused = (CommissionError, InvalidOperation)

    def add_through_service(self, request, form) -> Adjustment:
        created = adjustment_create(
            distributor=form.cleaned_data["distributor"],
            amount=form.cleaned_data["amount_decimal"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        person = form.cleaned_data["distributor"]
        label = f"#{person.number} {person.display_name}"
        if created.status == AdjustmentStatus.PENDING:
            total = adjustments_on_own_authority(
                distributor_id=person.pk, period=created.period, by=request.user
            )
            messages.warning(
                request,
                f"Adjustment of {_money(created.amount)} for {label} recorded. Your adjustments "
                f"for {label} in {created.period.period} come to {_money(total)}, above the "
                f"approval threshold of {_money(approval_threshold())}: a second staff "
                "member must approve it.",
            )
        else:
            messages.success(request, f"Adjustment of {_money(created.amount)} for {label} added.")
        return created

    def _decide(self, request, queryset, service) -> None:
        note = request.POST.get("note", "")
        decide_each(
            request,
            queryset,
            lambda adjustment: service(adjustment=adjustment, by=request.user, note=note),
            refused=CommissionError,
            done="#{pk} done.",
        )

    @admin.action(description="Approve (a different staff member than the creator)")
    def approve(self, request, queryset) -> None:
        self._decide(request, queryset, adjustment_approve)

    @admin.action(description="Reject")
    def reject(self, request, queryset) -> None:
        self._decide(request, queryset, adjustment_reject)


# --- Holds ------------------------------------------------------------------------------------


class HoldForm(forms.ModelForm):
    class Meta:
        model = Hold
        fields = ["distributor", "reason"]


@admin.register(Hold)
class HoldAdmin(AddedByServiceAdmin):
    form = HoldForm
    action_form = DecisionForm
    list_display = ["__str__", "status", "placed_by", "placed_at", "ended_by", "ended_at"]
    list_filter = ["status"]
    autocomplete_fields = ["distributor"]  # by number or name, never by internal id
    actions = ["release", "forfeit"]

    def add_through_service(self, request, form) -> Hold:
        hold = hold_place(
            distributor=form.cleaned_data["distributor"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        person = form.cleaned_data["distributor"]
        messages.success(request, f"Payouts of #{person.number} {person.display_name} are on hold.")
        return hold

    def _end(self, request, queryset, service) -> None:
        reason = request.POST.get("note", "")
        decide_each(
            request,
            queryset.filter(status=HoldStatus.ACTIVE),
            lambda hold: service(hold=hold, reason=reason, by=request.user),
            refused=CommissionError,
            done="Hold #{pk} ended.",
        )

    @admin.action(description="Release (the balance is paid with the next closed period)")
    def release(self, request, queryset) -> None:
        self._end(request, queryset, hold_release)

    @admin.action(description="Forfeit the held balance (needs a reason in the note)")
    def forfeit(self, request, queryset) -> None:
        self._end(request, queryset, hold_forfeit)


# --- Ledger (read-only) -----------------------------------------------------------------------


@admin.register(CommissionLine)
class CommissionLineAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "earner_id",
        "kind",
        "level",
        "source_id",
        "source_line_id",
        "base",
        "rate_percent",
        "amount_before_cap",
        "amount",
    ]
    list_filter = ["kind"]
    search_fields = ["=earner__number"]
    # Newest first by the primary key: any other order sorts millions of rows per page.
    ordering = ["-id"]
    sortable_by = ()


@admin.register(DistributorResult)
class DistributorResultAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "distributor_id",
        "paid_as_rank",
        "pv",
        "gv",
        "period_total",
        "carried_in",
        "payable",
        "carried_out",
        "on_hold",
    ]
    search_fields = ["=distributor__number"]
    ordering = ["-id"]  # newest run first, without sorting millions of rows
    sortable_by = ()


@admin.register(Clawback)
class ClawbackAdmin(ReadOnlyAdmin):
    list_display = [
        "period",
        "refund_line_id",
        "earner_id",
        "kind",
        "level",
        "original_period",
        "amount",
    ]


# Staff rank overrides (add-only; their own module)
from . import admin_rank_overrides  # noqa: E402, F401 - registers RankOverrideAdmin
