from django.contrib import admin

from .models import Distributor


@admin.register(Distributor)
class DistributorAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "email", "referral_code", "status", "joined_on", "country")
    list_filter = ("status", "joined_on", "country")
    search_fields = ("=number", "referral_code", "user__email", "user__name")
    autocomplete_fields = ("sponsor",)
    raw_id_fields = ("user",)
    list_select_related = ("user",)
    show_full_result_count = False
    readonly_fields = ("number", "referral_code", "level", "lft", "rght", "placed_at", "created_at")

    @admin.display(ordering="user__name")
    def name(self, obj: Distributor) -> str:
        return obj.user.name

    @admin.display(ordering="user__email")
    def email(self, obj: Distributor) -> str:
        return obj.user.email
