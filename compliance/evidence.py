"""A flag's evidence in words: what its rule measured and what it compared with.

The evidence is stored as data (``ComplianceFlag.measured`` and ``threshold``, written by
``compliance.services.measure_period``); this is the one place that turns it into a sentence,
for the staff list, the admin list and the admin detail alike. Each rule has its own wording;
a flag whose data lacks a key (an older row) falls back to the raw values, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.conf import settings

Values = Mapping[str, object]


def _number(value: object) -> str:
    """A volume, percent or factor as people write it: 96, 83.33, 1,500, 2.5."""
    amount = Decimal(str(value))
    if amount == amount.to_integral_value():
        return f"{amount.to_integral_value():,f}"
    return f"{amount.normalize():,f}"


def _money(value: object) -> str:
    return f"{Decimal(str(value)):,.2f} {settings.LADDER_CURRENCY}"


def _people(count: object, word: str) -> str:
    count = int(count)
    return f"{count} {word}{'' if count == 1 else 's'}"


def _personal_use_share(measured: Values, threshold: Values) -> str:
    pv = Decimal(str(measured["personal_pv"])) + Decimal(str(measured["retail_pv"]))
    return (
        f"personal use {_number(measured['personal_percent'])} % of {_number(pv)} PV "
        f"(at most {_number(threshold['max_personal_percent'])} % allowed)"
    )


def _few_retail_customers(measured: Values, threshold: Values) -> str:
    pv = Decimal(str(measured["personal_pv"])) + Decimal(str(measured["retail_pv"]))
    return (
        f"{_people(measured['retail_customers'], 'retail customer')} on {_number(pv)} PV "
        f"(at least {threshold['min_retail_customers']} needed)"
    )


def _loading_amount(measured: Values, threshold: Values) -> str:
    return (
        f"personal purchases {_money(measured['personal_purchases'])} in the month "
        f"(limit {_money(threshold['max_monthly'])})"
    )


def _loading_spike(measured: Values, threshold: Values) -> str:
    return (
        f"personal purchases {_money(measured['personal_purchases'])} against "
        f"{_money(measured['trailing_average'])} a month on average over the previous "
        f"{threshold['history_months']} months (limit {_number(threshold['spike_factor'])} × "
        "the average)"
    )


def _recruiting_without_selling(measured: Values, threshold: Values) -> str:
    return (
        f"{_people(measured['enrollees_joined_in_period'], 'personal enrollee')} joined in the "
        f"month, {measured['active_enrollees']} active; retail {_number(measured['retail_pv'])} "
        f"PV (at least {_number(threshold['min_retail_pv'])} PV expected from anyone with "
        f"{threshold['min_enrollees']} or more enrollees)"
    )


# By ``FlagKind`` value (this module is imported by the models, so it names them as text).
RULE_WORDS: dict[str, Callable[[Values, Values], str]] = {
    "personal_use_share": _personal_use_share,
    "few_retail_customers": _few_retail_customers,
    "loading_amount": _loading_amount,
    "loading_spike": _loading_spike,
    "recruiting_without_selling": _recruiting_without_selling,
}


def evidence_in_words(kind: str, measured: Values, threshold: Values) -> str:
    """The sentence for one flag, e.g. "personal use 96 % of 150 PV (at most 70 % allowed)"."""
    words = RULE_WORDS.get(kind)
    if words is not None:
        try:
            return words(measured, threshold)
        except (KeyError, TypeError, ValueError, InvalidOperation):
            pass  # an older row without some value: show what it has
    raw = {**measured, **{f"limit {k}": v for k, v in threshold.items()}}
    return "; ".join(f"{key.replace('_', ' ')} {value}" for key, value in raw.items())
