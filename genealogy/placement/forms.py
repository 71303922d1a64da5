"""Forms of the holding-tank pages."""

from __future__ import annotations

from django import forms

from ..policy import HOLDING_TANK, RULE_LABELS, RULES, PlacementPolicy
from .services import position_label


def placing_rules(policy: PlacementPolicy) -> list[tuple[str, str]]:
    """The rules that place someone now in this tree (every rule of its kind but the tank)."""
    return [
        (rule, RULE_LABELS[rule])
        for rule, kinds in RULES.items()
        if rule != HOLDING_TANK and policy.kind in kinds
    ]


class PlaceForm(forms.Form):
    """Place a waiting recruit: by a rule, or by hand under a chosen person and position."""

    how = forms.ChoiceField(
        choices=[("rule", "By a rule"), ("hand", "Under someone I choose")],
        widget=forms.RadioSelect,
        initial="rule",
    )
    rule = forms.ChoiceField(required=False)
    parent = forms.IntegerField(
        required=False,
        min_value=1,
        label="Under (distributor number)",
        help_text="Someone in your placement downline, or yourself.",
    )
    position = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, policy: PlacementPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = placing_rules(policy)
        self.fields["rule"].initial = policy.auto_rule
        self.fields["position"].choices = [("", "First free position")] + [
            (p, position_label(p, policy.width)) for p in range(policy.width)
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("how") == "hand" and not cleaned.get("parent"):
            self.add_error("parent", "Give the number of the person to place them under.")
        if cleaned.get("how") == "rule" and not cleaned.get("rule"):
            self.add_error("rule", "Choose a rule.")
        return cleaned


class SponsorRuleForm(forms.Form):
    rule = forms.ChoiceField(required=False, label="How my new recruits are placed")

    def __init__(self, *args, policy: PlacementPolicy, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", f"The company's rule ({RULE_LABELS[policy.rule]})")] + [
            (rule, RULE_LABELS[rule]) for rule in policy.rules_for_sponsors()
        ]
