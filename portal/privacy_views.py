"""A person's privacy page: download their data, ask for erasure."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from compliance.models import ErasureRequest

from . import privacy


@login_required
def privacy_home(request: HttpRequest) -> HttpResponse:
    requests = ErasureRequest.objects.filter(user=request.user).order_by("-requested_at")[:5]
    return render(request, "privacy/home.html", {"erasure_requests": requests})


@login_required
def privacy_export(request: HttpRequest) -> HttpResponse:
    data = privacy.personal_data_export(user=request.user)
    response = HttpResponse(data, content_type="application/zip")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.zip"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def privacy_erasure_request(request: HttpRequest) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm that you want your data erased.")
        return redirect("privacy_home")
    try:
        privacy.erasure_request(user=request.user, note=request.POST.get("note", ""))
    except privacy.PrivacyError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            "Your request is recorded. Staff review it; once approved your personal data is "
            "erased and you can no longer log in.",
        )
    return redirect("privacy_home")
