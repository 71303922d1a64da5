"""Staff rank overrides in the admin: add-only (a correction is a new row), staff with powers
(a session that passed MFA, ``accounts.access.has_staff_powers``) only; every add goes through
``services.rank_overrides.rank_override_create``, which refuses closed months."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from core.periods import Period

from .admin_base import AddedByServiceAdmin
from .models import RankOverride
from .services.rank_overrides import rank_override_create


class RankOverrideForm(forms.ModelForm):
    month = forms.CharField(
        label="Month",
        help_text="YYYY-MM; only a month that is not closed yet.",
        max_length=7,
    )

    class Meta:
        model = RankOverride
        fields = ["distributor", "rank_code", "reason"]

    def clean_month(self) -> Period:
        try:
            return Period.parse(self.cleaned_data["month"].strip())
        except (TypeError, ValueError) as error:
            raise forms.ValidationError("Enter the month as YYYY-MM, e.g. 2026-03.") from error


@admin.register(RankOverride)
class RankOverrideAdmin(AddedByServiceAdmin):
    form = RankOverrideForm
    list_display = ["__str__", "period", "rank_code", "reason", "by", "created_at"]
    list_filter = ["period"]
    search_fields = ["=distributor__number"]
    autocomplete_fields = ["distributor"]  # by number or name, never by internal id

    def add_through_service(self, request, form) -> RankOverride:
        created = rank_override_create(
            distributor=form.cleaned_data["distributor"],
            period=form.cleaned_data["month"],
            rank_code=form.cleaned_data["rank_code"],
            reason=form.cleaned_data["reason"],
            by=request.user,
        )
        person = form.cleaned_data["distributor"]
        what = f"paid as at least {created.rank_code}" if created.rank_code else "not overridden"
        messages.success(
            request,
            f"#{person.number} {person.display_name} is {what} in {form.cleaned_data['month']} "
            "from the month's next calculation.",
        )
        return created
