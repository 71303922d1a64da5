import re

from allauth.account.forms import ResetPasswordForm
from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from core.csv import FORMULA_STARTS

from .validators import NameField, PhoneField, phone_region_for, validate_email_length


def read_phone_in_chosen_country(form: forms.Form) -> None:
    """A phone number typed without its +country code is read in the country chosen on the
    same form (or the one it shows), else in LADDER_PHONE_REGION."""
    country = form.data.get(form.add_prefix("country")) if form.is_bound else None
    country = country or form.initial.get("country")
    form.fields["phone"].use_region(phone_region_for(country))


# Payout methods with rules of their own; any other offered method needs an account.
PAYOUT_METHOD_WITHOUT_ACCOUNT = "check"  # mailed to the person's address
PAYOUT_METHOD_TO_EMAIL = "paypal"
PAYOUT_METHOD_LABELS = {
    "bank_transfer": "Bank transfer",
    "paypal": "PayPal",
    "check": "Check (mailed to you)",
}
# 13 to 19 digits once spaces and dashes are ignored, passing the Luhn checksum every payment
# card number passes (so most bank references with long digit runs are not mistaken for one).
CARD_NUMBER = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def payout_method_label(method: str) -> str:
    return PAYOUT_METHOD_LABELS.get(method, method.replace("_", " ").capitalize())


def passes_luhn(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def looks_like_card_number(value: str) -> bool:
    compact = re.sub(r"[\s-]", "", value)
    return any(passes_luhn(run) for run in CARD_NUMBER.findall(compact))


class ProfileForm(forms.Form):
    name = NameField(label="Full name", max_length=150)
    country = LazyTypedChoiceField(choices=countries, label="Country")
    phone = PhoneField(label="Phone", required=False)
    share_phone_with_team = forms.BooleanField(
        label="Show my phone number to the people I enrolled", required=False
    )
    payout_method = forms.ChoiceField(label="Payout method", required=False)
    payout_account = forms.CharField(
        label="Payout account",
        max_length=200,
        required=False,
        help_text=(
            "The account the payment provider pays: your PayPal email address, or the "
            "recipient reference your payment provider gave you. Never a card number. "
            "Not needed for a check."
        ),
    )

    PAYOUT_FIELDS = ("payout_method", "payout_account")

    def __init__(self, *args, with_payouts: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        read_phone_in_chosen_country(self)
        if not with_payouts:
            for name in self.PAYOUT_FIELDS:
                del self.fields[name]
            return
        default = settings.LADDER_PAYOUT_METHOD
        self.fields["payout_method"].choices = [
            ("", f"Not chosen yet (the company pays by {payout_method_label(default)})"),
            *((method, payout_method_label(method)) for method in settings.LADDER_PAYOUT_METHODS),
        ]

    def detail_fields(self) -> list:
        return [field for field in self if field.name not in self.PAYOUT_FIELDS]

    def payout_fields(self) -> list:
        return [field for field in self if field.name in self.PAYOUT_FIELDS]

    def clean(self) -> dict:
        cleaned = super().clean()
        if "payout_method" not in self.fields or self.has_error("payout_method"):
            return cleaned
        method = cleaned.get("payout_method", "")
        account = cleaned.get("payout_account", "")
        if self.has_error("payout_account"):
            return cleaned
        if account.startswith(FORMULA_STARTS):  # finance opens the payout CSV
            self.add_error(
                "payout_account",
                forms.ValidationError(
                    "The account must start with a letter or a digit.", code="account_start"
                ),
            )
        elif looks_like_card_number(account):
            # Refused and not echoed back: a card number is never shown on a page either.
            self.data = self.data.copy()
            self.data["payout_account"] = ""
            self.add_error(
                "payout_account",
                forms.ValidationError(
                    "This looks like a payment card number. Never enter a card number here: "
                    "enter your PayPal email address or your payment provider's recipient "
                    "reference.",
                    code="card_number",
                ),
            )
        elif not method:
            if account:
                self.add_error(
                    "payout_method",
                    forms.ValidationError(
                        "Choose the payout method this account is for.", code="method_required"
                    ),
                )
        elif method == PAYOUT_METHOD_WITHOUT_ACCOUNT:
            cleaned["payout_account"] = ""  # a check is mailed: no account to keep
        elif not account:
            self.add_error(
                "payout_account",
                forms.ValidationError(
                    f"Enter the account to pay by {payout_method_label(method)}.",
                    code="account_required",
                ),
            )
        elif method == PAYOUT_METHOD_TO_EMAIL:
            try:
                validate_email(account)
                validate_email_length(account)
            except forms.ValidationError:
                self.add_error(
                    "payout_account",
                    forms.ValidationError(
                        "Enter the email address of your PayPal account.", code="paypal_email"
                    ),
                )
        return cleaned


class PasswordResetForm(ResetPasswordForm):
    """allauth's password reset that answers the same whether or not the address has an
    account (no "not assigned to any account" error), and mails only a real account.

    Sign-up keeps its explicit duplicate-email message behind its rate limit
    (``ACCOUNT_PREVENT_ENUMERATION = False``), so this form does not rely on that setting."""

    def clean_email(self) -> str:
        self.users = None
        try:
            return super().clean_email()
        except forms.ValidationError:
            if self.users == []:  # the address is fine, it just has no account
                return self.cleaned_data["email"]
            raise

    def save(self, request, **kwargs) -> str:
        if not self.users:  # nobody to write to: the same answer, and no mail to a stranger
            return self.cleaned_data["email"]
        return super().save(request, **kwargs)
