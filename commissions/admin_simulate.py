"""The plan version admin's "Simulate on a closed month": a form to pick the month, which
queues a background simulation (``services.simulations``), and the simulation's page: its
progress, polled with htmx while it runs, then the comparison and its CSV. Staff with staff
powers only (a session that passed MFA, ``accounts.access``) and the plan versions' view
permission; nothing is written to the ledger."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from accounts.access import has_staff_powers
from core.csv import csv_text
from core.periods import Period

from .errors import CommissionError
from .models import LOCKED_STATUSES, CommissionPeriod, PlanSimulation, PlanVersion
from .services.simulate import simulation_from_json, simulation_rows
from .services.simulations import plan_document_hash, simulation_request

RECENT_SIMULATIONS = 10


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


def _check_access(model_admin, request: HttpRequest) -> None:
    if not has_staff_powers(request.user) or not model_admin.has_view_permission(request):
        raise PermissionDenied


def simulate_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the form (``?period=YYYY-MM`` picks the month) and this version's recent
    simulations; POST queues the simulation, or finds the identical one queued or running, and
    goes to its page."""
    _check_access(model_admin, request)
    version = get_object_or_404(PlanVersion, pk=pk)
    if request.method == "POST":
        form = SimulateForm(request.POST)
        if form.is_valid():
            try:
                simulation, is_new = simulation_request(
                    plan_version=version, period=form.cleaned_data["period"], by=request.user
                )
            except CommissionError as error:
                form.add_error(None, str(error))
            else:
                if not is_new:
                    messages.info(
                        request,
                        f"This version is already being simulated on {simulation.period}: "
                        "here is that simulation.",
                    )
                return redirect("admin:commissions_planversion_simulation", simulation.pk)
    else:
        form = SimulateForm(initial={"period": request.GET.get("period", "")})
    recent = (
        PlanSimulation.objects.filter(plan_version=version)
        .select_related("period", "requested_by")
        .order_by("-requested_at", "-id")[:RECENT_SIMULATIONS]
    )
    return render(
        request,
        "admin/commissions/simulate_plan.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": f"Simulate {version} on a closed month",
            "version": version,
            "form": form,
            "has_closed_month": bool(form.fields["period"].choices),
            "recent": recent,
            "opts": PlanVersion._meta,
        },
    )


def _simulation_context(simulation: PlanSimulation) -> dict:
    """The status fragment's context: the comparison once done (None while it is going, or
    when the stored result cannot be read)."""
    comparison = None
    unreadable = False
    if simulation.status == "done":
        try:
            comparison = simulation_from_json(simulation.result)
        except (KeyError, TypeError, ValueError, ArithmeticError):
            unreadable = True
    return {
        "simulation": simulation,
        "comparison": comparison,
        "unreadable": unreadable,
        "is_stale": bool(simulation.plan_hash)
        and simulation.plan_hash != plan_document_hash(simulation.plan_version),
    }


def _simulation(pk: int) -> PlanSimulation:
    return get_object_or_404(
        PlanSimulation.objects.select_related("plan_version", "period", "requested_by"), pk=pk
    )


def simulation_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """One simulation: its progress while queued or running (the fragment polls), then the
    comparison with what the month's final run paid, or the reason it failed."""
    _check_access(model_admin, request)
    simulation = _simulation(pk)
    version = simulation.plan_version
    return render(
        request,
        "admin/commissions/simulation.html",
        {
            **model_admin.admin_site.each_context(request),
            **_simulation_context(simulation),
            "title": f"Simulation of {version} on {simulation.period}",
            "version": version,
            "form_url": reverse("admin:commissions_planversion_simulate", args=[version.pk])
            + f"?period={simulation.period}",
            "opts": PlanVersion._meta,
        },
    )


def simulation_progress_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """The status fragment, polled every 2 s while the simulation is going; once it is done
    or failed it renders without polling."""
    _check_access(model_admin, request)
    return render(
        request,
        "admin/commissions/partials/simulation_status.html",
        _simulation_context(_simulation(pk)),
    )


def simulation_csv_view(model_admin, request: HttpRequest, pk: int) -> HttpResponse:
    """The stored comparison as CSV (the same rows as the ``simulate_plan`` command's)."""
    _check_access(model_admin, request)
    simulation = _simulation(pk)
    comparison = _simulation_context(simulation)["comparison"]
    if comparison is None:
        raise Http404("This simulation has no result to download.")
    response = HttpResponse(
        csv_text(simulation_rows(comparison)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="simulation-v{simulation.plan_version_id}-{simulation.period}.csv"'
    )
    return response
