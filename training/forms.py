from __future__ import annotations

from django import forms

from commissions.calendar import commission_calendar

from .models import TrainingCategory, TrainingItem


class LibraryFilterForm(forms.Form):
    category = forms.ChoiceField(
        choices=[("", "All categories"), *TrainingCategory.choices], required=False
    )
    q = forms.CharField(label="Search", required=False, max_length=100)


class TrainingItemAdminForm(forms.ModelForm):
    """The audience is chosen among the ranks of the plan in force (or everyone)."""

    min_rank_code = forms.ChoiceField(label="Audience", required=False)
    video_url = forms.URLField(
        label="Video link",
        required=False,
        assume_scheme="https",
        help_text="For a video: its address (https://…).",
    )

    class Meta:
        model = TrainingItem
        fields = [
            "title",
            "summary",
            "category",
            "kind",
            "video_url",
            "pdf",
            "body",
            "min_rank_code",
            "is_required",
            "order",
            "is_published",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        plan = commission_calendar().plan
        choices = [("", "Everyone")]
        if plan is not None:
            choices += [(rank.code, f"From {rank.name} upward") for rank in plan.ranks]
        current = self.instance.min_rank_code if self.instance else ""
        if current and current not in {code for code, _ in choices}:
            choices.append((current, f"{current} (not a rank of the current plan)"))
        self.fields["min_rank_code"].choices = choices
        self.fields["min_rank_code"].help_text = TrainingItem._meta.get_field(
            "min_rank_code"
        ).help_text
