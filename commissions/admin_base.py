"""The shape every commissions admin shares whose rows only a service adds (adjustments, holds,
rank overrides): staff with staff powers add them through the form, nobody changes or deletes
them here (a correction is a new row), and a refusal by the service comes back to the form with
the service's own message, logging nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.access import has_staff_powers
from core.admin import SafeAutocompleteAdmin

from .errors import CommissionError


class AddedByServiceAdmin(SafeAutocompleteAdmin):
    """Subclasses implement ``add_through_service(request, form)``: call the service, say what
    was done (``messages``) and return the new row; raise one of ``refused`` to refuse."""

    refused: tuple[type[Exception], ...] = (CommissionError,)

    def add_through_service(self, request, form):
        raise NotImplementedError

    def has_add_permission(self, request) -> bool:
        return has_staff_powers(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and has_staff_powers(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            created = self.add_through_service(request, form)
        except self.refused as error:
            messages.error(request, str(error))
            return
        obj.pk = created.pk
        for name in ("period", "created_at"):
            if hasattr(created, name) and hasattr(obj, name):
                setattr(obj, name, getattr(created, name))

    def log_addition(self, request, obj, message):
        if obj.pk is None:  # the service refused it: nothing was added
            return None
        return super().log_addition(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        """A refused row goes back to the form with the service's message only; a saved one
        goes to the list with the message the subclass wrote (not the admin's generic one)."""
        if obj.pk is None:
            return HttpResponseRedirect(request.get_full_path())
        meta = self.model._meta
        return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
