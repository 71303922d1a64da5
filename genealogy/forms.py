from allauth.account.forms import SignupForm
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from accounts.forms import read_phone_in_chosen_country
from accounts.validators import NameField, PhoneField

from .members import record_enrollment
from .models import Distributor, DistributorStatus
from .selectors import TEAM_SORTS, SponsorRefusal, TeamFilters, find_enrolling_sponsor


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


class EnrollmentSignupForm(SignupForm):
    """allauth's sign-up form plus what Ladder needs: who you are and who enrolls you.

    `fixed_sponsor` is set when the person arrived through a referral link (/join/<code>/).
    """

    name = NameField(label="Full name", max_length=150)
    sponsor_code = forms.CharField(
        label="Sponsor's referral code",
        max_length=16,
        required=False,
        help_text="The code of the person who introduced you, e.g. K7P2QX.",
    )
    country = LazyTypedChoiceField(
        choices=[("", "Choose your country"), *countries], label="Country"
    )
    phone = PhoneField(label="Phone (optional)", required=False)
    accept_policies = forms.BooleanField(label="Policies", required=True)
    accept_income_disclosure = forms.BooleanField(label="Income disclosure", required=True)

    field_order = [
        "sponsor_code",
        "name",
        "email",
        "password1",
        "password2",
        "country",
        "phone",
        "accept_policies",
        "accept_income_disclosure",
    ]

    def __init__(self, *args, fixed_sponsor: Distributor | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_sponsor = fixed_sponsor
        self.order_fields(self.field_order)
        read_phone_in_chosen_country(self)
        self.fields["accept_policies"].error_messages["required"] = (
            "Please accept the policies and procedures to join."
        )
        self.fields["accept_income_disclosure"].error_messages["required"] = (
            "Please confirm that you have read the income disclosure statement."
        )
        self.fields["accept_policies"].help_text = format_html(
            'I accept the <a href="{}" target="_blank">policies and procedures</a>.',
            reverse("policies"),
        )
        self.fields["accept_income_disclosure"].help_text = format_html(
            'I have read the <a href="{}" target="_blank">income disclosure statement</a>.',
            reverse("income_disclosure"),
        )
        if fixed_sponsor is not None:
            del self.fields["sponsor_code"]
        elif not settings.LADDER_DEFAULT_SPONSOR_CODE:
            self.fields["sponsor_code"].required = True
            self.fields["sponsor_code"].error_messages["required"] = (
                "Enter the referral code of the person who introduced you."
            )
        else:
            self.fields["sponsor_code"].help_text += " Leave empty if nobody introduced you."

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.fixed_sponsor is not None:
            code = self.fixed_sponsor.referral_code
        elif "sponsor_code" in self.errors:
            return cleaned
        else:
            code = cleaned.get("sponsor_code", "").strip() or settings.LADDER_DEFAULT_SPONSOR_CODE
        try:
            cleaned["sponsor"] = find_enrolling_sponsor(code)
        except SponsorRefusal as refusal:
            field = None if self.fixed_sponsor is not None else "sponsor_code"
            self.add_error(field, forms.ValidationError(str(refusal), code=refusal.code))
        return cleaned

    def signup(self, request, user) -> None:
        """Called by allauth once the user row exists: keep what the person asked for."""
        record_enrollment(
            user=user,
            name=self.cleaned_data["name"],
            sponsor=self.cleaned_data["sponsor"],
            country=str(self.cleaned_data["country"]),
            phone=self.cleaned_data.get("phone", ""),
        )
