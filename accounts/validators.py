"""Input hygiene shared by every form and model that holds a person's details.

- Names refuse invisible and text-direction control characters (a name that renders as
  something other than what it contains: "Trojan Source" bidirectional overrides, zero-width
  characters, C0/C1 controls).
- Email addresses obey RFC 5321's length limits (local part at most 64, the whole address at
  most 254 characters).
- Phone numbers are parsed by `phonenumbers` (Google's libphonenumber) and kept in E.164, with
  national numbers read in the company's region (``LADDER_PHONE_REGION``) or the person's
  country.

This module imports no project app, so every app may use it.
"""

from __future__ import annotations

import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from phonenumber_field import formfields
from phonenumber_field.phonenumber import PhoneNumber, to_python

# Bidirectional embeddings and overrides (LRE, RLE, PDF, LRO, RLO), isolates (LRI, RLI, FSI,
# PDI), zero-width characters and direction marks (ZWSP, ZWNJ, ZWJ, LRM, RLM), the byte-order
# mark / zero-width no-break space, and the C0 and C1 control characters (DEL included).
FORBIDDEN_IN_NAMES: frozenset[str] = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0x200B, 0x2010)]
    + ["\ufeff"]
    + [chr(c) for c in range(0x00, 0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
)

EMAIL_LOCAL_PART_MAX = 64  # RFC 5321, 4.5.3.1.1
EMAIL_MAX = 254  # RFC 5321's 256-octet path, less the angle brackets


def validate_person_name(value: str) -> None:
    """Refuse a name holding invisible or text-direction control characters."""
    found = sorted({character for character in value or "" if character in FORBIDDEN_IN_NAMES})
    if found:
        codes = ", ".join(f"U+{ord(character):04X}" for character in found)
        raise ValidationError(
            "A name cannot contain invisible or text-direction control characters "
            f"(this one contains {codes}). Please type the name again.",
            code="name_control_characters",
        )


def validate_email_length(value: str) -> None:
    """RFC 5321's limits: local part at most 64 characters, the whole address at most 254."""
    value = value or ""
    if len(value) > EMAIL_MAX:
        raise ValidationError(
            f"An email address can be at most {EMAIL_MAX} characters long; this one has "
            f"{len(value)}.",
            code="email_too_long",
        )
    local = value.rpartition("@")[0] if "@" in value else value
    if len(local) > EMAIL_LOCAL_PART_MAX:
        raise ValidationError(
            f"The part of an email address before the @ can be at most {EMAIL_LOCAL_PART_MAX} "
            f"characters long; this one has {len(local)}.",
            code="email_local_part_too_long",
        )


def phone_region() -> str:
    """The region national numbers are read in when no country is known (ISO 3166 alpha-2)."""
    return settings.LADDER_PHONE_REGION


def phone_region_for(country: object) -> str:
    """The person's country when libphonenumber knows it, else the company's region."""
    code = str(country or "").upper()
    return code if code in phonenumbers.SUPPORTED_REGIONS else phone_region()


def invalid_phone_message(region: str) -> str:
    example = phonenumbers.example_number(region)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(
        example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return (
        f"Enter a valid phone number, e.g. {national} or, with the country code, {international}."
    )


def normalize_phone(value: str | PhoneNumber | None, *, region: str | None = None) -> str:
    """The number in E.164 ("+12015550123"), or "" for none; ValidationError when invalid."""
    if value is None or str(value).strip() == "":
        return ""
    region = region or phone_region()
    number = value if isinstance(value, PhoneNumber) else to_python(str(value).strip(), region)
    if not number.is_valid():
        raise ValidationError(invalid_phone_message(region), code="invalid")
    return number.as_e164


def e164_or_none(raw: str, *, region: str | None = None) -> str | None:
    """The number in E.164 if it parses as a valid number, else None (for data migrations)."""
    try:
        return normalize_phone(raw, region=region)
    except ValidationError:
        return None


class PhoneField(formfields.PhoneNumberField):
    """A phone number typed nationally or with its +country code, cleaned to E.164 text.

    `use_region` lets a form read national numbers in the country the person chose.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("max_length", 32)
        self.region_given = kwargs.get("region") is not None
        kwargs.setdefault("region", phone_region())
        super().__init__(*args, **kwargs)
        self.widget.input_type = "tel"
        self.widget.attrs.setdefault("autocomplete", "tel")
        self.use_region(self.region)

    def __deepcopy__(self, memo):
        # Each form instance reads LADDER_PHONE_REGION when it is built, not at import time.
        result = super().__deepcopy__(memo)
        if not self.region_given:
            result.use_region(phone_region())
        return result

    def use_region(self, region: str) -> None:
        self.region = region
        self.widget.region = region
        self.error_messages["invalid"] = invalid_phone_message(region)

    def clean(self, value) -> str:
        number = super().clean(value)
        return number.as_e164 if number else ""


class NameField(forms.CharField):
    """A person's or a customer's name."""

    default_validators = [validate_person_name]


def normalize_stored_phones(model, *, country_path: str, batch_size: int = 2000) -> int:
    """Rewrite a table's phone numbers in E.164 (for data migrations); returns how many were
    left as typed.

    A number that parses (national numbers in the row's country, else ``LADDER_PHONE_REGION``)
    is stored in E.164. One that does not is kept exactly as typed, never blanked: a person's
    only contact number is not destroyed by a migration; forms ask for a valid number the next
    time the row is edited.
    """
    from django.db.models import Q

    rows = (
        model.objects.exclude(Q(phone="") | Q(phone__isnull=True))
        .values_list("pk", "phone", country_path)
        .order_by("pk")
        .iterator(chunk_size=batch_size)
    )
    left = 0
    changed: list = []

    def flush() -> None:
        for pk, number in changed:
            model.objects.filter(pk=pk).update(phone=number)
        changed.clear()

    for pk, raw, country in rows:
        raw = str(getattr(raw, "raw_input", None) or raw)  # the text as stored
        number = e164_or_none(raw, region=phone_region_for(country))
        if number is None:
            left += 1
        elif number != raw:
            changed.append((pk, number))
            if len(changed) >= batch_size:
                flush()
    flush()
    return left
