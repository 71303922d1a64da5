from django import forms
from django.core import validators

from genealogy.forms import TeamFilterForm

from .models import MessageAudience, NotificationKind
from .services import max_body_chars


class MessageForm(forms.Form):
    """Subject, body and audience. There is no recipient field: the server resolves them."""

    subject = forms.CharField(label="Subject", max_length=200)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 8}))
    audience = forms.ChoiceField(
        label="To",
        choices=MessageAudience.choices,
        widget=forms.RadioSelect,
        initial=MessageAudience.ALL,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        longest = max_body_chars()
        body = self.fields["body"]
        body.max_length = longest
        body.validators.append(validators.MaxLengthValidator(longest))
        body.widget.attrs["maxlength"] = str(longest)
        body.help_text = (
            f"Markdown: **bold**, *italic*, lists and links; at most {longest:,} characters. "
            "Images are not shown."
        )
        body.error_messages["max_length"] = (
            f"A message can be at most {longest:,} characters long; this one has %(show_value)s."
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
