"""Admin pieces every app's admin uses (Django only, no project app)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError


def _is_valid_key(target, value) -> bool:
    try:
        target.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return False
    return True


class _SafeSelectedMixin:
    """Django's autocomplete widgets look the selected values up as ids when a form is shown
    again: a typed value that is no id at all (" ", "0.0", "abc") raised a ValueError there,
    a 500 instead of the form with its error. Such values are left out of the lookup; the
    field's own error still says what was wrong."""

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts = remote.model._meta
        target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.name)
        return super().optgroups(name, [v for v in value if _is_valid_key(target, v)], attr)


class SafeAutocompleteSelect(_SafeSelectedMixin, AutocompleteSelect):
    pass


class SafeAutocompleteSelectMultiple(_SafeSelectedMixin, AutocompleteSelectMultiple):
    pass


class SafeAutocompleteAdmin(admin.ModelAdmin):
    """A ModelAdmin whose ``autocomplete_fields`` use the widgets above."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)
