from django.contrib import admin, messages

from . import services
from .models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """What waits to be published, what was, and what failed (with its last error)."""

    list_display = (
        "id",
        "task_name",
        "status",
        "attempts",
        "created_at",
        "last_attempt_at",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "task_name")
    search_fields = ("task_name", "idempotency_key")
    ordering = ("-id",)
    show_full_result_count = False
    actions = ("retry",)
    readonly_fields = [field.name for field in OutboxTask._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, obj: OutboxTask) -> str:
        return obj.last_error[:120]

    @admin.action(description="Retry the selected failed tasks")
    def retry(self, request, queryset) -> None:
        count = services.retry_failed(ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} failed task(s) put back in line.", messages.SUCCESS)
