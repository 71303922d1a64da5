"""Staff tools for the placement tree: a read-only list, and the audited "move placement" view.

Every change goes through `genealogy.placement.services.move_placement` (one path, one audit);
the rows are never edited here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.access import has_staff_powers

from ..models import Distributor, Placement
from ..policy import placement_policy
from ..selectors import prime_downline_sizes
from .services import (
    PlacementError,
    move_placement,
    move_placement_check,
    move_warnings,
    position_label,
)


class PlacedFilter(admin.SimpleListFilter):
    title = "placement"
    parameter_name = "placed"

    def lookups(self, request, model_admin):
        return [("yes", "Placed"), ("no", "Waiting in the tank")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(placed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(placed_at__isnull=True)
        return queryset


class MovePlacementForm(forms.Form):
    new_parent = forms.IntegerField(
        label="New placement parent",
        min_value=1,
        help_text="The distributor number of the person to place the leg under.",
    )
    position = forms.TypedChoiceField(coerce=int, choices=())
    effective_at = forms.DateTimeField(
        required=False,
        label="Effective from",
        help_text="Empty: now. Or a past moment inside an open period (YYYY-MM-DD HH:MM).",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=True)

    def __init__(self, *args, moving: Distributor, width: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.moving = moving
        self.fields["position"].choices = [(p, position_label(p, width)) for p in range(width)]
        self.periods = []

    def clean(self):
        cleaned = super().clean()
        number = cleaned.get("new_parent")
        if number is None or cleaned.get("position") is None:
            return cleaned
        parent = Distributor.objects.select_related("user").filter(number=number).first()
        if parent is None:
            self.add_error("new_parent", f"No distributor has the number {number}.")
            return cleaned
        cleaned["new_parent_distributor"] = parent
        cleaned["position_label"] = dict(self.fields["position"].choices)[cleaned["position"]]
        try:
            self.periods = move_placement_check(
                distributor=self.moving,
                new_parent=parent,
                position=cleaned["position"],
                effective_at=cleaned.get("effective_at"),
            )
        except PlacementError as refused:
            self.add_error(None, str(refused))
        return cleaned


class _PrimedChangeList(ChangeList):
    """The page's downline counts in one query, not one per row."""

    def get_results(self, request) -> None:
        super().get_results(request)
        prime_downline_sizes(list(self.result_list))


@admin.register(Placement)
class PlacementAdmin(admin.ModelAdmin):
    """Read-only: the placement tree is written by its services only."""

    list_display = (
        "distributor",
        "parent_link",
        "leg",
        "level",
        "downline",
        "placed_at",
        "tank_deadline",
        "rule",
    )
    list_filter = (PlacedFilter,)
    search_fields = ("=distributor__number",)
    list_select_related = ("distributor__user", "parent__distributor__user")
    show_full_result_count = False
    ordering = ("-entered_tank_at",)

    def get_changelist(self, request, **kwargs):
        return _PrimedChangeList

    @admin.display(description="people below")
    def downline(self, obj: Placement) -> str:
        return f"{obj.downline_size:,}"

    readonly_fields = (
        "distributor",
        "parent",
        "leg",
        "level",
        "downline",
        "child_count",
        "lft",
        "rght",
        "outer_left_top",
        "outer_right_top",
        "entered_tank_at",
        "tank_deadline",
        "placed_at",
        "placed_by",
        "rule",
        "move_link",
    )
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return has_staff_powers(request.user) and (
            request.user.has_perm("genealogy.view_placement")
            or request.user.has_perm("genealogy.change_placement")
        )

    @admin.display(description="parent")
    def parent_link(self, obj: Placement) -> str:
        return "—" if obj.parent is None else str(obj.parent.distributor)

    @admin.display(description="leg / position")
    def leg(self, obj: Placement) -> str:
        if obj.placed_at is None:
            return "waiting"
        return position_label(obj.position, placement_policy().width)

    @admin.display(description="move")
    def move_link(self, obj: Placement) -> str:
        if obj.placed_at is None or obj.parent_id is None:
            return "—"
        url = reverse("admin:genealogy_placement_move", args=[obj.pk])
        return format_html('<a class="button" href="{}">Move placement</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/move/", view(self.move_view), name="genealogy_placement_move"),
            *super().get_urls(),
        ]

    def move_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not (
            has_staff_powers(request.user) and request.user.has_perm("genealogy.change_placement")
        ):
            raise PermissionDenied
        placement = get_object_or_404(
            Placement.objects.select_related("distributor__user", "parent__distributor__user"),
            pk=object_id,
        )
        distributor = placement.distributor
        policy = placement_policy()
        form = MovePlacementForm(request.POST or None, moving=distributor, width=policy.width)
        confirming = False
        if request.method == "POST" and form.is_valid():
            new_parent = form.cleaned_data["new_parent_distributor"]
            if request.POST.get("confirmed") == "yes":
                try:
                    move_placement(
                        distributor=distributor,
                        new_parent=new_parent,
                        position=form.cleaned_data["position"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                        effective_at=form.cleaned_data.get("effective_at"),
                    )
                except PlacementError as error:
                    form.add_error(None, str(error))
                else:
                    self.message_user(
                        request,
                        f"The placement leg of {distributor} ({placement.downline_size + 1:,} "
                        f"people) moved under {new_parent}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:genealogy_placement_change", args=[placement.pk])
                    )
            else:
                confirming = True
        return TemplateResponse(
            request,
            "admin/genealogy/placement/move.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": placement,
                "title": f"Move the placement of {distributor}",
                "form": form,
                "confirming": confirming,
                "moving": placement.downline_size + 1,
                "warnings": move_warnings(distributor),
                "periods": form.periods,
                "current": position_label(placement.position, policy.width),
            },
        )
