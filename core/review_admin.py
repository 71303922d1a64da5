"""Staff decisions in the admin: records under review get a decision with a reason, and every
decision goes through its service (which audits it); a refused one is reported, never lost."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError


def decision_form(
    model, choices: Sequence[tuple[str, str]], *, reason_field: str = "reason"
) -> type[forms.ModelForm]:
    """A change form with a decision and the reason for it (required once a decision is made).

    ``reason_field`` names the form field, so it can differ from a model field of that name
    shown read-only beside it.
    """

    def clean(self):
        data = forms.ModelForm.clean(self)
        if data.get("decision") and not (data.get(reason_field) or "").strip():
            raise ValidationError("Give the reason for the decision.")
        return data

    meta = type("Meta", (), {"model": model, "fields": []})
    return type(
        f"{model.__name__}DecisionForm",
        (forms.ModelForm,),
        {
            "decision": forms.ChoiceField(choices=[("", "—"), *choices], required=False),
            reason_field: forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False),
            "Meta": meta,
            "clean": clean,
        },
    )


class ReviewAdmin(admin.ModelAdmin):
    """A record staff decide on but never add or delete: saving the change form with a decision
    calls ``decide``; the form comes from ``decision_form``."""

    reason_field = "reason"
    refused: type[Exception] | tuple[type[Exception], ...] = ()

    def is_undecided(self, obj) -> bool:
        raise NotImplementedError

    def decide(self, obj, *, decision: str, reason: str, by) -> None:
        raise NotImplementedError

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        decision = form.cleaned_data.get("decision")
        if not decision or not self.is_undecided(obj):
            return
        reason = form.cleaned_data.get(self.reason_field, "")
        try:
            self.decide(obj, decision=decision, reason=reason, by=request.user)
        except self.refused as refused:
            messages.error(request, str(refused))


def decide_each(
    request,
    rows: Iterable,
    decide: Callable[[object], object],
    *,
    refused: type[Exception] | tuple[type[Exception], ...],
    done: str,
) -> None:
    """An admin action's decision on each selected row: one refused row is reported and the
    others still go through. ``done`` is the success message, with ``{pk}``."""
    for row in rows:
        try:
            decide(row)
        except refused as error:
            messages.error(request, f"#{row.pk}: {error}")
        else:
            messages.success(request, done.format(pk=row.pk))
