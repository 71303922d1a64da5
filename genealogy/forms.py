from django import forms

from .models import DistributorStatus
from .selectors import TEAM_SORTS, TeamFilters


class TeamFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, email or number"}),
    )
    level = forms.IntegerField(label="Level", required=False, min_value=1, max_value=1000)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *DistributorStatus.choices]
    )
    joined_from = forms.DateField(
        label="Joined from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    joined_to = forms.DateField(
        label="Joined to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(
        label="Sort",
        required=False,
        choices=[
            ("tree", "Tree order"),
            ("joined", "Newest first"),
            ("name", "Name"),
            ("number", "Number"),
            ("level", "Level"),
        ],
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("joined_from"), cleaned.get("joined_to")
        if start and end and start > end:
            self.add_error("joined_to", "The end date is before the start date.")
        return cleaned

    def to_filters(self) -> TeamFilters:
        data = self.cleaned_data if self.is_valid() else {}
        sort = data.get("sort") or "tree"
        return TeamFilters(
            query=data.get("q") or "",
            level=data.get("level"),
            status=data.get("status") or "",
            joined_from=data.get("joined_from"),
            joined_to=data.get("joined_to"),
            sort=sort if sort in TEAM_SORTS else "tree",
        )
