from django import forms
from django.contrib import admin

from core.admin import SafeAutocompleteAdmin

from .models import Announcement, Message, Notification
from .selectors import rank_codes


class AnnouncementForm(forms.ModelForm):
    class Meta:
        model = Announcement
        fields = [
            "title",
            "body",
            "audience",
            "min_rank_code",
            "country",
            "publish_at",
            "expires_at",
            "send_email",
        ]

    def clean(self):
        cleaned = super().clean()
        audience, code = cleaned.get("audience"), cleaned.get("min_rank_code")
        if audience == "rank":
            codes = rank_codes()
            if code not in codes:
                self.add_error(
                    "min_rank_code",
                    f"Choose a rank code of the current plan: {', '.join(codes) or 'none loaded'}.",
                )
        if audience == "country" and not cleaned.get("country"):
            self.add_error("country", "Choose the country.")
        start, end = cleaned.get("publish_at"), cleaned.get("expires_at")
        if start and end and end <= start:
            self.add_error("expires_at", "The end is before the start.")
        return cleaned


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    form = AnnouncementForm
    list_display = [
        "title",
        "audience",
        "min_rank_code",
        "country",
        "publish_at",
        "expires_at",
        "send_email",
        "emailed_at",
    ]
    list_filter = ["audience", "send_email"]
    search_fields = ["title"]
    readonly_fields = ["emailed_at", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Message)
class MessageAdmin(SafeAutocompleteAdmin):
    list_display = ["subject", "sender", "audience", "status", "total", "created_at"]
    list_filter = ["status", "audience"]
    search_fields = ["subject", "sender__number"]
    autocomplete_fields = ["sender"]
    readonly_fields = [
        "sender",
        "subject",
        "body",
        "audience",
        "filters",
        "status",
        "total",
        "created_at",
        "delivered_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(SafeAutocompleteAdmin):
    list_display = ["title", "user", "kind", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind"]
    autocomplete_fields = ["user", "message"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
