"""The plan version admin's "Simulate on a closed month": a form to pick the month and the
comparison page (``services.simulate``). Staff with staff powers only (a session that passed
MFA, ``accounts.access``); nothing is written."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.access import has_staff_powers
from core.csv import csv_text
from core.periods import Period

from .errors import CommissionError
from .models import LOCKED_STATUSES, CommissionPeriod, PlanVersion
from .services.simulate import simulate, simulation_rows


class SimulateForm(forms.Form):
    period = forms.ChoiceField(label="Closed month", choices=())

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        months = CommissionPeriod.objects.filter(
            status__in=LOCKED_STATUSES, current_run__isnull=False
        ).values_list("month", flat=True)
        self.fields["period"].choices = [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in months]

    def clean_period(self) -> Period:
        return Period.parse(self.cleaned_data["period"])


def simulate_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """GET ``?period=YYYY-MM`` shows the comparison (``&format=csv`` downloads it)."""
    if not has_staff_powers(request.user) or not model_admin.has_view_permission(request):
        raise PermissionDenied
    version = get_object_or_404(PlanVersion, pk=pk)
    form = SimulateForm(request.GET if "period" in request.GET else None)
    simulation = None
    if form.is_bound and form.is_valid():
        period = form.cleaned_data["period"]
        try:
            simulation = simulate(version, period)
        except CommissionError as error:
            form.add_error(None, str(error))
        else:
            if request.GET.get("format") == "csv":
                response = HttpResponse(
                    csv_text(simulation_rows(simulation)), content_type="text/csv; charset=utf-8"
                )
                response["Content-Disposition"] = (
                    f'attachment; filename="simulation-v{version.pk}-{period}.csv"'
                )
                return response
    return render(
        request,
        "admin/commissions/simulate_plan.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Simulate {version} on a closed month",
            "version": version,
            "form": form,
            "simulation": simulation,
            "opts": PlanVersion._meta,
        },
    )
