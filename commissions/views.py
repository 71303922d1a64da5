"""Earnings pages: history, statement per period, its CSV and the drill-down of one line.

A period is a month (``/earnings/2026-03/``) or a pay week named by its first day
(``/earnings/week-2026-03-09/``); both go through the same views, access rule and templates,
each with its own URL names (``ROUTES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from accounts.access import has_staff_powers
from core.csv import csv_text
from core.fragments import cached_fragment

from .models import LOCKED_STATUSES, CommissionPeriod, LineKind
from .selectors import (
    STATEMENT_CSV_HEADER,
    earnings_history,
    explain_unilevel_line,
    is_week,
    order_line_detail,
    period_key,
    period_label,
    projection_for,
    statement,
    statement_csv_rows,
    statement_line,
    statement_owner,
    visible_period,
    visible_week,
    week_preview_for,
)


@dataclass(frozen=True)
class Routes:
    """The URL names of one kind of period's statement pages (``urls.py``)."""

    statement: str
    csv: str
    line: str


MONTH_ROUTES = Routes("earnings_statement", "earnings_statement_csv", "earnings_line")
WEEK_ROUTES = Routes("earnings_week", "earnings_week_csv", "earnings_week_line")


def _number(request) -> str | None:
    return request.GET.get("number") or None


def _period_row(request, period: str | None, week: str | None) -> CommissionPeriod:
    """The month or pay week the URL names, if the user may open its statement (else 404)."""
    if week is not None:
        return visible_week(request.user, week)
    return visible_period(request.user, period)


def _routes(row: CommissionPeriod) -> Routes:
    return WEEK_ROUTES if is_week(row) else MONTH_ROUTES


@login_required
def earnings_home(request):
    number = _number(request)
    sees_everyone = has_staff_powers(request.user)
    if sees_everyone and number is None and request.GET.get("q") is None:
        owner = None
    else:
        owner = statement_owner(request.user, number or request.GET.get("q") or None)
    history, projection, week_preview = [], None, None
    if owner is not None:
        history = earnings_history(owner, include_review=sees_everyone)
        projection = projection_for(owner)
        week_preview = week_preview_for(owner)
    page = Paginator(history, 24).get_page(request.GET.get("page"))
    return render(
        request,
        "commissions/earnings_home.html",
        {
            "owner": owner,
            "page": page,
            "projection": projection,
            "week_preview": week_preview,
            "week_preview_label": period_label(week_preview[0]) if week_preview else "",
            "number_query": f"?number={owner.number}" if owner and sees_everyone else "",
            "query_string": f"number={owner.number}" if owner and sees_everyone else "",
        },
    )


@login_required
def statement_page(request, period: str | None = None, week: str | None = None):
    """One period's statement. A closed or paid one never changes, so its body is cached
    under a key naming the period, its status and final run (``core.fragments``)."""
    owner = statement_owner(request.user, _number(request))
    row = _period_row(request, period, week)
    number_query = f"?number={owner.number}" if _number(request) else ""

    def render_body() -> str:
        return render_to_string(
            "commissions/partials/statement_body.html",
            {
                "statement": statement(owner, row),
                "number_query": number_query,
                "routes": _routes(row),
                "period_key": period_key(row),
            },
            request,
        )

    key = None  # a statement under review can still change
    if row.status in LOCKED_STATUSES:
        key = ("statement", owner.pk, row.pk, row.status, row.current_run_id, number_query)
    body = cached_fragment(key, render_body)
    return render(
        request,
        "commissions/statement.html",
        {"period": row, "label": period_label(row), "body": body},
    )


@login_required
def statement_csv(request, period: str | None = None, week: str | None = None):
    """The statement as CSV, one row per source (``selectors.statement_csv_rows``)."""
    owner = statement_owner(request.user, _number(request))
    row = _period_row(request, period, week)
    text = csv_text([STATEMENT_CSV_HEADER, *statement_csv_rows(statement(owner, row))])
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"week-{period_key(row)}" if is_week(row) else period_key(row)
    response["Content-Disposition"] = f'attachment; filename="statement-{owner.number}-{name}.csv"'
    return response


@login_required
def line_detail(request, line_id: int, period: str | None = None, week: str | None = None):
    owner = statement_owner(request.user, _number(request))
    row = _period_row(request, period, week)
    line = statement_line(owner, row, line_id)
    context = {
        "line": line,
        "explanation": None,
        "order_line": None,
        "number": _number(request),
        "period_key": period_key(row),
        "routes": _routes(row),
    }
    if line.kind == LineKind.UNILEVEL and not line.source_id:
        context["explanation"] = explain_unilevel_line(line, page=request.GET.get("page"))
    else:
        context["order_line"] = order_line_detail(line)
    return render(request, "commissions/partials/line_detail.html", context)
