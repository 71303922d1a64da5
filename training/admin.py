from django.contrib import admin

from .forms import TrainingItemAdminForm
from .models import ReferralShare, TrainingCompletion, TrainingItem


@admin.register(TrainingItem)
class TrainingItemAdmin(admin.ModelAdmin):
    form = TrainingItemAdminForm
    list_display = [
        "title",
        "category",
        "kind",
        "min_rank_code",
        "is_required",
        "order",
        "is_published",
        "updated_at",
    ]
    list_filter = ["category", "kind", "is_required", "is_published"]
    list_editable = ["order", "is_published"]
    search_fields = ["title", "summary"]
    fieldsets = [
        (None, {"fields": ["title", "summary", "category", "kind"]}),
        ("Content (fill the one that matches the kind)", {"fields": ["video_url", "pdf", "body"]}),
        ("Audience", {"fields": ["min_rank_code", "is_required", "order", "is_published"]}),
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrainingCompletion)
class TrainingCompletionAdmin(ReadOnlyAdmin):
    list_display = ["item", "distributor", "completed_at"]
    list_filter = ["item__category", "item"]
    search_fields = ["distributor__user__email", "distributor__user__name", "item__title"]
    list_select_related = ["item", "distributor__user"]
    date_hierarchy = "completed_at"


@admin.register(ReferralShare)
class ReferralShareAdmin(ReadOnlyAdmin):
    list_display = ["distributor", "first_shared_at"]
    search_fields = ["distributor__user__email", "distributor__user__name"]
    list_select_related = ["distributor__user"]
