from django import forms

from genealogy.forms import TeamFilterForm

from .models import MessageAudience, NotificationKind


class MessageForm(forms.Form):
    """Subject, body and audience. There is no recipient field: the server resolves them."""

    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), help_text="Markdown.")
    audience = forms.ChoiceField(
        choices=MessageAudience.choices, widget=forms.RadioSelect, initial=MessageAudience.ALL
    )


class AudienceFilterForm(TeamFilterForm):
    """The team list's filters (prefixed `f-`), stored with a message to a filtered audience."""

    prefix = "f"


class EmailPreferencesForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Email me about",
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
