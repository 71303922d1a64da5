"""Staff tools for the genealogy. Every change goes through genealogy.services (one path, one
audit): adding a distributor, moving a leg, terminating. The tree fields are never edited here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import SafeAutocompleteAdmin, SafeAutocompleteSelect
from core.paging import LargeTablePaginator
from core.periods import Period

from .codes import normalize_referral_code
from .history import HistoryError, validate_effective_moment
from .models import Distributor, TreeChange
from .placement import admin as _placement_admin  # noqa: F401 - registers Placement
from .selectors import move_sponsor_candidates
from .services import (
    TreeMoveError,
    create_distributor,
    move_check,
    move_distributor,
    roll_up_sponsor_id,
    terminate_distributor,
)

TREE_FIELDS_SHOWN = ("parent", "level", "lft", "rght", "tree_id", "placed_at")
# Shown, never edited here: people change their own payout details (audited on their profile).
PAYOUT_FIELDS = ("payout_method", "payout_account")


def labelled(distributor: Distributor) -> str:
    """How staff confirmations name a person: "#<number> <name>"."""
    return f"#{distributor.number} {distributor.display_name}"


class MoveSponsorSelect(SafeAutocompleteSelect):
    """The admin's autocomplete, asking the move's own endpoint (which leaves out the person
    and their downline) instead of the generic one."""

    def __init__(self, admin_site, moving: Distributor) -> None:
        super().__init__(Distributor._meta.get_field("sponsor"), admin_site)
        self.moving = moving

    def get_url(self) -> str:
        return reverse(
            f"{self.admin_site.name}:genealogy_distributor_move_sponsors", args=[self.moving.pk]
        )


class MoveSponsorAutocomplete(AutocompleteJsonView):
    """The sponsor search of one move: the admin's search, without who cannot be chosen."""

    moving: Distributor | None = None

    def get_queryset(self):
        return move_sponsor_candidates(self.moving, super().get_queryset())


