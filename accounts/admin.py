from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from core.admin import SafeAutocompleteAdmin

from .models import Enrollment, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),
    )


@admin.register(Enrollment)
class EnrollmentAdmin(SafeAutocompleteAdmin):
    list_display = ("user", "sponsor", "country", "policies_version", "accepted_at", "completed_at")
    search_fields = ("user__email", "user__name")
    autocomplete_fields = ("user", "sponsor")  # by name, email or number, never by internal id
    list_select_related = ("user", "sponsor__user")

    def has_change_permission(self, request, obj=None) -> bool:
        return False
