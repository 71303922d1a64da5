"""Request checks that every app needs and no app owns."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"
NUL_MESSAGE = (
    "Bad request: a field or parameter contains a NUL character (\\x00), which no form accepts. "
    "Remove it and try again."
)


def _has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in data.getlist(key)) for key in data)


class RefuseNulCharactersMiddleware:
    """Answer 400 with a message to a query string or form containing a NUL character.

    PostgreSQL cannot store or compare text with NUL in it (psycopg raises), and Django's form
    fields refuse it only where a form is used; a search box or a filter read straight from the
    request would otherwise end in a 500. No browser form sends NUL: it is junk or an attack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path or _has_nul(request.GET):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        if request.method == "POST" and _has_nul(request.POST):
            return HttpResponseBadRequest(NUL_MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
