"""Earnings pages: history, statement per period, its CSV and the drill-down of one line."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from accounts.access import has_staff_powers
from core.csv import csv_text
from core.fragments import cached_fragment

from .models import LOCKED_STATUSES, LineKind
from .selectors import (
    STATEMENT_CSV_HEADER,
    earnings_history,
    explain_unilevel_line,
    order_line_detail,
    projection_for,
    statement,
    statement_csv_rows,
    statement_line,
    statement_owner,
    visible_period,
)


def _number(request) -> str | None:
    return request.GET.get("number") or None


@login_required
def earnings_home(request):
    number = _number(request)
    sees_everyone = has_staff_powers(request.user)
    if sees_everyone and number is None and request.GET.get("q") is None:
        owner = None
    else:
        owner = statement_owner(request.user, number or request.GET.get("q") or None)
    history, projection = [], None
    if owner is not None:
        history = earnings_history(owner, include_review=sees_everyone)
        projection = projection_for(owner)
    page = Paginator(history, 24).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/earnings_home.html",
        {
            "owner": owner,
            "page": page,
            "projection": projection,
            "number_query": f"?number={owner.number}" if owner and sees_everyone else "",
            "query_string": f"number={owner.number}" if owner and sees_everyone else "",
        },
    )


@login_required
def statement_page(request, period: str):
    """One period's statement. A closed or paid one never changes, so its body is cached
    under a key naming the period, its status and final run (``core.fragments``)."""
    owner = statement_owner(request.user, _number(request))
    row = visible_period(request.user, period)
    number_query = f"?number={owner.number}" if _number(request) else ""

    def render_body() -> str:
        return render_to_string(
            "commissions/partials/statement_body.html",
            {"statement": statement(owner, row), "number_query": number_query},
            request,
        )

    key = None  # a statement under review can still change
    if row.status in LOCKED_STATUSES:
        key = ("statement", owner.pk, row.pk, row.status, row.current_run_id, number_query)
    body = cached_fragment(key, render_body)
    return render(request, "commissions/statement.html", {"period": row, "body": body})


@login_required
def statement_csv(request, period: str):
    """The statement as CSV, one row per source (``selectors.statement_csv_rows``)."""
    owner = statement_owner(request.user, _number(request))
    row = visible_period(request.user, period)
    text = csv_text([STATEMENT_CSV_HEADER, *statement_csv_rows(statement(owner, row))])
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="statement-{owner.number}-{row.period}.csv"'
    )
    return response


@login_required
def line_detail(request, period: str, line_id: int):
    owner = statement_owner(request.user, _number(request))
    row = visible_period(request.user, period)
    line = statement_line(owner, row, line_id)
    context = {
        "line": line,
        "explanation": None,
        "order_line": None,
        "number": _number(request),
        "period_key": str(row.period),
    }
    if line.kind == LineKind.UNILEVEL and not line.source_id:
        context["explanation"] = explain_unilevel_line(line, page=request.GET.get("page"))
    else:
        context["order_line"] = order_line_detail(line)
    return render(request, "commissions/partials/line_detail.html", context)
