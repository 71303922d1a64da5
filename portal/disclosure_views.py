"""The public income disclosure statement (page, CSV, printable form) and staff generation."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import staff_required
from compliance import disclosure
from compliance.tasks import generate_income_disclosure_task
from outbox.services import enqueue


def _context(statement) -> dict:
    return {
        "statement": statement,
        "figures": statement.figures if statement else None,
        "rows": disclosure.statement_rows(statement.figures) if statement else [],
        "header": disclosure.CSV_HEADER,
        "percentiles": disclosure.PERCENTILES,
        "years": disclosure.published_years(),
    }


def income_disclosure(request: HttpRequest, year: int | None = None) -> HttpResponse:
    """The latest published statement (of ``year`` when given); public, no login."""
    statement = disclosure.latest_statement(year)
    if statement is None and year is not None:
        raise Http404("No statement published for this year.")
    context = _context(statement)
    context["default_year"] = disclosure.default_disclosure_year()
    return render(request, "pages/income_disclosure.html", context)


def income_disclosure_csv(request: HttpRequest, year: int) -> HttpResponse:
    statement = disclosure.latest_statement(year)
    if statement is None:
        raise Http404("No statement published for this year.")
    response = HttpResponse(disclosure.statement_csv(statement), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="income-disclosure-{year}.csv"'
    return response


def income_disclosure_print(request: HttpRequest, year: int) -> HttpResponse:
    statement = disclosure.latest_statement(year)
    if statement is None:
        raise Http404("No statement published for this year.")
    return render(request, "disclosure/print.html", _context(statement))


@staff_required
@require_POST
def income_disclosure_generate(request: HttpRequest) -> HttpResponse:
    """Staff: compute the statement of a year in the worker (it reads every participant)."""

    try:
        year = int(request.POST.get("year", ""))
    except ValueError:
        year = 0
    if not 1900 <= year <= 9999:
        messages.error(request, "Enter a year such as 2025.")
        return redirect("income_disclosure")
    if not disclosure.disclosure_source(year).periods:
        messages.error(request, f"{year} has no closed commission period yet: close one first.")
        return redirect("income_disclosure")
    enqueue(generate_income_disclosure_task, kwargs={"year": year, "user_id": request.user.pk})
    messages.success(
        request,
        f"The {year} statement is being generated from every participant; it appears here "
        "when ready (reload in a minute).",
    )
    return redirect("income_disclosure")