class MoveForm(forms.Form):
    takes_effect = forms.ChoiceField(
        choices=[("now", "Now"), ("backdated", "Backdated to a moment in an open period")],
        initial="now",
        required=False,  # empty: now
        widget=forms.RadioSelect,
        help_text="A backdated move changes the open months from that moment on; closed "
        "months never change.",
    )
    effective_at = forms.DateTimeField(
        required=False,
        label="Effective from",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Only for a backdated move: a moment in the company's time zone, in an open "
        "month, not in the future and not before the person's latest recorded change.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=True)

    def __init__(self, *args, admin_site, moving: Distributor, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.moving = moving
        self.fields = {
            "new_sponsor": forms.ModelChoiceField(
                queryset=Distributor.objects.select_related("user"),
                widget=MoveSponsorSelect(admin_site, moving),
                help_text="Search by number, referral code, email or name. The person and "
                "their own downline are not offered.",
            ),
            **self.fields,
        }

    def clean(self):
        cleaned = super().clean()
        new_sponsor = cleaned.get("new_sponsor")
        if new_sponsor is not None:
            try:
                move_check(distributor=self.moving, new_sponsor=new_sponsor)
            except TreeMoveError as refused:
                self.add_error("new_sponsor", str(refused))
        backdated = cleaned.get("takes_effect") == "backdated"
        moment = cleaned.get("effective_at") if backdated else None
        if backdated and moment is None and "effective_at" not in self.errors:
            self.add_error("effective_at", "Give the moment a backdated move takes effect.")
        cleaned["effective_at"] = moment
        # The open periods the move changes: from the effective moment's month to now's.
        cleaned["periods"] = [Period.current()]
        if moment is not None and new_sponsor is not None:
            try:
                cleaned["periods"] = validate_effective_moment(
                    [self.moving.pk], moment, parent_ids=[new_sponsor.pk]
                )
            except HistoryError as refused:
                self.add_error("effective_at", str(refused))
        return cleaned


class TerminateForm(forms.Form):
    roll_up_recruits = forms.BooleanField(
        required=False,
        label="Roll up recruits",
        help_text="Their direct recruits (with their teams) move to their sponsor.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=True)


class DistributorAddForm(forms.ModelForm):
    class Meta:
        model = Distributor
        fields = ("user", "sponsor", "country", "phone", "joined_on")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sponsor"].required = True


@admin.register(Distributor)
class DistributorAdmin(SafeAutocompleteAdmin):
    list_display = (
        "number",
        "name",
        "email",
        "referral_code",
        "status",
        "level",
        "joined_on",
        "country",
    )
    list_filter = ("status", "joined_on", "country")
    # The lookups themselves are in get_search_results (indexed ones, no leading wildcards).
    search_fields = ("=number", "=referral_code", "user__email", "user__name")
    search_help_text = (
        "A number, a referral code or an email address finds that person; other text finds "
        "names and emails that start with it."
    )
    # People are picked by number, name or email, never by internal id.
    autocomplete_fields = ("sponsor", "user")
    list_select_related = ("user",)
    show_full_result_count = False
    paginator = LargeTablePaginator
    ordering = ("-id",)
    actions = ("move_selected", "terminate_selected")

    # --- Forms: creation through the service, no tree field ever editable ---------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = DistributorAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return DistributorAddForm.Meta.fields
        return (
            "number",
            "referral_code",
            "user",
            "sponsor_link",
            "status",
            "joined_on",
            "country",
            "phone",
            "share_phone_with_team",
            *PAYOUT_FIELDS,
            "downline",
            "changes",
            *TREE_FIELDS_SHOWN,
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "number",
            "referral_code",
            "user",
            "sponsor_link",
            "status",
            *PAYOUT_FIELDS,
            "downline",
            "changes",
            *TREE_FIELDS_SHOWN,
            "created_at",
        )

    def save_model(self, request, obj, form, change) -> None:
        if change:
            # Only what the form changed: a move or termination made meanwhile stays.
            changed = [name for name in form.changed_data if name in form.base_fields]
            if changed:
                obj.save(update_fields=changed)
            return
        data = form.cleaned_data
        created = create_distributor(
            user=data["user"],
            sponsor=data["sponsor"],
            country=data.get("country") or "",
            phone=data.get("phone") or "",
            joined_on=data.get("joined_on"),
        )
        state = obj._state
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        state.adding, state.db = False, created._state.db

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # people keep their history: terminate instead

    # --- Search that stays fast at a million rows ----------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():  # a number, or a referral code made only of digits
            return queryset.filter(Q(number=int(term)) | Q(referral_code=term)), False
        if "@" in term:
            exact = queryset.annotate(email_lower=Lower("user__email")).filter(
                email_lower=term.lower()
            )
            if exact.exists():
                return exact, False
            return queryset.filter(user__email__istartswith=term), False
        code = normalize_referral_code(term)
        if code.isalnum() and len(code) <= 16:
            by_code = queryset.filter(referral_code=code)
            if by_code.exists():
                return by_code, False
        return queryset.filter(
            Q(user__name__istartswith=term) | Q(user__email__istartswith=term)
        ), False

    # --- Columns and read-only fields ---------------------------------------------------------

    @admin.display(ordering="user__name")
    def name(self, obj: Distributor) -> str:
        return obj.user.name

    @admin.display(ordering="user__email")
    def email(self, obj: Distributor) -> str:
        return obj.user.email

    @admin.display(description="sponsor")
    def sponsor_link(self, obj: Distributor) -> str:
        if obj.sponsor_id is None:
            return "—"
        url = reverse("admin:genealogy_distributor_change", args=[obj.sponsor_id])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">Move…</a>',
            url,
            obj.sponsor,
            reverse("admin:genealogy_distributor_move", args=[obj.pk]),
        )

    @admin.display(description="downline")
    def downline(self, obj: Distributor) -> str:
        if not obj.is_placed:
            return "waiting for placement"
        return f"{obj.downline_size:,} people"

    @admin.display(description="genealogy changes")
    def changes(self, obj: Distributor) -> str:
        url = reverse("admin:genealogy_treechange_changelist")
        return format_html('<a href="{}?distributor__id__exact={}">History</a>', url, obj.pk)

    # --- Move and terminate: custom views behind the change page -------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/move/", view(self.move_view), name="genealogy_distributor_move"),
            path(
                "<int:object_id>/move/sponsors/",
                view(self.move_sponsor_autocomplete),
                name="genealogy_distributor_move_sponsors",
            ),
            path(
                "<int:object_id>/terminate/",
                view(self.terminate_view),
                name="genealogy_distributor_terminate",
            ),
            *super().get_urls(),
        ]

    def _editable_distributor(self, request: HttpRequest, object_id: int) -> Distributor:
        distributor = get_object_or_404(Distributor.objects.select_related("user"), pk=object_id)
        if not self.has_change_permission(request, distributor):
            raise PermissionDenied
        return distributor

    def _render(self, request, template: str, distributor: Distributor, **context):
        return TemplateResponse(
            request,
            f"admin/genealogy/distributor/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": distributor,
                "title": f"{context.pop('verb')} {labelled(distributor)}",
                **context,
            },
        )

    def move_sponsor_autocomplete(self, request: HttpRequest, object_id: int) -> HttpResponse:
        distributor = self._editable_distributor(request, object_id)
        view = MoveSponsorAutocomplete.as_view(admin_site=self.admin_site, moving=distributor)
        return view(request)

    def move_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        distributor = self._editable_distributor(request, object_id)
        form = MoveForm(request.POST or None, admin_site=self.admin_site, moving=distributor)
        confirming = False
        if request.method == "POST" and form.is_valid():
            new_sponsor = form.cleaned_data["new_sponsor"]
            if request.POST.get("confirmed") == "yes":
                try:
                    moved = move_distributor(
                        distributor=distributor,
                        new_sponsor=new_sponsor,
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                        effective_at=form.cleaned_data["effective_at"],
                    )
                except TreeMoveError as error:
                    form.add_error(None, str(error))
                else:
                    self.message_user(
                        request,
                        f"{labelled(moved)} and {moved.downline_size:,} people below moved "
                        f"under {labelled(new_sponsor)}.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:genealogy_distributor_change", args=[distributor.pk])
                    )
            else:
                confirming = True
        return self._render(
            request,
            "move.html",
            distributor,
            verb="Move",
            form=form,
            confirming=confirming,
            moving=1 + distributor.downline_size,
        )

    def terminate_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        distributor = self._editable_distributor(request, object_id)
        form = TerminateForm(request.POST or None)
        confirming = False
        if request.method == "POST" and form.is_valid():
            if request.POST.get("confirmed") == "yes":
                try:
                    terminate_distributor(
                        distributor=distributor,
                        roll_up_recruits=form.cleaned_data["roll_up_recruits"],
                        reason=form.cleaned_data["reason"],
                        by=request.user,
                    )
                except TreeMoveError as error:
                    form.add_error(None, str(error))
                else:
                    self.message_user(
                        request, f"{labelled(distributor)} is terminated.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(
                        reverse("admin:genealogy_distributor_change", args=[distributor.pk])
                    )
            else:
                confirming = True
        return self._render(
            request,
            "terminate.html",
            distributor,
            verb="Terminate",
            form=form,
            confirming=confirming,
            recruits=Distributor.objects.filter(sponsor_id=distributor.pk).count(),
            roll_up_to=(
                Distributor.objects.select_related("user").get(pk=roll_up_sponsor_id(distributor))
                if distributor.sponsor_id
                else None
            ),
            downline=distributor.downline_size,
        )

    # --- Actions: one distributor at a time, through the views above ---------------------------

    def _one(self, request, queryset: QuerySet, url_name: str):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(
                request, "Select exactly one distributor for this action.", messages.WARNING
            )
            return None
        return HttpResponseRedirect(reverse(url_name, args=[ids[0]]))

    @admin.action(description="Move the selected distributor (with their team)…")
    def move_selected(self, request, queryset):
        return self._one(request, queryset, "admin:genealogy_distributor_move")

    @admin.action(description="Terminate the selected distributor…")
    def terminate_selected(self, request, queryset):
        return self._one(request, queryset, "admin:genealogy_distributor_terminate")


@admin.register(TreeChange)
class TreeChangeAdmin(admin.ModelAdmin):
    """The audit: read-only, nobody adds, edits or deletes (PostgreSQL refuses it too)."""

    list_display = (
        "at",
        "effective_at",
        "tree",
        "kind",
        "distributor",
        "old_parent",
        "new_parent",
        "positions",
        "by",
        "short_reason",
    )
    list_filter = ("tree", "kind", "at", "effective_at")
    search_fields = ("=distributor__number", "=old_parent__number", "=new_parent__number")
    list_select_related = (
        "distributor__user",
        "old_parent__user",
        "new_parent__user",
        "by",
    )
    show_full_result_count = False
    date_hierarchy = "at"

    @admin.display(description="leg / position")
    def positions(self, obj: TreeChange) -> str:
        if obj.old_position is None and obj.new_position is None:
            return "–"
        return f"{'–' if obj.old_position is None else obj.old_position} → {obj.new_position}"

    @admin.display(description="reason")
    def short_reason(self, obj: TreeChange) -> str:
        return obj.reason if len(obj.reason) <= 80 else obj.reason[:79] + "…"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
